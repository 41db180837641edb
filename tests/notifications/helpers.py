"""Shared set-up of the notification tests: staff of two organisations and reports, on either database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from integrity.notifications.models import MailStatus, OutboxMail
from integrity.reports import db, submission
from integrity.reports.models import Report
from integrity.staff import accounts
from integrity.staff.models import NotifyMode, Role, StaffUser
from tests.plugins.report_store import Keys, make_draft

PASSWORD = "een lang wachtwoord 42"
NOW = datetime(2026, 6, 15, 10, 0, tzinfo=timezone.utc)  # 12:00 in Brussels, after the daily hour
PROFILE = "vlaamse-overheid"


def clock(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


def make_staff(sessions: sessionmaker[Session]) -> dict[str, int]:
    """username -> id. Readers of a vlaamse-overheid report for audit_vlaanderen with a mail: coord, audit."""
    plan: list[tuple[str, Role, str | None, str | None, str | None, NotifyMode]] = [
        ("coord", Role.COORDINATOR, PROFILE, None, "coord@org.test", NotifyMode.IMMEDIATE),
        ("audit", Role.HANDLER, PROFILE, "audit_vlaanderen", "audit@org.test", NotifyMode.IMMEDIATE),
        ("ombuds", Role.HANDLER, PROFILE, "vlaamse_ombudsdienst", "ombuds@org.test", NotifyMode.IMMEDIATE),
        ("police", Role.COORDINATOR, "federale-politie", None, "police@org.test", NotifyMode.IMMEDIATE),
        ("admin", Role.ADMIN, None, None, "admin@org.test", NotifyMode.IMMEDIATE),
        ("quiet", Role.COORDINATOR, PROFILE, None, "quiet@org.test", NotifyMode.OFF),
        ("noaddress", Role.COORDINATOR, PROFILE, None, None, NotifyMode.IMMEDIATE),
    ]
    ids = {}
    with db.session_scope(sessions) as session:
        for name, role, profile, actor, email, mode in plan:
            user = accounts.create_user(session, name, name.title(), role, PASSWORD, profile_id=profile, actor=actor,
                                        email=email, now=NOW - timedelta(days=400))
            accounts.set_notify_mode(session, user, mode)
            ids[name] = user.id
    return ids


def submit(sessions: sessionmaker[Session], keys: Keys, at: datetime, **changes: object) -> Report:
    with db.session_scope(sessions) as session:
        reference = submission.submit_report(session, make_draft(**changes), now=at).reference
        report = session.scalar(select(Report).where(Report.reference == reference))
        assert report is not None
        return report


def outbox_rows(sessions: sessionmaker[Session]) -> list[OutboxMail]:
    with sessions() as session:
        return list(session.scalars(select(OutboxMail).order_by(OutboxMail.id)))


def status_count(sessions: sessionmaker[Session], status: MailStatus) -> int:
    with sessions() as session:
        return session.scalar(select(func.count(OutboxMail.id)).where(OutboxMail.status == status)) or 0


def set_mode(sessions: sessionmaker[Session], username: str, mode: NotifyMode) -> None:
    with db.session_scope(sessions) as session:
        user = session.scalar(select(StaffUser).where(StaffUser.username == username))
        assert user is not None
        accounts.set_notify_mode(session, user, mode)
