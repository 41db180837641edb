"""The daily job's deadline reminders: the right reminder at the right time, once per (report, kind, user), and
one run per day even with two workers at the same moment (SKIP LOCKED on PostgreSQL, the writer lock on SQLite)."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from integrity.notifications import jobs, reminders
from integrity.notifications.models import Kind, OutboxMail
from integrity.notifications.settings import MailSettings
from integrity.reports import casework, db
from integrity.reports.models import ReportStatus
from integrity.staff.models import NotifyMode
from tests.notifications.helpers import NOW, clock, make_staff, outbox_rows, set_mode, submit
from tests.notifications.mailserver import MailServer
from tests.plugins.report_store import Keys

SETTINGS = MailSettings(host=None, base_url="https://integriteit.test")


def daily(sessions: sessionmaker[Session], now: datetime) -> bool:
    with db.session_scope(sessions) as session:
        return jobs.run_daily(session, SETTINGS, now)


def reminder_kinds(sessions: sessionmaker[Session]) -> list[tuple[str, str | None, int]]:
    return sorted((row.kind.value, row.report_reference, row.user_id) for row in outbox_rows(sessions)
                  if row.kind not in (Kind.NEW_REPORT, Kind.REPORTER_MESSAGE))


def test_acknowledgement_reminders_two_days_before_and_when_overdue(sessions: sessionmaker[Session],
                                                                   keys: Keys) -> None:
    ids = make_staff(sessions)
    readers = sorted([ids["coord"], ids["audit"]])
    report = submit(sessions, keys, NOW - timedelta(days=4))  # ack due in 3 days: nothing yet
    assert daily(sessions, NOW) is True
    assert reminder_kinds(sessions) == []
    assert daily(sessions, NOW + timedelta(hours=1)) is False  # once a day
    assert daily(sessions, NOW + timedelta(days=1)) is True  # ack due in 2 days
    assert reminder_kinds(sessions) == [("ack_due_soon", report.reference, user) for user in readers]
    assert daily(sessions, NOW + timedelta(days=2)) is True  # due in 1 day: the same reminder is not queued again
    assert len(reminder_kinds(sessions)) == 2
    daily(sessions, NOW + timedelta(days=4))  # overdue
    assert reminder_kinds(sessions) == sorted([("ack_due_soon", report.reference, user) for user in readers]
                                              + [("ack_overdue", report.reference, user) for user in readers])
    daily(sessions, NOW + timedelta(days=5))
    assert len(reminder_kinds(sessions)) == 4


def test_feedback_reminders_and_none_after_a_reply_or_for_closed_cases(sessions: sessionmaker[Session],
                                                                       keys: Keys) -> None:
    make_staff(sessions)
    waiting = submit(sessions, keys, NOW - timedelta(days=85))
    replied = submit(sessions, keys, NOW - timedelta(days=85))
    closed = submit(sessions, keys, NOW - timedelta(days=85))
    with db.session_scope(sessions) as session:
        for report in (waiting, replied, closed):
            casework.acknowledge(session, report.id, now=NOW - timedelta(days=84))
        casework.reply_to_reporter(session, replied.id, "We onderzoeken je melding.", keys.private,
                                   now=NOW - timedelta(days=10))
        casework.change_status(session, closed.id, ReportStatus.AFGESLOTEN, "Onderzocht en afgerond.",
                               now=NOW - timedelta(days=5))
    daily(sessions, NOW)
    assert {(kind, ref) for kind, ref, _ in reminder_kinds(sessions)} == {("feedback_due_soon", waiting.reference)}
    daily(sessions, NOW + timedelta(days=9))  # feedback was due 3 months after the acknowledgement: 23 June
    assert {(kind, ref) for kind, ref, _ in reminder_kinds(sessions)} == {
        ("feedback_due_soon", waiting.reference), ("feedback_overdue", waiting.reference)}


def test_two_workers_at_once_run_the_daily_job_once(sessions: sessionmaker[Session], keys: Keys,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    make_staff(sessions)
    submit(sessions, keys, NOW - timedelta(days=6))  # ack due in 1 day: one reminder per reader
    real = reminders.enqueue_due
    running = threading.Event()

    def slow(session: Session, **kwargs: object) -> int:
        running.set()
        time.sleep(1.0)  # the other worker arrives while this run holds the job
        return real(session, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(reminders, "enqueue_due", slow)
    results: dict[str, tuple[bool, float]] = {}
    errors: list[BaseException] = []

    def worker(name: str) -> None:
        try:
            if name == "second":
                running.wait(10)
            started = time.monotonic()
            results[name] = (daily(sessions, NOW), time.monotonic() - started)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert results["first"][0] is True and results["second"][0] is False
    if sessions.kw["bind"].dialect.name == "postgresql":
        assert results["second"][1] < 0.5  # SKIP LOCKED: the second worker does not wait for the first
    with sessions() as session:
        assert session.scalar(select(func.count(OutboxMail.id)).where(OutboxMail.kind == Kind.ACK_DUE_SOON)) == 2


def test_a_daily_digest_user_gets_the_reminders_in_that_mornings_digest(
        sessions: sessionmaker[Session], keys: Keys, mail_server: MailServer, mail_settings: MailSettings) -> None:
    make_staff(sessions)
    set_mode(sessions, "coord", NotifyMode.DAILY)
    set_mode(sessions, "audit", NotifyMode.OFF)
    morning = NOW.replace(hour=5)  # 07:00 in Brussels: the digest hour
    report = submit(sessions, keys, morning - timedelta(days=6))  # ack due tomorrow
    jobs.tick(sessions, mail_settings, clock=clock(morning - timedelta(days=1)))  # yesterday: no reminder yet
    jobs.tick(sessions, mail_settings, clock=clock(morning))
    messages = mail_server.wait_for(1)
    assert len(messages) == 1 and str(messages[0]["To"]) == "coord@org.test"
    body = messages[0].get_content()
    assert "Nieuwe melding" in body and "Ontvangst bevestigen binnen 2 dagen" in body and report.reference in body
