"""The back office's side of the report store: metadata lists, the decrypted report, status changes, replies.

Nothing here commits: the caller commits once per use case (`db.transaction`), together with its audit entry.
The access rule (who sees which report) is `integrity.staff.scope`; the case work built on this is
`integrity.staff.cases`. Decrypting takes a `report_keys.Reader` (a staff member's id and private key): the
report's key is opened through that staff member's grant (`report_keys.NoAccess` without one).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, func, select
from sqlalchemy.orm import Session

from integrity.reports import crypto, report_keys, sealed
from integrity.reports.deadlines import feedback_due_for, is_ack_overdue, is_feedback_overdue, utcnow
from integrity.reports.errors import InvalidStatusChange, ReportNotFound
from integrity.reports.models import (
    ActorRole,
    Author,
    FollowUpAttempt,
    Report,
    ReportFile,
    ReportMessage,
    ReportStatus,
    StatusChange,
)
from integrity.reports.report_keys import Reader
from integrity.reports.reporter import FOLLOW_UP_WINDOW
from integrity.reports.schemas import BackofficeMessage, ReportDetail, ReportSummary, StatusEntry
from integrity.reports.validation import MESSAGE_MAX, text_field

ALLOWED_TRANSITIONS: dict[ReportStatus, tuple[ReportStatus, ...]] = {
    ReportStatus.NIEUW: (ReportStatus.ONTVANGEN,),
    ReportStatus.ONTVANGEN: (ReportStatus.IN_BEHANDELING, ReportStatus.DOORVERWEZEN, ReportStatus.AFGESLOTEN),
    ReportStatus.IN_BEHANDELING: (ReportStatus.DOORVERWEZEN, ReportStatus.AFGESLOTEN),
    ReportStatus.DOORVERWEZEN: (ReportStatus.IN_BEHANDELING, ReportStatus.AFGESLOTEN),
    ReportStatus.AFGESLOTEN: (),
}
SUMMARY_COLUMNS = ("id", "reference", "profile_id", "category", "target_actor", "status", "created_at",
                   "acknowledged_at", "ack_due", "feedback_due", "closed_at")


def with_flags(summary: ReportSummary, now: datetime) -> ReportSummary:
    """`summary` with its overdue flags set for `now`."""
    return replace(summary, ack_overdue=is_ack_overdue(summary, now),
                   feedback_overdue=is_feedback_overdue(summary, now, summary.last_reply_at))


def _summary(report: Report, now: datetime, unread: int = 0, last_reply_at: datetime | None = None) -> ReportSummary:
    return with_flags(ReportSummary(
        id=report.id, reference=report.reference, profile_id=report.profile_id, category=report.category,
        target_actor=report.target_actor, status=report.status, created_at=report.created_at,
        acknowledged_at=report.acknowledged_at, ack_due=report.ack_due, feedback_due=report.feedback_due,
        closed_at=report.closed_at, unread_messages=unread, last_reply_at=last_reply_at,
    ), now)


def get_report(session: Session, report_id: str) -> Report:
    """By id (UUID) or by reference (M-2026-XXXXXX)."""
    key = (report_id or "").strip()
    try:
        report = session.get(Report, str(uuid.UUID(key)))
    except ValueError:
        report = session.scalar(select(Report).where(Report.reference == key.upper()))
    if report is None:
        raise ReportNotFound(f"No report with id or reference '{key[:60]}'")
    return report


def _record_status(session: Session, report: Report, to: ReportStatus, role: ActorRole, at: datetime,
                   reason_sealed: bytes | None = None) -> None:
    session.add(StatusChange(report_id=report.id, from_status=report.status, to_status=to, at=at,
                             actor_role=role, reason_sealed=reason_sealed))
    report.status = to


def list_reports(
    session: Session,
    profile_id: str | None = None,
    actor: str | None = None,
    status: ReportStatus | str | None = None,
    *,
    overdue_only: bool = False,
    now: datetime | None = None,
) -> list[ReportSummary]:
    """Report metadata with deadlines, oldest first. Needs no key: nothing is decrypted."""
    now = now or utcnow()
    unread = (
        select(func.count(ReportMessage.id))
        .where(ReportMessage.report_id == Report.id, ReportMessage.author == Author.REPORTER,
               ReportMessage.read_by_backoffice.is_(False))
        .scalar_subquery()
    )
    last_reply = (
        select(func.max(ReportMessage.created_at))
        .where(ReportMessage.report_id == Report.id, ReportMessage.author == Author.BACKOFFICE)
        .scalar_subquery()
    )
    columns = [getattr(Report, name) for name in SUMMARY_COLUMNS]
    query = select(*columns, unread, last_reply).order_by(Report.created_at, Report.id)
    if profile_id:
        query = query.where(Report.profile_id == profile_id)
    if actor:
        query = query.where(Report.target_actor == actor)
    if status:
        query = query.where(Report.status == ReportStatus(status))
    summaries = []
    for row in session.execute(query):
        *values, unread_count, last_reply_at = row
        summary = with_flags(ReportSummary(**dict(zip(SUMMARY_COLUMNS, values, strict=True)),
                                           unread_messages=unread_count or 0, last_reply_at=last_reply_at), now)
        if not overdue_only or summary.ack_overdue or summary.feedback_overdue:
            summaries.append(summary)
    return summaries


def read_report(
    session: Session, report_id: str, reader: Reader, *, mark_read: bool = True,
    now: datetime | None = None,
) -> ReportDetail:
    """The decrypted report, messages and status history for `reader`. Marks the reporter's messages read."""
    report = get_report(session, report_id)
    private_key = report_keys.report_private_key(session, report, reader)
    content = sealed.unpack(crypto.unseal(private_key, report.content_sealed), report.id)
    content = sealed.without_envelope(content)
    messages = []
    last_reply_at = None
    for message in report.messages:
        body = sealed.unpack(crypto.unseal(private_key, message.body_sealed), report.id)
        messages.append(BackofficeMessage(message.id, message.author, message.created_at, body["text"],
                                          message.read_by_backoffice, message.read_by_reporter))
        if message.author == Author.BACKOFFICE:
            last_reply_at = message.created_at
        elif mark_read:
            message.read_by_backoffice = True
    history = [
        StatusEntry(change.from_status, change.to_status, change.at, change.actor_role,
                    crypto.unseal(private_key, change.reason_sealed).decode("utf-8") if change.reason_sealed else None)
        for change in report.status_changes
    ]
    close_reason = (crypto.unseal(private_key, report.close_reason_sealed).decode("utf-8")
                    if report.close_reason_sealed else None)
    summary = _summary(report, now or utcnow(), 0, last_reply_at)
    return ReportDetail(summary, content, messages, history, close_reason)


