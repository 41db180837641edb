"""The reporter's side after submitting: the receipt code check (throttled), what they see, their messages.

Nothing here commits: the channel commits once per use case (`db.transaction`). A wrong code's failed attempt is
stored all the same, because `UnknownReceipt` keeps the changes of its transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from integrity.notifications import events
from integrity.reports import crypto, receipts, report_keys, sealed
from integrity.reports.deadlines import utcnow
from integrity.reports.errors import (
    FollowUpThrottled,
    ReportClosed,
    ReportNotFound,
    UnknownReceipt,
    WrongReporterKey,
)
from integrity.reports.models import Author, FollowUpAttempt, Report, ReportMessage, ReportStatus
from integrity.reports.schemas import ReporterMessage, ReporterView
from integrity.reports.validation import MESSAGE_MAX, text_field

FOLLOW_UP_MAX_FAILURES = 5
FOLLOW_UP_WINDOW = timedelta(minutes=10)
# A second, shared counter for every sender of one channel together (`shared_key`): no caller can escape it by
# coming back under a new name, and with 16-digit codes (53 bits) 50 guesses per 10 minutes is harmless.
SHARED_MAX_FAILURES = 50


def _check_throttle(session: Session, key_hash: str, now: datetime, limit: int = FOLLOW_UP_MAX_FAILURES) -> None:
    """FollowUpThrottled once `limit` failures of this key lie within the window; the retry-after time runs until
    the oldest of them leaves the window (then one attempt is free again)."""
    window_start = now - FOLLOW_UP_WINDOW
    failures = session.execute(
        select(func.count(), func.min(FollowUpAttempt.at))
        .where(FollowUpAttempt.key_hash == key_hash, FollowUpAttempt.at > window_start)
    ).one()
    count, oldest = failures
    if count >= limit:
        retry_after = int((oldest + FOLLOW_UP_WINDOW - now).total_seconds()) + 1
        raise FollowUpThrottled(max(1, retry_after))


def _record_failure(session: Session, key_hash: str, now: datetime) -> None:
    session.execute(delete(FollowUpAttempt).where(FollowUpAttempt.at <= now - FOLLOW_UP_WINDOW))
    session.add(FollowUpAttempt(key_hash=key_hash, at=now))


def authenticate_reporter(
    session: Session, code: str, throttle_key: str | None, *, now: datetime | None = None,
    shared_key: str | None = None,
) -> tuple[str, bytes]:
    """(report id, reporter key) for a receipt code; the key opens the reporter's copies.

    Costs the same Argon2 work for right, wrong and malformed codes (one derivation per call). `throttle_key`
    identifies the sender (Telegram sender id, client IP); it is stored only as a keyed hash, and only for failed
    attempts, which `UnknownReceipt` keeps (see `db.transaction`). After FOLLOW_UP_MAX_FAILURES
    failures within FOLLOW_UP_WINDOW the key is refused with FollowUpThrottled (before any Argon2 work) until the
    window has passed. `None` skips throttling: only for callers that are not reachable by reporters.
    `shared_key` (e.g. "chat") is a second counter shared by all callers of one channel, with SHARED_MAX_FAILURES:
    a failure counts for both keys, and either being full refuses the attempt.
    Pass the result to `reporter_view` and `add_reporter_message_with_key`.
    """
    now = now or utcnow()
    key_hash = receipts.throttle_hash(throttle_key) if throttle_key is not None else None
    shared_hash = receipts.throttle_hash("shared:" + shared_key) if shared_key else None
    if key_hash is not None:
        _check_throttle(session, key_hash, now)
    if shared_hash is not None:
        _check_throttle(session, shared_hash, now, SHARED_MAX_FAILURES)
    digest, key = receipts.derive_both(code)
    # The whole row, not just the id: `reporter_view` and `add_reporter_message_with_key` then find it in the
    # session's identity map instead of loading it again.
    report = session.scalar(select(Report).where(Report.receipt_hash == digest)) if digest else None
    if report is None:
        if key_hash is not None:
            _record_failure(session, key_hash, now)
        if shared_hash is not None:
            _record_failure(session, shared_hash, now)
        raise UnknownReceipt("Unknown or malformed receipt code")
    return report.id, key


def _open_with_key(session: Session, report_id: str, reporter_key: bytes) -> tuple[Report, dict[str, Any]]:
    """The report and its decrypted reporter's copy; proves that the key belongs to the report."""
    report = session.get(Report, report_id)
    if report is None:
        raise ReportNotFound(f"No report with id {str(report_id)[:60]} (purged?)")
    if not isinstance(reporter_key, bytes) or len(reporter_key) != receipts.REPORTER_KEY_BYTES:
        raise WrongReporterKey(f"Reporter key for report {report.reference} is not {receipts.REPORTER_KEY_BYTES} "
                               "bytes")
    try:
        content = crypto.secretbox_decrypt(reporter_key, report.content_for_reporter)
    except crypto.DecryptionError:
        raise WrongReporterKey(f"The reporter key does not open report {report.reference}") from None
    return report, sealed.unpack(content, report.id)


