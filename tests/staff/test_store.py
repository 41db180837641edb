"""Staff accounts, sessions, scope and the audit log on the real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from integrity.reports import errors, submission
from integrity.reports.models import Report
from integrity.staff import accounts, audit, passwords, scope, sessions, totp
from integrity.staff.models import AuditEntry, Role, StaffSession, StaffUser
from tests.plugins.report_store import Keys, make_draft

PASSWORD = "een lang wachtwoord 42"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def user(session: Session, username: str, role: Role, profile: str | None = "vlaamse-overheid",
         actor: str | None = None) -> StaffUser:
    return accounts.create_user(session, username, username.title(), role, PASSWORD, profile_id=profile,
                                actor=actor, now=T0)


def test_password_is_stored_as_argon2id_and_verified(session: Session) -> None:
    created = user(session, "coord", Role.COORDINATOR)
    assert created.password_hash.startswith("$argon2id$") and PASSWORD not in created.password_hash
    assert accounts.authenticate(session, "COORD ", PASSWORD).id == created.id  # case and spaces forgiven
    with pytest.raises(accounts.LoginFailed):
        accounts.authenticate(session, "coord", "fout wachtwoord!")
    with pytest.raises(accounts.LoginFailed) as unknown:
        accounts.authenticate(session, "niemand", PASSWORD)
    assert unknown.value.user_message == accounts.LOGIN_FAILED


def test_wrong_passwords_never_lock_and_a_lock_shows_only_to_the_right_password(session: Session) -> None:
    """Issue 13: anyone could lock a named colleague out with five wrong passwords. Password guessing is now limited
    per username and address in the web app; a lock (after failed second-factor codes) is told only to whoever
    typed the right password, everyone else gets the answer of an unknown account."""
    created = user(session, "coord", Role.COORDINATOR)
    for _ in range(accounts.MAX_FAILED_LOGINS * 2):
        with pytest.raises(accounts.LoginFailed):
            accounts.authenticate(session, "coord", "fout", now=T0)
    assert accounts.authenticate(session, "coord", PASSWORD, now=T0).locked_until is None
    created.locked_until = T0 + accounts.LOCK_DURATION
    with pytest.raises(accounts.LoginFailed) as wrong:
        accounts.authenticate(session, "coord", "fout", now=T0 + timedelta(minutes=5))
    assert wrong.value.user_message == accounts.LOGIN_FAILED
    with pytest.raises(accounts.AccountLocked):  # the right password does not help while locked
        accounts.authenticate(session, "coord", PASSWORD, now=T0 + timedelta(minutes=5))
    later = T0 + accounts.LOCK_DURATION + timedelta(seconds=1)
    assert accounts.authenticate(session, "coord", PASSWORD, now=later).failed_logins == 0


def test_account_values_are_checked(session: Session) -> None:
    with pytest.raises(passwords.WeakPassword):
        accounts.create_user(session, "kort", "Kort", Role.COORDINATOR, "kort", profile_id="vlaamse-overheid")
    with pytest.raises(accounts.InvalidAccount):
        accounts.create_user(session, "Bad Name!", "x", Role.COORDINATOR, PASSWORD, profile_id="vlaamse-overheid")
    with pytest.raises(accounts.InvalidAccount):
        accounts.create_user(session, "zonderorg", "x", Role.HANDLER, PASSWORD)
    user(session, "coord", Role.COORDINATOR)
    with pytest.raises(accounts.InvalidAccount):
        user(session, "coord", Role.HANDLER)
    assert accounts.count_users(session) == 1


def test_totp_secret_is_encrypted_at_rest(session: Session) -> None:
    created = user(session, "coord", Role.COORDINATOR)
    key = accounts.TotpKey.from_secret(b"k" * 32)
    secret = totp.new_secret()
    accounts.enable_totp(session, created, secret, totp.code_at(secret, 1_000_000), key, now=1_000_000)
    stored = session.scalar(select(StaffUser.totp_secret_box).where(StaffUser.id == created.id))
    assert stored and secret.encode() not in stored
    assert accounts.check_second_factor(created, totp.code_at(secret, 2_000_000), key, now=2_000_000)
    assert not accounts.check_second_factor(created, totp.code_at(secret, 2_000_000), key, now=2_000_300)
    with pytest.raises(accounts.AccountError):
        accounts.check_second_factor(created, "123456", accounts.TotpKey.from_secret(b"x" * 32))


def test_a_second_factor_code_is_accepted_once_and_older_ones_never(session: Session) -> None:
    """Issue 13: TOTP codes could be replayed within their window (up to 90 s)."""
    created = user(session, "coord", Role.COORDINATOR)
    key = accounts.TotpKey.from_secret(b"k" * 32)
    secret = totp.new_secret()
    moment = 1_800_000_000.0
    accounts.enable_totp(session, created, secret, totp.code_at(secret, moment), key, now=moment)
    assert not accounts.check_second_factor(created, totp.code_at(secret, moment), key, now=moment + 5), \
        "the set-up code does not log in"
    later = moment + totp.STEP
    assert accounts.check_second_factor(created, totp.code_at(secret, later), key, now=later)
    assert not accounts.check_second_factor(created, totp.code_at(secret, later), key, now=later + 10)
    assert not accounts.check_second_factor(created, totp.code_at(secret, moment), key, now=later + 10), \
        "an older code that is still inside the window is refused too"
    session.flush()
    session.expire_all()
    stored = accounts.get_user(session, "coord")
    assert stored is not None and stored.totp_last_step == int(later // totp.STEP)
    following = later + totp.STEP
    assert accounts.check_second_factor(stored, totp.code_at(secret, following), key, now=following)


def test_sessions_end_twelve_hours_after_login_however_active(session: Session) -> None:
    """Issue 13: the absolute limit made unlimited failed no test."""
    created = user(session, "coord", Role.COORDINATOR)
    cookie = sessions.start(session, created, second_factor_done=True, now=T0)
    moment = T0
    while moment < T0 + sessions.ABSOLUTE - timedelta(minutes=20):
        moment += timedelta(minutes=20)
        assert sessions.load(session, cookie, now=moment) is not None, moment
    assert timedelta(hours=12) == sessions.ABSOLUTE
    assert sessions.load(session, cookie, now=T0 + sessions.ABSOLUTE) is None
    assert session.scalar(select(StaffSession.id)) is None


def test_a_pending_second_factor_lapses_after_five_minutes(session: Session) -> None:
    """Issue 13: the pending second-factor window made unlimited failed no test."""
    created = user(session, "coord", Role.COORDINATOR)
    cookie = sessions.start(session, created, second_factor_done=False, now=T0)
    assert timedelta(minutes=5) == sessions.PENDING_SECOND_FACTOR
    pending = sessions.load(session, cookie, now=T0 + timedelta(minutes=4, seconds=59))
    assert pending is not None and not pending.complete
    assert sessions.load(session, cookie, now=T0 + timedelta(minutes=5, seconds=1)) is None
    late = sessions.start(session, created, second_factor_done=False, now=T0)
    loaded = sessions.load(session, late, now=T0 + timedelta(minutes=4))
    assert loaded is not None
    sessions.complete_second_factor(session, loaded, now=T0 + timedelta(minutes=4))
    assert sessions.load(session, late, now=T0 + timedelta(minutes=30)) is not None, "completed: idle limit now"


def test_totp_matches_rfc6238_vectors() -> None:
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # base32 of "12345678901234567890"
    for moment, expected in ((59, "287082"), (1111111109, "081804"), (1234567890, "005924")):
        assert totp.code_at(secret, moment) == expected


def test_session_token_is_hashed_and_expires(session: Session) -> None:
    created = user(session, "coord", Role.COORDINATOR)
    cookie = sessions.start(session, created, second_factor_done=True, now=T0)
    token_part = cookie.split(".")[0]
    assert session.scalar(select(StaffSession.id)) != token_part
    assert sessions.load(session, cookie, now=T0 + timedelta(minutes=29)) is not None
    assert sessions.load(session, cookie + "x", now=T0) is None
    assert sessions.load(session, "garbage", now=T0) is None
    assert sessions.load(session, cookie, now=T0 + timedelta(minutes=29) + sessions.IDLE) is None
    assert session.scalar(select(StaffSession.id)) is None  # expired sessions are deleted


def test_unlocked_private_key_is_unreadable_without_the_cookie(session: Session, keys: Keys) -> None:
    created = user(session, "coord", Role.COORDINATOR)
    cookie = sessions.start(session, created, second_factor_done=True, now=T0)
    loaded = sessions.load(session, cookie, now=T0)
    assert loaded is not None
    sessions.store_private_key(session, loaded, keys.user_private)
    box = session.scalar(select(StaffSession.key_box))
    assert box is not None and bytes(keys.user_private) not in box
    again = sessions.load(session, cookie, now=T0)
    assert again is not None and bytes(sessions.private_key(again)) == bytes(keys.user_private)  # type: ignore[arg-type]


def test_deactivated_user_loses_sessions(session: Session) -> None:
    created = user(session, "coord", Role.COORDINATOR)
    cookie = sessions.start(session, created, second_factor_done=True, now=T0)
    accounts.set_active(session, created, False)
    assert sessions.load(session, cookie, now=T0) is None
    with pytest.raises(accounts.LoginFailed):
        accounts.authenticate(session, "coord", PASSWORD)


def test_scope_separates_organisations_roles_and_actors(session: Session, keys: Keys) -> None:
    flemish = submission.submit_report(session, make_draft(preferred_route="audit_vlaanderen"))
    assigned = submission.submit_report(session, make_draft(preferred_route=None))
    police = submission.submit_report(session, make_draft(profile_id="federale-politie"))
    coordinator = user(session, "coord", Role.COORDINATOR)
    police_coordinator = user(session, "politie", Role.COORDINATOR, profile="federale-politie")
    auditor = user(session, "auditor", Role.HANDLER, actor="audit_vlaanderen")
    handler = user(session, "handler", Role.HANDLER)
    admin = user(session, "admin", Role.ADMIN, profile=None)
    session.execute(update(Report).where(Report.reference == assigned.reference).values(assignee_id=handler.id))
    session.commit()

    def seen(staff: StaffUser) -> set[str]:
        return set(session.scalars(select(Report.reference).where(scope.visible(staff))))

    assert seen(coordinator) == {flemish.reference, assigned.reference}
    assert seen(police_coordinator) == {police.reference}
    assert seen(auditor) == {flemish.reference}
    assert seen(handler) == {assigned.reference}
    assert seen(admin) == set()
    assert scope.get_report(session, coordinator, flemish.reference).reference == flemish.reference
    for staff, reference in ((police_coordinator, flemish.reference), (coordinator, police.reference),
                             (handler, flemish.reference), (admin, police.reference)):
        with pytest.raises(errors.ReportNotFound):
            scope.get_report(session, staff, reference)


def test_audit_log_is_append_only_in_the_database(session: Session) -> None:
    staff = user(session, "coord", Role.COORDINATOR)
    audit.record(session, "login", user=staff)
    audit.record(session, "report_viewed", user=staff, report_reference="M-2026-AAAAAA", detail="x " * 400)
    entries = audit.entries(session, profile_id="vlaamse-overheid")
    assert [entry.action for entry in entries] == ["report_viewed", "login"]
    assert len(entries[0].detail) <= audit.DETAIL_MAX
    with pytest.raises(ValueError):
        audit.record(session, "no_such_action", user=staff)
    session.commit()
    for statement in (update(AuditEntry).values(action="logout"), delete(AuditEntry)):
        with pytest.raises(DatabaseError, match="append-only"):
            session.execute(statement)
            session.commit()
        session.rollback()
    assert session.scalar(select(AuditEntry.action).order_by(AuditEntry.id)) == "login"


@pytest.mark.parametrize("backend", ["postgresql"])  # TRUNCATE exists only there
def test_audit_log_refuses_truncate_on_postgresql(session: Session, backend: str) -> None:
    audit.record(session, "login", username="system")
    session.commit()
    with pytest.raises(DatabaseError, match="append-only"):
        session.execute(text("TRUNCATE audit_log"))
    session.rollback()
    assert audit.entries(session)
