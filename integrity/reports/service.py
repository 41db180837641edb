"""Anonymous reports: what the channels (reporter side) and the back office call.

Every writing function commits its own transaction: a receipt code may only be shown once its report is stored,
and a failed follow-up attempt must be recorded even though the call raises.

Errors carry a Dutch `user_message` for the reporter and an English message (`str(exc)`) for operators.
"""

from __future__ import annotations

import calendar
import json
import re
import secrets
import time
import unicodedata
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from nacl.public import PrivateKey, PublicKey
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from integrity.reports import crypto, receipts
from integrity.reports.models import (
    ActorRole,
    Author,
    FollowUpAttempt,
    Report,
    ReportMessage,
    ReportStatus,
    StatusChange,
)

ACK_DAYS = 7
FEEDBACK_MONTHS = 3
FOLLOW_UP_MAX_FAILURES = 5
FOLLOW_UP_WINDOW = timedelta(minutes=10)
CHANNELS = ("telegram", "web", "terminal")
CONTENT_VERSION = 1
SUBMIT_ATTEMPTS = 4  # new receipt code and reference after a (practically impossible) unique collision
LOCK_RETRIES = 5  # SQLite "database is locked" after the busy timeout: retry with backoff
REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O or 1/I confusion

# Field -> (Dutch label, maximum length, required).
TEXT_FIELDS: dict[str, tuple[str, int, bool]] = {
    "what_happened": ("wat er gebeurd is", 5000, True),
    "when": ("wanneer het gebeurde", 500, False),
    "where": ("waar het gebeurde", 500, False),
    "people_involved": ("wie erbij betrokken was", 2000, False),
    "evidence": ("bewijs of documenten", 5000, False),
    "contact": ("contactgegevens", 500, False),
}
MESSAGE_MAX = 5000
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]{0,63}")
_PROFILE_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")

ALLOWED_TRANSITIONS: dict[ReportStatus, tuple[ReportStatus, ...]] = {
    ReportStatus.NIEUW: (ReportStatus.ONTVANGEN,),
    ReportStatus.ONTVANGEN: (ReportStatus.IN_BEHANDELING, ReportStatus.DOORVERWEZEN, ReportStatus.AFGESLOTEN),
    ReportStatus.IN_BEHANDELING: (ReportStatus.DOORVERWEZEN, ReportStatus.AFGESLOTEN),
    ReportStatus.DOORVERWEZEN: (ReportStatus.IN_BEHANDELING, ReportStatus.AFGESLOTEN),
    ReportStatus.AFGESLOTEN: (),
}


# --- errors ----------------------------------------------------------------------------------------------------


class ReportError(Exception):
    """Base class: `str(exc)` is for operators (English), `user_message` for the reporter (Dutch)."""

    default_user_message = "Er ging iets mis met je melding. Probeer het later opnieuw."

    def __init__(self, operator_message: str, user_message: str | None = None) -> None:
        super().__init__(operator_message)
        self.operator_message = operator_message
        self.user_message = user_message or self.default_user_message


class ReportValidationError(ReportError):
    def __init__(self, field_name: str, operator_message: str, user_message: str) -> None:
        super().__init__(operator_message, user_message)
        self.field = field_name


class UnknownReceipt(ReportError):
    default_user_message = (
        "We vinden geen melding met deze ontvangstcode. Controleer de 16 cijfers en probeer het opnieuw."
    )