def reporter_view(session: Session, report_id: str, reporter_key: bytes) -> ReporterView:
    """What the reporter sees: status, dates, their report and the messages; marks the messages read.

    For an already authenticated (report id, reporter key), e.g. from `authenticate_reporter` or a back office
    report token: no throttling here. ReportNotFound if the report is gone, WrongReporterKey if the key does not
    open it.
    """
    report, document = _open_with_key(session, report_id, reporter_key)
    messages = []
    for message in report.messages:
        body = sealed.unpack(crypto.secretbox_decrypt(reporter_key, message.body_for_reporter), report.id)
        messages.append(ReporterMessage(message.author, message.created_at, body["text"],
                                        new=not message.read_by_reporter))
        message.read_by_reporter = True
    return ReporterView(
        reference=report.reference, status=report.status, created_at=report.created_at,
        acknowledged_at=report.acknowledged_at, feedback_due=report.feedback_due, closed_at=report.closed_at,
        report=sealed.without_envelope(document), messages=messages,
    )


def add_reporter_message_with_key(
    session: Session,
    report_id: str,
    reporter_key: bytes,
    text: str,
    *,
    now: datetime | None = None,
) -> None:
    """A follow-up message from the reporter for an already authenticated (report id, reporter key).

    Sealed to the report's public key: the reporter's channel can add it but not read it back from that copy.

    ReportValidationError for an empty or too long text, ReportNotFound, WrongReporterKey, ReportClosed.
    Records a `reporter_message` notification event in the same transaction.
    """
    body = text_field("text", text, "je bericht", MESSAGE_MAX, True)
    now = now or utcnow()
    report, _ = _open_with_key(session, report_id, reporter_key)
    if report.status == ReportStatus.AFGESLOTEN:
        raise ReportClosed(f"Report {report.reference} is closed; reporter message refused")
    packed = sealed.pack({"report_id": report.id, "text": body})
    session.add(ReportMessage(
        report_id=report.id, author=Author.REPORTER, created_at=now,
        body_sealed=report_keys.seal_for_report(report, packed),
        body_for_reporter=crypto.secretbox_encrypt(reporter_key, packed), read_by_backoffice=False,
        read_by_reporter=True,
    ))
    events.enqueue_reporter_message(session, report.id, now=now)  # the staff's mail, in this transaction


def follow_up(session: Session, code: str, throttle_key: str, *, now: datetime | None = None,
              shared_key: str | None = None) -> ReporterView:
    """What the reporter sees with their receipt code: `authenticate_reporter` (throttled), then `reporter_view`."""
    report_id, key = authenticate_reporter(session, code, throttle_key, now=now, shared_key=shared_key)
    return reporter_view(session, report_id, key)


def add_reporter_message(
    session: Session,
    code: str,
    text: str,
    *,
    throttle_key: str | None = None,
    now: datetime | None = None,
) -> str:
    """A follow-up message from the reporter; returns the report id. Pass `throttle_key` from channels, as for
    `follow_up`.

    The text is checked before the code, so a bad text costs no attempt.
    """
    text_field("text", text, "je bericht", MESSAGE_MAX, True)
    now = now or utcnow()
    report_id, key = authenticate_reporter(session, code, throttle_key, now=now)
    add_reporter_message_with_key(session, report_id, key, text, now=now)
    return report_id
