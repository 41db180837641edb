"""Server-side login sessions.

The cookie holds two random values, `<token>.<unlock key>` (base64url). The table stores only SHA-256(token) and
the staff member's private key, opened with their password at login, encrypted with the unlock key (and, once,
a new recovery key waiting to be shown, encrypted the same way). So the database alone opens neither a session
nor the private key, and logging out (deleting the row) forgets the unlocked key. Sessions end after IDLE of
inactivity or ABSOLUTE after login; the web app may pass a shorter idle limit
(`load(idle=...)`, from its settings). `seconds_left` tells the page when to warn, and `extend` is the one-click
"Sessie verlengen".
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import nacl.exceptions
import nacl.secret
from nacl.public import PrivateKey
from sqlalchemy import CursorResult, delete, select
from sqlalchemy.orm import Session

from integrity.reports.deadlines import utcnow
from integrity.staff.models import StaffSession, StaffUser

IDLE = timedelta(minutes=30)
ABSOLUTE = timedelta(hours=12)
TOUCH_EVERY = timedelta(minutes=1)  # write last_seen_at at most this often
PENDING_SECOND_FACTOR = timedelta(minutes=5)
_TOKEN_BYTES = 32
MAX_COOKIE_CHARS = 200


@dataclass
class LoadedSession:
    record: StaffSession
    user: StaffUser
    token: bytes
    unlock_key: bytes

    @property
    def complete(self) -> bool:
        return self.record.second_factor_done

    @property
    def key_unlocked(self) -> bool:
        return self.record.key_box is not None

    def csrf_token(self, form: str) -> str:
        """Bound to this session and form; stable for the session's life."""
        mac = hmac.new(hashlib.sha256(b"csrf|" + self.token).digest(), form.encode("utf-8"), hashlib.sha256)
        return _b64(mac.digest())

    def check_csrf(self, token: str, form: str) -> bool:
        return hmac.compare_digest(token.encode("ascii", "replace"), self.csrf_token(form).encode("ascii"))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _session_id(token: bytes) -> str:
    return hashlib.sha256(token).hexdigest()


def start(session: Session, user: StaffUser, *, second_factor_done: bool, now: datetime | None = None,
          private_key: PrivateKey | None = None, recovery_key: str | None = None) -> str:
    """A new session for `user`; returns the cookie value. Expired sessions are cleared on the way.

    `private_key` (opened with the password) and `recovery_key` (new, to show once) are kept encrypted under the
    cookie's unlock key.
    """
    now = now or utcnow()
    token, unlock_key = secrets.token_bytes(_TOKEN_BYTES), secrets.token_bytes(nacl.secret.SecretBox.KEY_SIZE)
    expires = now + (IDLE if second_factor_done else PENDING_SECOND_FACTOR)
    session.execute(delete(StaffSession).where(StaffSession.expires_at <= now))
    box = nacl.secret.SecretBox(unlock_key)
    session.add(StaffSession(id=_session_id(token), user_id=user.id, created_at=now, last_seen_at=now,
                             expires_at=expires, second_factor_done=second_factor_done,
                             key_box=bytes(box.encrypt(bytes(private_key))) if private_key is not None else None,
                             recovery_box=bytes(box.encrypt(recovery_key.encode("ascii"))) if recovery_key else None))
    return f"{_b64(token)}.{_b64(unlock_key)}"


def ends_at(record: StaffSession, idle: timedelta = IDLE) -> datetime:
    """When this session ends if nothing happens: idle after the last activity, never after the absolute limit."""
    end = min(record.expires_at, record.created_at + ABSOLUTE)
    return min(end, record.last_seen_at + idle) if record.second_factor_done else end


def seconds_left(loaded: LoadedSession, *, idle: timedelta = IDLE, now: datetime | None = None) -> int:
    return max(0, int((ends_at(loaded.record, idle) - (now or utcnow())).total_seconds()))


