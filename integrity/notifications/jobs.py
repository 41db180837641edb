"""The notification jobs and their loop: dispatch events, the daily reminders, digests, sending.

`run_periodically` is what the web app runs in its process (or `python -m integrity.notifications run` as a worker):
every NOTIFY_POLL_SECONDS one `tick`. Every step is safe with several instances and across restarts:
- events and mails are claimed row by row (`FOR UPDATE SKIP LOCKED` on PostgreSQL, the writer lock on SQLite);
- the daily job (reminders, then clean-up) runs once per local day: its `job_runs` row is locked with
  `FOR UPDATE SKIP LOCKED` for the run, and `last_run_on` is set in the same transaction as the reminders it
  queued, so a crash half-way leaves neither and the next tick runs it again; another instance meanwhile skips it;
- digests run under the `digests` row the same way.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from integrity.notifications import digests, fanout, reminders, sender
from integrity.notifications.models import JobRun, MailStatus, NotificationEvent, OutboxMail
from integrity.notifications.settings import MailSettings
from integrity.reports import db
from integrity.reports.deadlines import utcnow

log = logging.getLogger("integrity.notifications")
DAILY = "daily-reminders"
DIGESTS = "digests"
KEEP_SENT = timedelta(days=30)  # sent event mails and dispatched events are deleted after this


def holder() -> str:
    return f"{socket.gethostname()[:60]}:{os.getpid()}"


def lock_job(session: Session, name: str) -> JobRun | None:
    """The job's row, locked for this transaction; None if another instance holds it right now."""
    row = session.scalar(select(JobRun).where(JobRun.name == name).with_for_update(skip_locked=True))
    if row is not None:
        return row
    if session.get(JobRun, name) is not None:  # exists, but locked by someone else
        return None
    try:
        with session.begin_nested():
            session.add(JobRun(name=name))
    except IntegrityError:  # another instance created it at the same moment
        return None
    return session.scalar(select(JobRun).where(JobRun.name == name).with_for_update(skip_locked=True))


def run_daily(session: Session, settings: MailSettings, now: datetime) -> bool:
    """The daily reminders, once per local day from NOTIFY_DIGEST_HOUR on. True if this call ran them."""
    local = now.astimezone(ZoneInfo(settings.timezone))
    if local.hour < settings.digest_hour:
        return False
    row = lock_job(session, DAILY)
    if row is None or row.last_run_on == local.date():
        return False
    added = reminders.enqueue_due(session, settings=settings, now=now)
    # Reminder rows stay (their key keeps a reminder from being queued twice); event and digest rows can go.
    session.execute(delete(OutboxMail).where(OutboxMail.status.in_((MailStatus.SENT, MailStatus.DIGESTED)),
                                             OutboxMail.created_at < now - KEEP_SENT,
                                             or_(OutboxMail.dedup_key.startswith("event:"),
                                                 OutboxMail.dedup_key.startswith("digest:"))))
    session.execute(delete(NotificationEvent).where(NotificationEvent.dispatched_at < now - KEEP_SENT))
    row.last_run_on, row.last_run_at, row.holder = local.date(), now, holder()
    log.info("Daily notification job: %d reminder mail(s) queued", added)
    return True


def run_digests(session: Session, settings: MailSettings, now: datetime) -> int:
    row = lock_job(session, DIGESTS)
    if row is None:
        return 0
    built = digests.build_due(session, settings=settings, now=now)
    row.last_run_at, row.holder = now, holder()
    return built


def tick(sessions: sessionmaker[Session], settings: MailSettings, *, clock: Callable[[], datetime] = utcnow,
         send: bool = True) -> int:
    """One round of every job, each step in its own transaction; returns how many mails were sent."""
    with db.session_scope(sessions) as session:
        while fanout.dispatch_events(session, settings=settings, now=clock()) == fanout.BATCH:
            pass
    with db.session_scope(sessions) as session:
        run_daily(session, settings, clock())
    with db.session_scope(sessions) as session:
        run_digests(session, settings, clock())
    if not send:
        return 0
    sent = 0
    while True:
        batch = sender.send_due(sessions, settings, clock=clock)
        sent += batch
        if batch < sender.BATCH:
            return sent


async def run_periodically(sessions: sessionmaker[Session], settings: MailSettings) -> None:
    """`tick` every NOTIFY_POLL_SECONDS until cancelled; a failed round is logged and tried again next time."""
    log.info("Notification sender started: SMTP %s:%d (%s), from %s", settings.host, settings.port,
             settings.security, settings.sender)
    while True:
        try:
            await asyncio.to_thread(tick, sessions, settings)
        except Exception as exc:
            log.error("Notification round failed (%s); retrying in %.0f s", type(exc).__name__, settings.poll_seconds)
        await asyncio.sleep(settings.poll_seconds)
