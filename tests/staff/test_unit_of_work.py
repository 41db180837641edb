"""One transaction per use case: a case change and its audit entry are stored together or not at all.

On SQLite and PostgreSQL. The crash comes after the change has reached the database (flushed) and before the
boundary's commit: once while the audit entry is written, once in the commit itself.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from integrity.reports import db, submission
from integrity.reports.models import Report, ReportStatus, StatusChange
from integrity.staff import accounts, audit, cases
from integrity.staff.models import AuditEntry, Role, StaffUser
from tests.plugins.report_store import Keys, make_draft


class Crash(Exception):
    """The process dies half-way (as far as the transaction can tell)."""


@pytest.fixture
def case(sessions: sessionmaker[Session], keys: Keys) -> tuple[int, str]:
    with sessions.begin() as session:
        user = accounts.create_user(session, "coord", "Coördinator", Role.COORDINATOR, "een lang genoeg wachtwoord",
                                    profile_id="vlaamse-overheid")
        submitted = submission.submit_report(session, make_draft())
        return user.id, submitted.reference


def stored(sessions: sessionmaker[Session], reference: str) -> tuple[ReportStatus, int, int]:
    """(status, status changes, audit entries) of the report, as a new connection sees them."""
    with sessions() as session:
        report = session.scalar(select(Report).where(Report.reference == reference))
        assert report is not None
        changes = session.scalar(select(func.count()).select_from(StatusChange)
                                 .where(StatusChange.report_id == report.id))
        entries = session.scalar(select(func.count()).select_from(AuditEntry)
                                 .where(AuditEntry.report_reference == reference))
        return report.status, changes or 0, entries or 0


def crash_in_audit(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    real = audit.record

    def record(*args: object, **kwargs: object) -> AuditEntry:
        session.flush()  # the status change is in the database now
        real(*args, **kwargs)  # type: ignore[arg-type]
        session.flush()
        raise Crash

    monkeypatch.setattr(audit, "record", record)


def crash_in_commit(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    def commit() -> None:
        session.flush()  # the change and its audit entry are in the database now
        raise Crash

    monkeypatch.setattr(session, "commit", commit)


@pytest.mark.parametrize("crash", [crash_in_audit, crash_in_commit])
def test_a_crash_before_the_commit_keeps_neither_the_change_nor_its_audit_entry(
    sessions: sessionmaker[Session], case: tuple[int, str], monkeypatch: pytest.MonkeyPatch,
    crash: Callable[[Session, pytest.MonkeyPatch], None],
) -> None:
    user_id, reference = case
    assert stored(sessions, reference) == (ReportStatus.NIEUW, 1, 0)
    with sessions() as session:
        crash(session, monkeypatch)
        user = session.get(StaffUser, user_id)
        assert user is not None
        with pytest.raises(Crash), db.transaction(session):
            cases.change_status(session, user, reference, "in_behandeling", "")
    assert stored(sessions, reference) == (ReportStatus.NIEUW, 1, 0)


def test_without_a_crash_the_change_and_its_audit_entry_are_stored_together(
    sessions: sessionmaker[Session], case: tuple[int, str],
) -> None:
    user_id, reference = case
    with sessions() as session, db.transaction(session):
        user = session.get(StaffUser, user_id)
        assert user is not None
        cases.change_status(session, user, reference, "in_behandeling", "")
    # nieuw -> ontvangen (acknowledged on the way) -> in_behandeling; one audit entry for the change
    assert stored(sessions, reference) == (ReportStatus.IN_BEHANDELING, 3, 1)
