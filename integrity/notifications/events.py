"""Record that something happened to a report, in the transaction of the use case that made it happen.

This is the first stage of the outbox (`models.NotificationEvent`): the report store calls these functions inside
its own use cases (`submission.submit_report`, `reporter.add_reporter_message_with_key`), so the event is stored
with the change or not at all. Who gets a mail is decided later by `fanout.dispatch_events`, with the scope
rules and each user's preference. Nothing here looks at content: an event names the kind and the report.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from integrity.notifications.models import Kind, NotificationEvent
from integrity.reports.deadlines import utcnow
from integrity.reports.models import Report
from integrity.staff.models import StaffUser

EVENT_KINDS = (Kind.NEW_REPORT, Kind.REPORTER_MESSAGE, Kind.ACCESS_GRANTED)


def enqueue(session: Session, kind: Kind, report_id: str, *, user_id: int | None = None,
            now: datetime | None = None) -> NotificationEvent:
    """Add an event to the session's transaction (the caller commits). `user_id`: only that staff member."""
    if kind not in EVENT_KINDS:
        raise ValueError(f"'{kind.value}' is not an event kind; reminders come from notifications.reminders")
    event = NotificationEvent(kind=kind, report_id=str(report_id), user_id=user_id, created_at=now or utcnow())
    session.add(event)
    return event


def enqueue_new_report(session: Session, report_id: str, *, now: datetime | None = None) -> NotificationEvent:
    return enqueue(session, Kind.NEW_REPORT, report_id, now=now)


def enqueue_reporter_message(session: Session, report_id: str, *, now: datetime | None = None) -> NotificationEvent:
    return enqueue(session, Kind.REPORTER_MESSAGE, report_id, now=now)


def enqueue_access_granted(session: Session, report: Report, user: StaffUser, *,
                           now: datetime | None = None) -> NotificationEvent:
    """`user` was given access to `report`: a mail to that user only (in the grant's transaction)."""
    if user.id is None:
        session.flush()
    return enqueue(session, Kind.ACCESS_GRANTED, report.id, user_id=user.id, now=now)