def acknowledge(session: Session, report_id: str, *, now: datetime | None = None) -> ReportSummary:
    """Confirm receipt (nieuw -> ontvangen): sets acknowledged_at and moves feedback_due to ack + 3 months."""
    now = now or utcnow()
    report = get_report(session, report_id)
    if report.acknowledged_at is None:
        _acknowledge(session, report, now)
    return _summary(report, now)


def _acknowledge(session: Session, report: Report, now: datetime) -> None:
    report.acknowledged_at = now
    report.feedback_due = feedback_due_for(report.created_at, now)
    if report.status == ReportStatus.NIEUW:
        _record_status(session, report, ReportStatus.ONTVANGEN, ActorRole.BACKOFFICE, now)


def change_status(
    session: Session,
    report_id: str,
    to: ReportStatus | str,
    reason: str | None = None,
    *,
    now: datetime | None = None,
) -> ReportSummary:
    """Move a report to another status. From `nieuw` the report is acknowledged first.

    The reason is sealed to the report's key; for `afgesloten` it is also kept as the close reason.
    `afgesloten` is final.
    """
    now = now or utcnow()
    try:
        target = ReportStatus(to)
    except ValueError:
        raise InvalidStatusChange(f"Unknown status '{to}'; use one of {', '.join(s.value for s in ReportStatus)}") \
            from None
    report = get_report(session, report_id)
    if report.status == ReportStatus.NIEUW and target != ReportStatus.NIEUW:
        _acknowledge(session, report, now)
    if report.status == target:
        if target == ReportStatus.ONTVANGEN:
            return _summary(report, now)
        raise InvalidStatusChange(f"Report {report.reference} is already '{target.value}'")
    if target not in ALLOWED_TRANSITIONS[report.status]:
        raise InvalidStatusChange(f"Report {report.reference}: '{report.status.value}' -> '{target.value}' "
                                  "is not allowed")
    cleaned = text_field("reason", reason, "de reden", MESSAGE_MAX, False) or None
    reason_sealed = report_keys.seal_for_report(report, cleaned.encode("utf-8")) if cleaned else None
    _record_status(session, report, target, ActorRole.BACKOFFICE, now, reason_sealed)
    if target == ReportStatus.AFGESLOTEN:
        report.closed_at = now
        report.close_reason_sealed = reason_sealed
    return _summary(report, now)


def reply_to_reporter(
    session: Session, report_id: str, text: str, reader: Reader, *, now: datetime | None = None
) -> None:
    """A message from the back office that the reporter reads with the receipt code.

    The back office never knows the code: it unseals the reporter key stored sealed to the report's key at
    submission (as GlobaLeaks does) and encrypts the reply with it. A reply to a new report also acknowledges it.
    """
    body = text_field("text", text, "het bericht", MESSAGE_MAX, True)
    now = now or utcnow()
    report = get_report(session, report_id)
    key = crypto.unseal(report_keys.report_private_key(session, report, reader), report.reporter_key_sealed)
    packed = sealed.pack({"report_id": report.id, "text": body})
    if report.acknowledged_at is None:
        _acknowledge(session, report, now)
    session.add(ReportMessage(
        report_id=report.id, author=Author.BACKOFFICE, created_at=now,
        body_sealed=report_keys.seal_for_report(report, packed),
        body_for_reporter=crypto.secretbox_encrypt(key, packed), read_by_backoffice=True, read_by_reporter=False,
    ))


def purge_closed(session: Session, older_than_days: int, *, now: datetime | None = None) -> int:
    """Delete reports closed more than `older_than_days` ago, with their messages, files and history."""
    if older_than_days < 0:
        raise ValueError("older_than_days must be 0 or more")
    now = now or utcnow()
    cutoff = now - timedelta(days=older_than_days)
    doomed = select(Report.id).where(Report.status == ReportStatus.AFGESLOTEN, Report.closed_at < cutoff)
    session.execute(delete(ReportMessage).where(ReportMessage.report_id.in_(doomed)))
    session.execute(delete(StatusChange).where(StatusChange.report_id.in_(doomed)))
    session.execute(delete(ReportFile).where(ReportFile.report_id.in_(doomed)))  # the evidence files, sealed
    deleted = cast(CursorResult[Any], session.execute(delete(Report).where(Report.id.in_(doomed)))).rowcount
    session.execute(delete(FollowUpAttempt).where(FollowUpAttempt.at <= now - FOLLOW_UP_WINDOW))
    return deleted or 0