class FollowUpThrottled(ReportError):
    def __init__(self, retry_after: int) -> None:
        minutes = max(1, -(-retry_after // 60))
        super().__init__(
            f"Too many failed follow-up attempts for this sender; retry after {retry_after} s",
            f"Te veel mislukte pogingen. Probeer het over {minutes} minuten opnieuw.",
        )
        self.retry_after = retry_after


class ReportNotFound(ReportError):
    default_user_message = "Deze melding bestaat niet (meer)."


class WrongReporterKey(ReportError, crypto.DecryptionError):
    """The reporter key does not open this report (it belongs to another report, or the data is damaged).

    Also a `crypto.DecryptionError`, which is what a failed decryption of the reporter's copy raised before.
    """

    default_user_message = "Je toegang tot deze melding is niet (meer) geldig. Vul je ontvangstcode opnieuw in."


class InvalidStatusChange(ReportError):
    pass


class ReportClosed(ReportError):
    default_user_message = "Deze melding is afgesloten. Je kan er geen berichten meer bij sturen."


class ReportBusy(ReportError):
    default_user_message = "Je melding kon nu niet bewaard worden. Probeer het over een minuut opnieuw."


# --- data passed in and out ------------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ReportDraft:
    """What the reporter filled in. The channel is recorded only inside the sealed content, never with an id."""

    category: str
    what_happened: str
    profile_id: str
    channel: str
    when: str = ""
    where: str = ""
    people_involved: str = ""
    evidence: str = ""
    anonymous: bool = True
    contact: str | None = None
    preferred_route: str | None = None


@dataclass(frozen=True)
class SubmittedReport:
    receipt_code: str  # formatted "1234 5678 9012 3456"; shown once to the reporter, never stored
    reference: str
    ack_due: datetime
    feedback_due: datetime


@dataclass(frozen=True)
class ReporterMessage:
    author: Author
    created_at: datetime
    text: str
    new: bool = False


@dataclass(frozen=True)
class ReporterView:
    reference: str
    status: ReportStatus
    created_at: datetime
    acknowledged_at: datetime | None
    feedback_due: datetime
    closed_at: datetime | None
    report: dict[str, Any]
    messages: list[ReporterMessage]


@dataclass(frozen=True)
class ReportSummary:
    """Metadata only: what the back office list shows without the private key."""

    id: str
    reference: str
    profile_id: str
    category: str
    target_actor: str | None
    status: ReportStatus
    created_at: datetime
    acknowledged_at: datetime | None
    ack_due: datetime
    feedback_due: datetime
    closed_at: datetime | None
    unread_messages: int = 0
    last_reply_at: datetime | None = None
    ack_overdue: bool = False
    feedback_overdue: bool = False


@dataclass(frozen=True)
class BackofficeMessage:
    id: int
    author: Author
    created_at: datetime
    text: str
    read_by_backoffice: bool
    read_by_reporter: bool


@dataclass(frozen=True)
class StatusEntry:
    from_status: ReportStatus | None
    to_status: ReportStatus
    at: datetime
    actor_role: ActorRole
    reason: str | None


@dataclass(frozen=True)
class ReportDetail:
    summary: ReportSummary
    content: dict[str, Any]
    messages: list[BackofficeMessage]
    history: list[StatusEntry]
    close_reason: str | None = None


# --- time and deadlines ----------------------------------------------------------------------------------------


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar months; the day is clipped to the month's length (31 Jan + 1 month = 28/29 Feb)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def ack_due_for(created_at: datetime) -> datetime:
    return created_at + timedelta(days=ACK_DAYS)


def feedback_due_for(created_at: datetime, acknowledged_at: datetime | None) -> datetime:
    return add_months(acknowledged_at or created_at, FEEDBACK_MONTHS)


def is_ack_overdue(report: Report | ReportSummary, now: datetime | None = None) -> bool:
    return report.acknowledged_at is None and (now or utcnow()) > report.ack_due


def is_feedback_overdue(
    report: Report | ReportSummary, now: datetime | None = None, last_reply_at: datetime | None = None
) -> bool:
    """Past `feedback_due`, not closed, and no reply to the reporter since the acknowledgement."""
    if report.status == ReportStatus.AFGESLOTEN:
        return False
    since = report.acknowledged_at or report.created_at
    if last_reply_at is not None and last_reply_at >= since:
        return False
    return (now or utcnow()) > report.feedback_due


def is_overdue(report: Report | ReportSummary, now: datetime | None = None,
               last_reply_at: datetime | None = None) -> bool:
    return is_ack_overdue(report, now) or is_feedback_overdue(report, now, last_reply_at)


# --- validation ------------------------------------------------------------------------------------------------


def clean_text(value: str) -> str:
    """Drop control characters except newline and tab (CR LF becomes LF) and lone surrogates; trim the ends.

    Everything else (emoji, HTML, markdown) stays as literal text: it is only ever stored encrypted.
    """
    kept = (
        char for char in value
        if char in "\n\t" or unicodedata.category(char) not in ("Cc", "Cs")
    )
    return "".join(kept).strip()


def _invalid(field_name: str, problem: str, user_message: str) -> ReportValidationError:
    return ReportValidationError(field_name, f"Invalid report field '{field_name}': {problem}", user_message)


def _text(field_name: str, value: Any, label: str, limit: int, required: bool) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise _invalid(field_name, f"expected text, got {type(value).__name__}", f"Vul {label} in als tekst.")
    cleaned = clean_text(value)
    if required and not cleaned:
        raise _invalid(field_name, "required and empty", f"Vul {label} in.")
    if len(cleaned) > limit:
        raise _invalid(
            field_name, f"{len(cleaned)} characters, maximum {limit}",
            f"Het veld '{label}' is te lang: maximaal {limit} tekens (nu {len(cleaned)}).",
        )
    return cleaned


def validate_draft(draft: ReportDraft) -> dict[str, Any]:
    """The cleaned fields of a draft, or ReportValidationError naming the first problem."""
    category = clean_text(draft.category or "")
    if not _IDENTIFIER.fullmatch(category):
        raise _invalid("category", f"'{category[:40]}' is not a topic id", "Kies een onderwerp voor je melding.")
    profile_id = clean_text(draft.profile_id or "")
    if not _PROFILE_ID.fullmatch(profile_id):
        raise _invalid("profile_id", f"'{profile_id[:40]}' is not a profile id", ReportError.default_user_message)
    if draft.channel not in CHANNELS:
        raise _invalid("channel", f"'{draft.channel}' is not one of {', '.join(CHANNELS)}",
                       ReportError.default_user_message)
    route = clean_text(draft.preferred_route or "") or None
    if route is not None and not _IDENTIFIER.fullmatch(route):
        raise _invalid("preferred_route", f"'{route[:40]}' is not an actor id", "Kies naar wie je melding gaat.")
    fields: dict[str, Any] = {
        name: _text(name, getattr(draft, name), label, limit, required)
        for name, (label, limit, required) in TEXT_FIELDS.items()
    }
    if not draft.anonymous and not fields["contact"]:
        raise _invalid("contact", "not anonymous but no contact details",
                       "Laat contactgegevens achter, of kies om anoniem te melden.")
    fields["contact"] = fields["contact"] or None
    fields.update(category=category, profile_id=profile_id, channel=draft.channel, preferred_route=route,
                  anonymous=bool(draft.anonymous))
    return fields


# --- helpers ---------------------------------------------------------------------------------------------------


def _pack(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _unpack(data: bytes, report_id: str) -> dict[str, Any]:
    document = json.loads(data.decode("utf-8"))
    if document.get("report_id") != report_id:
        raise ReportError(f"Stored ciphertext of report {report_id} belongs to another report (tampering?)")
    return document


def _new_reference(now: datetime) -> str:
    return f"M-{now.year}-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


def _is_locked(exc: OperationalError) -> bool:
    return "database is locked" in str(exc.orig) or "database is busy" in str(exc.orig)


def _is_unique_violation(exc: IntegrityError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(exc.orig)


def _public_key(public_key: bytes | PublicKey | None) -> PublicKey:
    if public_key is None:
        return crypto.load_public_key()
    return public_key if isinstance(public_key, PublicKey) else PublicKey(public_key)


def _with_flags(summary: ReportSummary, now: datetime) -> ReportSummary:
    return replace(summary, ack_overdue=is_ack_overdue(summary, now),
                   feedback_overdue=is_feedback_overdue(summary, now, summary.last_reply_at))


def _summary(report: Report, now: datetime, unread: int = 0, last_reply_at: datetime | None = None) -> ReportSummary:
    return _with_flags(ReportSummary(
        id=report.id, reference=report.reference, profile_id=report.profile_id, category=report.category,
        target_actor=report.target_actor, status=report.status, created_at=report.created_at,
        acknowledged_at=report.acknowledged_at, ack_due=report.ack_due, feedback_due=report.feedback_due,
        closed_at=report.closed_at, unread_messages=unread, last_reply_at=last_reply_at,
    ), now)


def _get_report(session: Session, report_id: str) -> Report:
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


# --- reporter side ---------------------------------------------------------------------------------------------


def _store_new_report(session: Session, values: dict[str, Any]) -> bool:
    """Insert the report and its first status and commit. False on a unique collision; SQLite locks are retried."""
    for attempt in range(LOCK_RETRIES):
        session.add_all([
            Report(**values),
            StatusChange(report_id=values["id"], from_status=None, to_status=ReportStatus.NIEUW,
                         at=values["created_at"], actor_role=ActorRole.REPORTER),
        ])
        try:
            session.commit()
            return True
        except IntegrityError as exc:
            session.rollback()
            if not _is_unique_violation(exc):
                raise
            return False
        except OperationalError as exc:
            session.rollback()
            if not _is_locked(exc):
                raise
            if attempt == LOCK_RETRIES - 1:
                raise ReportBusy(f"Could not store the report: database still locked after {LOCK_RETRIES} attempts") \
                    from exc
            time.sleep(min(1.0, 0.05 * 2**attempt) * (0.5 + secrets.randbelow(1000) / 1000))
    return False


class SubmissionConflict(ReportError):
    """A retried submission whose report the back office already took up: its receipt code cannot be re-issued."""

    def __init__(self, reference: str) -> None:
        super().__init__(
            f"Submission retried for report {reference}, which already has back office activity; no new code issued",
            f"Je melding is al bewaard (referentie {reference}) en wordt al behandeld, maar je ontvangstcode kon "
            "niet getoond worden. Vraag het integriteitsteam naar je melding met deze referentie, of maak een "
            "nieuwe melding als je zelf wil opvolgen.",
        )
        self.reference = reference


SUBMISSION_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")


def _sealed_copies(public: PublicKey, fields: dict[str, Any], report_id: str, reference: str,
                   created_at: datetime) -> tuple[dict[str, Any], str]:
    """A new receipt code and the columns that depend on it and on the content: (values, code)."""
    code = receipts.new_code()
    digest, key = receipts.receipt_hash(code), receipts.reporter_key(code)
    content = _pack({"version": CONTENT_VERSION, "report_id": report_id, "reference": reference,
                     "submitted_at": created_at.isoformat(), **fields})
    return {
        "profile_id": fields["profile_id"], "category": fields["category"], "target_actor": fields["preferred_route"],
        "receipt_hash": digest, "content_sealed": crypto.seal(public, content),
        "reporter_key_sealed": crypto.seal(public, key), "content_for_reporter": crypto.secretbox_encrypt(key, content),
    }, code


def _reissue(session: Session, report: Report, fields: dict[str, Any], public: PublicKey) -> SubmittedReport | None:
    """Give a report stored by an earlier attempt of the same submission a new receipt code; commits.

    That attempt never showed its code (the form would have ended), so the code is replaced: new receipt hash,
    reporter key and reporter's copy, and the content is the one confirmed now (it may have been corrected in
    between). The old code's key is unknown, so a report with messages (or taken up by the back office) cannot be
    re-keyed: SubmissionConflict. None on a (practically impossible) receipt hash collision.
    """
    has_messages = session.scalar(select(func.count(ReportMessage.id)).where(ReportMessage.report_id == report.id))
    if report.status != ReportStatus.NIEUW or has_messages:
        session.rollback()
        raise SubmissionConflict(report.reference)
    values, code = _sealed_copies(public, fields, report.id, report.reference, report.created_at)
    for name, value in values.items():
        setattr(report, name, value)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        if not _is_unique_violation(exc):
            raise
        return None
    return SubmittedReport(receipts.format_code(code), report.reference, report.ack_due, report.feedback_due)


def submit_report(
    session: Session, draft: ReportDraft, public_key: bytes | PublicKey, *, submission_id: str | None = None,
    now: datetime | None = None,
) -> SubmittedReport:
    """Validate, encrypt and store a report; commits. Returns the receipt code to show the reporter once.

    SQLite "database is locked" (after the busy timeout) is retried LOCK_RETRIES times with backoff, then
    ReportBusy; a unique collision of receipt hash or reference gets a new code and reference.

    `submission_id` (16-64 characters of A-Z a-z 0-9 _ -, no personal data) makes a retry idempotent: if a report
    with that id exists, an earlier attempt stored it but its code never reached the reporter (the channel crashed
    before the reply), so no second report is stored; the existing one gets a fresh receipt code, which is
    returned (see `_reissue`; SubmissionConflict if the back office already took it up).
    """
    fields = validate_draft(draft)
    if submission_id is not None and not SUBMISSION_ID.fullmatch(submission_id):
        raise ValueError("submission_id must be 16-64 characters of A-Z, a-z, 0-9, '_' or '-'")
    public = _public_key(public_key)
    for _ in range(SUBMIT_ATTEMPTS):
        if submission_id is not None:
            # SQLite: this read already holds the write lock (BEGIN IMMEDIATE) up to the insert's commit.
            # PostgreSQL: a concurrent duplicate fails on the unique column, and the next round finds it here.
            existing = session.scalar(select(Report).where(Report.submission_id == submission_id).with_for_update())
            if existing is not None:
                reissued = _reissue(session, existing, fields, public)
                if reissued is not None:
                    return reissued
                continue
        created_at = now or utcnow()
        report_id, reference = str(uuid.uuid4()), _new_reference(created_at)
        sealed, code = _sealed_copies(public, fields, report_id, reference, created_at)
        ack_due, feedback_due = ack_due_for(created_at), feedback_due_for(created_at, None)
        values = {
            "id": report_id, "reference": reference, "status": ReportStatus.NIEUW, "created_at": created_at,
            "ack_due": ack_due, "feedback_due": feedback_due, "submission_id": submission_id, **sealed,
        }
        if _store_new_report(session, values):
            return SubmittedReport(receipts.format_code(code), reference, ack_due, feedback_due)
    raise ReportBusy(f"Could not store the report: unique values collided {SUBMIT_ATTEMPTS} times")


def _check_throttle(session: Session, key_hash: str, now: datetime) -> None:
    window_start = now - FOLLOW_UP_WINDOW
    failures = session.execute(
        select(func.count(), func.min(FollowUpAttempt.at))
        .where(FollowUpAttempt.key_hash == key_hash, FollowUpAttempt.at > window_start)
    ).one()
    count, oldest = failures
    if count >= FOLLOW_UP_MAX_FAILURES:
        retry_after = int((oldest + FOLLOW_UP_WINDOW - now).total_seconds()) + 1
        raise FollowUpThrottled(max(1, retry_after))


def _record_failure(session: Session, key_hash: str, now: datetime) -> None:
    session.execute(delete(FollowUpAttempt).where(FollowUpAttempt.at <= now - FOLLOW_UP_WINDOW))
    session.add(FollowUpAttempt(key_hash=key_hash, at=now))
    session.commit()


def authenticate_reporter(
    session: Session, code: str, throttle_key: str | None, *, now: datetime | None = None
) -> tuple[str, bytes]:
    """(report id, reporter key) for a receipt code; the key opens the reporter's copies.

    Costs the same Argon2 work for right, wrong and malformed codes (one derivation per call). `throttle_key`
    identifies the sender (Telegram sender id, client IP); it is stored only as a keyed hash, and only for failed
    attempts, which are committed even though the call raises UnknownReceipt. After FOLLOW_UP_MAX_FAILURES
    failures within FOLLOW_UP_WINDOW the key is refused with FollowUpThrottled (before any Argon2 work) until the
    window has passed. `None` skips throttling: only for callers that are not reachable by reporters.
    A success does not commit. Pass the result to `reporter_view` and `add_reporter_message_with_key`.
    """
    now = now or utcnow()
    key_hash = receipts.throttle_hash(throttle_key) if throttle_key is not None else None
    if key_hash is not None:
        _check_throttle(session, key_hash, now)
    digest, key = receipts.derive_both(code)
    # The whole row, not just the id: `reporter_view` and `add_reporter_message_with_key` then find it in the
    # session's identity map instead of loading it again.
    report = session.scalar(select(Report).where(Report.receipt_hash == digest)) if digest else None
    if report is None:
        if key_hash is not None:
            _record_failure(session, key_hash, now)
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
    return report, _unpack(content, report.id)


def reporter_view(session: Session, report_id: str, reporter_key: bytes) -> ReporterView:
    """What the reporter sees: status, dates, their report and the messages; marks the messages read (commits).

    For an already authenticated (report id, reporter key), e.g. from `authenticate_reporter` or a back office
    report token: no throttling here. ReportNotFound if the report is gone, WrongReporterKey if the key does not
    open it.
    """
    report, document = _open_with_key(session, report_id, reporter_key)
    messages = []
    for message in report.messages:
        body = _unpack(crypto.secretbox_decrypt(reporter_key, message.body_for_reporter), report.id)
        messages.append(ReporterMessage(message.author, message.created_at, body["text"],
                                        new=not message.read_by_reporter))
        message.read_by_reporter = True
    view = ReporterView(
        reference=report.reference, status=report.status, created_at=report.created_at,
        acknowledged_at=report.acknowledged_at, feedback_due=report.feedback_due, closed_at=report.closed_at,
        report={k: v for k, v in document.items() if k not in ("version", "report_id")}, messages=messages,
    )
    session.commit()
    return view


def add_reporter_message_with_key(
    session: Session,
    report_id: str,
    reporter_key: bytes,
    text: str,
    *,
    public_key: bytes | PublicKey | None = None,
    now: datetime | None = None,
) -> None:
    """A follow-up message from the reporter for an already authenticated (report id, reporter key); commits.

    ReportValidationError for an empty or too long text, ReportNotFound, WrongReporterKey, ReportClosed.
    """
    body = _text("text", text, "je bericht", MESSAGE_MAX, True)
    now = now or utcnow()
    public = _public_key(public_key)
    report, _ = _open_with_key(session, report_id, reporter_key)
    if report.status == ReportStatus.AFGESLOTEN:
        raise ReportClosed(f"Report {report.reference} is closed; reporter message refused")
    packed = _pack({"report_id": report.id, "text": body})
    session.add(ReportMessage(
        report_id=report.id, author=Author.REPORTER, created_at=now, body_sealed=crypto.seal(public, packed),
        body_for_reporter=crypto.secretbox_encrypt(reporter_key, packed), read_by_backoffice=False,
        read_by_reporter=True,
    ))
    session.commit()


def follow_up(session: Session, code: str, throttle_key: str, *, now: datetime | None = None) -> ReporterView:
    """What the reporter sees with their receipt code: `authenticate_reporter` (throttled), then `reporter_view`."""
    report_id, key = authenticate_reporter(session, code, throttle_key, now=now)
    return reporter_view(session, report_id, key)


def add_reporter_message(
    session: Session,
    code: str,
    text: str,
    *,
    throttle_key: str | None = None,
    public_key: bytes | PublicKey | None = None,
    now: datetime | None = None,
) -> None:
    """A follow-up message from the reporter; commits. Pass `throttle_key` from channels, as for `follow_up`.

    The text and the public key are checked before the code, so a bad text costs no attempt.
    """
    _text("text", text, "je bericht", MESSAGE_MAX, True)
    now = now or utcnow()
    public = _public_key(public_key)
    report_id, key = authenticate_reporter(session, code, throttle_key, now=now)
    add_reporter_message_with_key(session, report_id, key, text, public_key=public, now=now)


# --- back office -----------------------------------------------------------------------------------------------


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
    columns = [getattr(Report, name) for name in (
        "id", "reference", "profile_id", "category", "target_actor", "status", "created_at", "acknowledged_at",
        "ack_due", "feedback_due", "closed_at",
    )]
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
        summary = _with_flags(ReportSummary(*values, unread_messages=unread_count or 0, last_reply_at=last_reply_at),
                              now)
        if not overdue_only or summary.ack_overdue or summary.feedback_overdue:
            summaries.append(summary)
    return summaries


def read_report(
    session: Session, report_id: str, private_key: PrivateKey, *, mark_read: bool = True,
    now: datetime | None = None,
) -> ReportDetail:
    """The decrypted report, messages and status history. Marks the reporter's messages read (commits)."""
    report = _get_report(session, report_id)
    content = _unpack(crypto.unseal(private_key, report.content_sealed), report.id)
    content = {k: v for k, v in content.items() if k not in ("version", "report_id")}
    messages = []
    last_reply_at = None
    for message in report.messages:
        body = _unpack(crypto.unseal(private_key, message.body_sealed), report.id)
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
    if mark_read:
        session.commit()
    return ReportDetail(summary, content, messages, history, close_reason)


def acknowledge(session: Session, report_id: str, *, now: datetime | None = None) -> ReportSummary:
    """Confirm receipt (nieuw -> ontvangen): sets acknowledged_at and moves feedback_due to ack + 3 months."""
    now = now or utcnow()
    report = _get_report(session, report_id)
    if report.acknowledged_at is None:
        _acknowledge(session, report, now)
        session.commit()
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
    public_key: bytes | PublicKey | None = None,
    now: datetime | None = None,
) -> ReportSummary:
    """Move a report to another status (commits). From `nieuw` the report is acknowledged first.

    The reason is sealed to the back office key; for `afgesloten` it is also kept as the close reason.
    `afgesloten` is final.
    """
    now = now or utcnow()
    try:
        target = ReportStatus(to)
    except ValueError:
        raise InvalidStatusChange(f"Unknown status '{to}'; use one of {', '.join(s.value for s in ReportStatus)}") \
            from None
    report = _get_report(session, report_id)
    if report.status == ReportStatus.NIEUW and target != ReportStatus.NIEUW:
        _acknowledge(session, report, now)
    if report.status == target:
        if target == ReportStatus.ONTVANGEN:
            session.commit()
            return _summary(report, now)
        raise InvalidStatusChange(f"Report {report.reference} is already '{target.value}'")
    if target not in ALLOWED_TRANSITIONS[report.status]:
        raise InvalidStatusChange(f"Report {report.reference}: '{report.status.value}' -> '{target.value}' "
                                  "is not allowed")
    cleaned = _text("reason", reason, "de reden", MESSAGE_MAX, False) or None
    sealed = crypto.seal(_public_key(public_key), cleaned.encode("utf-8")) if cleaned else None
    _record_status(session, report, target, ActorRole.BACKOFFICE, now, sealed)
    if target == ReportStatus.AFGESLOTEN:
        report.closed_at = now
        report.close_reason_sealed = sealed
    session.commit()
    return _summary(report, now)


def reply_to_reporter(
    session: Session, report_id: str, text: str, private_key: PrivateKey, *, now: datetime | None = None
) -> None:
    """A message from the back office that the reporter reads with the receipt code (commits).

    The back office never knows the code: it unseals the reporter key stored sealed at submission (as GlobaLeaks
    does) and encrypts the reply with it. A reply to a new report also acknowledges it.
    """
    body = _text("text", text, "het bericht", MESSAGE_MAX, True)
    now = now or utcnow()
    report = _get_report(session, report_id)
    key = crypto.unseal(private_key, report.reporter_key_sealed)
    packed = _pack({"report_id": report.id, "text": body})
    if report.acknowledged_at is None:
        _acknowledge(session, report, now)
    session.add(ReportMessage(
        report_id=report.id, author=Author.BACKOFFICE, created_at=now,
        body_sealed=crypto.seal(private_key.public_key, packed),
        body_for_reporter=crypto.secretbox_encrypt(key, packed), read_by_backoffice=True, read_by_reporter=False,
    ))
    session.commit()


def purge_closed(session: Session, older_than_days: int, *, now: datetime | None = None) -> int:
    """Delete reports closed more than `older_than_days` ago, with their messages and history (commits)."""
    if older_than_days < 0:
        raise ValueError("older_than_days must be 0 or more")
    now = now or utcnow()
    cutoff = now - timedelta(days=older_than_days)
    doomed = select(Report.id).where(Report.status == ReportStatus.AFGESLOTEN, Report.closed_at < cutoff)
    session.execute(delete(ReportMessage).where(ReportMessage.report_id.in_(doomed)))
    session.execute(delete(StatusChange).where(StatusChange.report_id.in_(doomed)))
    deleted = session.execute(delete(Report).where(Report.id.in_(doomed))).rowcount
    session.execute(delete(FollowUpAttempt).where(FollowUpAttempt.at <= now - FOLLOW_UP_WINDOW))
    session.commit()
    return deleted or 0