def load(session: Session, cookie: str | None, *, idle: timedelta = IDLE, touch: bool = True,
         now: datetime | None = None) -> LoadedSession | None:
    """The live session for this cookie value, or None (missing, malformed, unknown, expired or inactive user).

    A live session's idle clock starts again (written at most every TOUCH_EVERY), unless `touch` is false: the
    page asking how long it has left is not activity.
    """
    if not cookie or len(cookie) > MAX_COOKIE_CHARS or not cookie.isascii() or cookie.count(".") != 1:
        return None
    try:
        token, unlock_key = (_unb64(part) for part in cookie.split("."))
    except (binascii.Error, ValueError):
        return None
    if len(token) != _TOKEN_BYTES or len(unlock_key) != nacl.secret.SecretBox.KEY_SIZE:
        return None
    now = now or utcnow()
    record = session.get(StaffSession, _session_id(token))
    if record is None:
        return None
    user = session.get(StaffUser, record.user_id)
    if ends_at(record, idle) <= now or user is None or not user.active:
        session.delete(record)
        return None
    if touch and record.second_factor_done and now - record.last_seen_at >= min(TOUCH_EVERY, idle / 10):
        record.last_seen_at = now
        record.expires_at = min(now + idle, record.created_at + ABSOLUTE)
    return LoadedSession(record, user, token, unlock_key)


def extend(session: Session, loaded: LoadedSession, *, idle: timedelta = IDLE, now: datetime | None = None) -> int:
    """Start the idle clock again now (up to the absolute limit); returns the seconds left."""
    now = now or utcnow()
    loaded.record.last_seen_at = now
    loaded.record.expires_at = min(now + idle, loaded.record.created_at + ABSOLUTE)
    return seconds_left(loaded, idle=idle, now=now)


def complete_second_factor(session: Session, loaded: LoadedSession, *, now: datetime | None = None) -> None:
    now = now or utcnow()
    loaded.record.second_factor_done = True
    loaded.record.last_seen_at = now
    loaded.record.expires_at = min(now + IDLE, loaded.record.created_at + ABSOLUTE)


def store_private_key(session: Session, loaded: LoadedSession, private_key: PrivateKey) -> None:
    loaded.record.key_box = bytes(nacl.secret.SecretBox(loaded.unlock_key).encrypt(bytes(private_key)))


def private_key(loaded: LoadedSession) -> PrivateKey | None:
    if loaded.record.key_box is None:
        return None
    try:
        return PrivateKey(nacl.secret.SecretBox(loaded.unlock_key).decrypt(loaded.record.key_box))
    except nacl.exceptions.CryptoError:
        return None


def store_recovery_key(session: Session, loaded: LoadedSession, recovery_key: str) -> None:
    loaded.record.recovery_box = bytes(nacl.secret.SecretBox(loaded.unlock_key).encrypt(recovery_key.encode("ascii")))


def has_recovery_key(loaded: LoadedSession) -> bool:
    return loaded.record.recovery_box is not None


def take_recovery_key(session: Session, loaded: LoadedSession) -> str | None:
    """The new recovery key waiting to be shown, removed from the session: it is shown once."""
    box, loaded.record.recovery_box = loaded.record.recovery_box, None
    if box is None:
        return None
    try:
        return nacl.secret.SecretBox(loaded.unlock_key).decrypt(box).decode("ascii")
    except nacl.exceptions.CryptoError:
        return None


def forget_private_key(session: Session, loaded: LoadedSession) -> None:
    loaded.record.key_box = None


def end(session: Session, loaded: LoadedSession) -> None:
    session.delete(loaded.record)


def end_all(session: Session, user_id: int) -> int:
    """Log a user out everywhere (after a password change, deactivation or reset)."""
    deleted = cast(CursorResult[Any], session.execute(delete(StaffSession).where(StaffSession.user_id == user_id)))
    return deleted.rowcount or 0


def active_sessions(session: Session, user_id: int, *, now: datetime | None = None) -> list[StaffSession]:
    now = now or utcnow()
    return list(session.scalars(select(StaffSession).where(StaffSession.user_id == user_id,
                                                           StaffSession.expires_at > now)))
