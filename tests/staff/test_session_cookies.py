"""Login sessions (integrity/staff/sessions.py) in detail, on SQLite and PostgreSQL: the cookie format and what
`load` refuses, the sliding idle timeout, the CSRF tokens, the unlocked key and logging out.

(The 12-hour absolute limit and the 5-minute second-factor window have their own tests with the login.)
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta, timezone

import nacl.secret
import pytest
from nacl.public import PrivateKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from integrity.staff import accounts, sessions
from integrity.staff.models import Role, StaffSession, StaffUser

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
MINUTE = timedelta(minutes=1)


def staff(session: Session, name: str = "coord") -> StaffUser:
    return accounts.create_user(session, name, name.title(), Role.COORDINATOR, "een lang wachtwoord 42",
                                profile_id="vlaamse-overheid", now=T0)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def record(session: Session) -> StaffSession:
    row = session.scalar(select(StaffSession))
    assert row is not None
    return row


def test_the_cookie_is_two_base64url_values_and_the_row_holds_only_the_token_hash(session: Session) -> None:
    user = staff(session)
    cookie = sessions.start(session, user, second_factor_done=True, now=T0)
    token_text, key_text = cookie.split(".")
    token = base64.urlsafe_b64decode(token_text + "=" * (-len(token_text) % 4))
    unlock = base64.urlsafe_b64decode(key_text + "=" * (-len(key_text) % 4))
    assert (len(token), len(unlock)) == (32, nacl.secret.SecretBox.KEY_SIZE)
    assert "=" not in cookie and len(cookie) <= sessions.MAX_COOKIE_CHARS
    row = record(session)
    assert row.id == hashlib.sha256(token).hexdigest()
    assert (row.user_id, row.created_at, row.last_seen_at, row.second_factor_done, row.key_box) == \
        (user.id, T0, T0, True, None)
    assert row.expires_at == T0 + sessions.IDLE == T0 + timedelta(minutes=30)
    loaded = sessions.load(session, cookie, now=T0)
    assert loaded is not None
    assert (loaded.record, loaded.user, loaded.token, loaded.unlock_key) == (row, user, token, unlock)
    assert loaded.complete and not loaded.key_unlocked
    assert sessions.start(session, user, second_factor_done=True, now=T0) != cookie


@pytest.mark.parametrize("mangle", [
    lambda c: None,
    lambda c: "",
    lambda c: c.replace(".", ""),
    lambda c: c + ".",
    lambda c: c + "." + c.split(".")[1],
    lambda c: c[:-1],  # the unlock key one character short
    lambda c: c.split(".")[0][:-2] + "." + c.split(".")[1],  # the token two characters short
    lambda c: c + "AAAA",  # an unlock key that is too long
    lambda c: c.split(".")[0] + "A." + c.split(".")[1],  # not valid base64 any more (length 4n+1)
    lambda c: c.replace(c[0], "é", 1),
    lambda c: b64(b"\x00" * 32) + "." + c.split(".")[1],  # the right length, an unknown token
    lambda c: c + "=" * (sessions.MAX_COOKIE_CHARS + 1 - len(c)),
])
def test_load_refuses_every_other_cookie(session: Session, mangle: object) -> None:
    cookie = sessions.start(session, staff(session), second_factor_done=True, now=T0)
    assert sessions.load(session, mangle(cookie), now=T0) is None  # type: ignore[operator]
    assert sessions.load(session, cookie, now=T0) is not None


def test_a_cookie_at_the_length_limit_is_still_read(session: Session) -> None:
    cookie = sessions.start(session, staff(session), second_factor_done=True, now=T0)
    padded = cookie + "=" * (sessions.MAX_COOKIE_CHARS - len(cookie))
    assert len(padded) == sessions.MAX_COOKIE_CHARS
    assert sessions.load(session, padded, now=T0) is not None


def test_idle_timeout_slides_at_most_once_a_minute(session: Session) -> None:
    cookie = sessions.start(session, staff(session), second_factor_done=True, now=T0)
    row = record(session)
    assert sessions.load(session, cookie, now=T0 + MINUTE - timedelta(seconds=1)) is not None
    assert (row.last_seen_at, row.expires_at) == (T0, T0 + sessions.IDLE)  # not written within the minute
    assert sessions.load(session, cookie, now=T0 + MINUTE) is not None
    assert (row.last_seen_at, row.expires_at) == (T0 + MINUTE, T0 + MINUTE + sessions.IDLE)
    later = T0 + MINUTE + sessions.IDLE - timedelta(seconds=1)
    assert sessions.load(session, cookie, now=later) is not None  # alive because it slid
    assert row.expires_at == later + sessions.IDLE
    assert sessions.load(session, cookie, now=row.expires_at) is None  # expiry is exclusive
    assert session.scalar(select(func.count()).select_from(StaffSession)) == 0


def test_an_unfinished_login_does_not_slide_and_the_second_factor_completes_it(session: Session) -> None:
    cookie = sessions.start(session, staff(session), second_factor_done=False, now=T0)
    row = record(session)
    loaded = sessions.load(session, cookie, now=T0 + 2 * MINUTE)
    assert loaded is not None and not loaded.complete
    assert (row.last_seen_at, row.expires_at) == (T0, T0 + sessions.PENDING_SECOND_FACTOR)
    sessions.complete_second_factor(session, loaded, now=T0 + 3 * MINUTE)
    assert row.second_factor_done and loaded.complete
    assert (row.last_seen_at, row.expires_at) == (T0 + 3 * MINUTE, T0 + 3 * MINUTE + sessions.IDLE)
    near_end = T0 + sessions.ABSOLUTE - 10 * MINUTE
    again = sessions.load(session, cookie, now=T0 + 30 * MINUTE)
    assert again is not None
    row.last_seen_at, row.expires_at = near_end - sessions.IDLE + MINUTE, near_end + MINUTE
    sessions.complete_second_factor(session, again, now=near_end)
    assert row.expires_at == T0 + sessions.ABSOLUTE  # never past the absolute limit


def test_starting_a_session_clears_expired_ones_of_everyone(session: Session) -> None:
    first, second = staff(session, "eerste"), staff(session, "tweede")
    old = sessions.start(session, first, second_factor_done=True, now=T0)
    sessions.start(session, second, second_factor_done=False, now=T0)
    live = sessions.start(session, first, second_factor_done=True, now=T0 + sessions.PENDING_SECOND_FACTOR)
    assert session.scalar(select(func.count()).select_from(StaffSession)) == 2  # the pending one expired exactly
    sessions.start(session, second, second_factor_done=True, now=T0 + sessions.IDLE + MINUTE)
    assert sessions.load(session, old, now=T0 + sessions.IDLE + MINUTE) is None
    assert sessions.load(session, live, now=T0 + sessions.IDLE + MINUTE) is not None


def test_an_inactive_user_s_session_is_deleted_on_load(session: Session) -> None:
    user = staff(session)
    cookie = sessions.start(session, user, second_factor_done=True, now=T0)
    user.active = False
    assert sessions.load(session, cookie, now=T0) is None
    assert session.scalar(select(func.count()).select_from(StaffSession)) == 0


def test_csrf_tokens_are_per_session_and_form(session: Session) -> None:
    user = staff(session)
    first = sessions.load(session, sessions.start(session, user, second_factor_done=True, now=T0), now=T0)
    other = sessions.load(session, sessions.start(session, user, second_factor_done=True, now=T0), now=T0)
    assert first is not None and other is not None
    token = first.csrf_token("status")
    expected = hmac.new(hashlib.sha256(b"csrf|" + first.token).digest(), b"status", hashlib.sha256).digest()
    assert token == b64(expected) and len(token) == 43
    assert first.csrf_token("status") == token
    assert first.check_csrf(token, "status")
    assert not first.check_csrf(token, "assign") and not other.check_csrf(token, "status")
    assert not first.check_csrf(token[:-1], "status") and not first.check_csrf("é" + token[1:], "status")


def test_the_unlocked_key_needs_the_cookie_s_key_and_can_be_forgotten(session: Session) -> None:
    cookie = sessions.start(session, staff(session), second_factor_done=True, now=T0)
    loaded = sessions.load(session, cookie, now=T0)
    assert loaded is not None and sessions.private_key(loaded) is None
    private = PrivateKey.generate()
    sessions.store_private_key(session, loaded, private)
    assert loaded.key_unlocked
    opened = sessions.private_key(loaded)
    assert opened is not None and bytes(opened) == bytes(private)
    loaded.unlock_key = bytes(32)
    assert sessions.private_key(loaded) is None  # a wrong cookie key opens nothing, and does not raise
    sessions.forget_private_key(session, loaded)
    assert record(session).key_box is None and not loaded.key_unlocked


def test_logging_out_one_session_or_all_of_them(session: Session) -> None:
    first, second = staff(session, "eerste"), staff(session, "tweede")
    cookies = [sessions.start(session, first, second_factor_done=True, now=T0) for _ in range(3)]
    theirs = sessions.start(session, second, second_factor_done=True, now=T0)
    loaded = sessions.load(session, cookies[0], now=T0)
    assert loaded is not None
    sessions.end(session, loaded)
    session.flush()
    assert sessions.load(session, cookies[0], now=T0) is None
    assert len(sessions.active_sessions(session, first.id, now=T0)) == 2
    assert len(sessions.active_sessions(session, first.id, now=T0 + sessions.IDLE)) == 0
    assert sessions.end_all(session, first.id) == 2
    assert sessions.end_all(session, first.id) == 0
    assert sessions.active_sessions(session, first.id, now=T0) == []
    assert [row.user_id for row in sessions.active_sessions(session, second.id, now=T0)] == [second.id]
    assert sessions.load(session, theirs, now=T0) is not None


def test_base64url_without_padding_keeps_every_letter() -> None:
    assert sessions._b64(b"\x00\x00\x17") == "AAAX"  # a value ending in X (or any letter) keeps it
    assert sessions._b64(b"\xff") == "_w" and sessions._unb64("_w") == b"\xff"
