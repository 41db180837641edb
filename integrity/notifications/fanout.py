"""From events to mails: each new event becomes one outbox row per staff member who may read the report.

Who may read is `integrity.staff.scope.readers` at the time of dispatch (seconds after the event); an
`access_granted` event goes only to the user it names. Events are taken with `FOR UPDATE SKIP LOCKED` on
PostgreSQL (SQLite: the writer lock), so several web app instances never dispatch the same event twice; and the
outbox's unique (user, "event:<id>") makes a repeated dispatch add nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrity.notifications import outbox
from integrity.notifications.models import Kind, NotificationEvent
from integrity.notifications.settings import MailSettings
from integrity.reports.models import Report
from integrity.staff import scope
from integrity.staff.models import StaffUser

BATCH = 100


def recipients(session: Session, event: NotificationEvent, report: Report) -> list[StaffUser]:
    if event.kind == Kind.ACCESS_GRANTED:
        user = session.get(StaffUser, event.user_id) if event.user_id is not None else None
        return [user] if user is not None and user.active else []
    return scope.readers(session, report)


def dispatch_events(session: Session, *, settings: MailSettings, now: datetime) -> int:
    """Turn up to BATCH undispatched events into outbox rows; returns how many events were handled."""
    events = list(session.scalars(
        select(NotificationEvent).where(NotificationEvent.dispatched_at.is_(None))
        .order_by(NotificationEvent.id).limit(BATCH).with_for_update(skip_locked=True)))
    for event in events:
        report = session.get(Report, event.report_id)
        if report is not None:  # a report purged in between needs no mail
            for user in recipients(session, event, report):
                outbox.add(session, user, event.kind, report.reference, f"event:{event.id}",
                           settings=settings, now=now)
        event.dispatched_at = now
    return len(events)
