"""Storing a new report: validated, sealed, with a receipt code that is shown to the reporter once.

Every report gets its own key pair (`report_keys`): the content and the reporter key are sealed to its public key,
and its private key is wrapped for every staff member who may read it (`integrity.staff.access.grant_readers`)
and then forgotten, so the chat side cannot read back what it stored.

`submit_report` does not commit: the caller commits (`db.run` also retries a SQLite lock), and shows the receipt
code only after that commit.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from nacl.public import PrivateKey, PublicKey
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from integrity.notifications import events
from integrity.reports import crypto, receipts, report_keys, sealed
from integrity.reports.deadlines import ack_due_for, feedback_due_for, utcnow
from integrity.reports.errors import ReportBusy, SubmissionConflict
from integrity.reports.models import ActorRole, Report, ReportMessage, ReportStatus, StatusChange
from integrity.reports.schemas import ReportDraft, SubmittedReport
from integrity.reports.validation import validate_draft
from integrity.staff import access

SUBMIT_ATTEMPTS = 4  # new receipt code and reference after a (practically impossible) unique collision
REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O or 1/I confusion
SUBMISSION_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")


def new_reference(now: datetime) -> str:
    return f"M-{now.year}-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


def is_unique_violation(exc: IntegrityError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(exc.orig)


def _saved(session: Session, change: Callable[[], None]) -> bool:
    """Make `change` and flush it in a savepoint; False, with the savepoint undone, on a unique clash."""
    try:
        with session.begin_nested():
            change()
        return True
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        return False


def _sealed_copies(public: PublicKey, fields: dict[str, Any], report_id: str, reference: str,
                   created_at: datetime) -> tuple[dict[str, Any], str]:
    """A new receipt code and the columns that depend on it and on the content: (values, code)."""
    code = receipts.new_code()
    digest, key = receipts.receipt_hash(code), receipts.reporter_key(code)
    content = sealed.pack({"version": sealed.CONTENT_VERSION, "report_id": report_id, "reference": reference,
                           "submitted_at": created_at.isoformat(), **fields})
    return {
        "profile_id": fields["profile_id"], "category": fields["category"], "target_actor": fields["preferred_route"],
        "receipt_hash": digest, "content_sealed": crypto.seal(public, content),
        "reporter_key_sealed": crypto.seal(public, key), "content_for_reporter": crypto.secretbox_encrypt(key, content),
    }, code


def _reissue(session: Session, report: Report, fields: dict[str, Any]) -> SubmittedReport | None:
    """Give a report stored by an earlier attempt of the same submission a new receipt code.

    That attempt never showed its code (the form would have ended), so the code is replaced: new receipt hash,
    reporter key and reporter's copy, and the content is the one confirmed now (it may have been corrected in
    between). The old code's key is unknown, so a report with messages (or taken up by the back office) cannot be
    re-keyed: SubmissionConflict. None on a (practically impossible) receipt hash collision.
    """
    has_messages = session.scalar(select(func.count(ReportMessage.id)).where(ReportMessage.report_id == report.id))
    if report.status != ReportStatus.NIEUW or has_messages:
        raise SubmissionConflict(report.reference)
    values, code = _sealed_copies(report_keys.public_key_of(report), fields, report.id, report.reference,
                                  report.created_at)

    def rekey() -> None:
        for name, value in values.items():
            setattr(report, name, value)

    if not _saved(session, rekey):  # the savepoint's rollback expires the report: it reloads the stored values
        return None
    return SubmittedReport(receipts.format_code(code), report.reference, report.ack_due, report.feedback_due)


def _store(session: Session, report: Report, first: StatusChange, report_private: PrivateKey,
           now: datetime) -> None:
    session.add_all([report, first])
    session.flush()
    access.grant_readers(session, report, report_private, now=now)


def submit_report(
    session: Session, draft: ReportDraft, *, submission_id: str | None = None, now: datetime | None = None,
) -> SubmittedReport:
    """Validate, encrypt and add a report. Returns the receipt code to show the reporter once, after the commit.

    The report key is wrapped for everyone in scope with a key pair (`access.grant_readers`); if nobody in scope
    has one yet, the report waits for the escrow key or stays unreadable (see docs/security.md).

    A unique collision of receipt hash or reference gets a new code and reference (in a savepoint).

    `submission_id` (16-64 characters of A-Z a-z 0-9 _ -, no personal data) makes a retry idempotent: if a report
    with that id exists, an earlier attempt stored it but its code never reached the reporter (the channel crashed
    before the reply), so no second report is stored; the existing one gets a fresh receipt code, which is
    returned (see `_reissue`; SubmissionConflict if the back office already took it up).

    A new report also records a `new_report` notification event in the same transaction (not a reissue: its
    event was stored with the first attempt).
    """
    fields = validate_draft(draft)
    if submission_id is not None and not SUBMISSION_ID.fullmatch(submission_id):
        raise ValueError("submission_id must be 16-64 characters of A-Z, a-z, 0-9, '_' or '-'")
    for _ in range(SUBMIT_ATTEMPTS):
        if submission_id is not None:
            # SQLite: this read already holds the write lock (BEGIN IMMEDIATE) up to the commit.
            # PostgreSQL: a concurrent duplicate fails on the unique column, and the next round finds it here.
            existing = session.scalar(select(Report).where(Report.submission_id == submission_id).with_for_update())
            if existing is not None:
                reissued = _reissue(session, existing, fields)
                if reissued is not None:
                    return reissued
                continue
        created_at = now or utcnow()
        report_id, reference = str(uuid.uuid4()), new_reference(created_at)
        report_private: PrivateKey = report_keys.new_keypair()
        values, code = _sealed_copies(report_private.public_key, fields, report_id, reference, created_at)
        ack_due, feedback_due = ack_due_for(created_at), feedback_due_for(created_at, None)
        report = Report(id=report_id, reference=reference, status=ReportStatus.NIEUW, created_at=created_at,
                        ack_due=ack_due, feedback_due=feedback_due, submission_id=submission_id,
                        public_key=bytes(report_private.public_key), **values)
        first = StatusChange(report_id=report_id, from_status=None, to_status=ReportStatus.NIEUW, at=created_at,
                             actor_role=ActorRole.REPORTER)
        if _saved(session, partial(_store, session, report, first, report_private, created_at)):
            events.enqueue_new_report(session, report_id, now=created_at)  # the staff's mail, in this transaction
            return SubmittedReport(receipts.format_code(code), reference, ack_due, feedback_due)
    raise ReportBusy(f"Could not store the report: unique values collided {SUBMIT_ATTEMPTS} times")
