"""Deadline reminders (the rules are `integrity.reports.deadlines`): which reports need which reminder now.

- acknowledgement: 2 days before `ack_due` (ack_due_soon) and once it has passed (ack_overdue), until confirmed;
- feedback: 14 days before `feedback_due` (feedback_due_soon) and once it has passed (feedback_overdue), unless
  the reporter got a reply since the acknowledgement, or the case is closed (no reminders for closed cases).
Each (report, kind, user) is queued once: the outbox key "<kind>:<report id>" is unique per user, so running the
job again (a restart, a second instance, the next day) adds nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from integrity.notifications import outbox
from integrity.notifications.models import Kind
from integrity.notifications.settings import MailSettings
from integrity.reports import deadlines
from integrity.reports.models import Author, Report, ReportMessage, ReportStatus
from integrity.staff import scope

ACK_WARNING = timedelta(days=2)
FEEDBACK_WARNING = timedelta(days=14)


def _last_reply(session: Session, report: Report) -> datetime | None:
    return session.scalar(select(func.max(ReportMessage.created_at))
                          .where(ReportMessage.report_id == report.id, ReportMessage.author == Author.BACKOFFICE))


def due_kinds(report: Report, last_reply_at: datetime | None, now: datetime) -> list[Kind]:
    """The reminders `report` needs at `now` (at most one about each deadline)."""
    if report.status == ReportStatus.AFGESLOTEN:
        return []
    kinds = []
    if report.acknowledged_at is None:
        if deadlines.is_ack_overdue(report, now):
            kinds.append(Kind.ACK_OVERDUE)
        elif now >= report.ack_due - ACK_WARNING:
            kinds.append(Kind.ACK_DUE_SOON)
    since = report.acknowledged_at or report.created_at
    if last_reply_at is None or last_reply_at < since:
        if deadlines.is_feedback_overdue(report, now, last_reply_at):
            kinds.append(Kind.FEEDBACK_OVERDUE)
        elif now >= report.feedback_due - FEEDBACK_WARNING:
            kinds.append(Kind.FEEDBACK_DUE_SOON)
    return kinds


def enqueue_due(session: Session, *, settings: MailSettings, now: datetime) -> int:
    """Queue every reminder that is due and not queued yet; returns how many mails were added."""
    candidates = session.scalars(
        select(Report).where(Report.status != ReportStatus.AFGESLOTEN, or_(
            and_(Report.acknowledged_at.is_(None), Report.ack_due <= now + ACK_WARNING),
            Report.feedback_due <= now + FEEDBACK_WARNING))
        .order_by(Report.created_at, Report.id))
    added = 0
    for report in candidates:
        kinds = due_kinds(report, _last_reply(session, report), now)
        if not kinds:
            continue
        readers = scope.readers(session, report)
        for kind in kinds:
            for user in readers:
                if outbox.add(session, user, kind, report.reference, f"{kind.value}:{report.id}",
                              settings=settings, now=now, digest_at=now):
                    added += 1
    return added
