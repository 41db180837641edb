"""From the installation key to per-report keys: `python -m integrity.staff migrate-keys`.

With the old installation private key (opened once with the old passphrase), every report still sealed to it
(`Report.public_key` is NULL) gets its own key pair: its content, reporter key, close reason, status reasons,
messages, case notes and evidence files (`report_files`, sealed whole with the report id inside) are re-sealed
to the new public key, and the new private key is wrapped for every staff member in scope who has a key pair
(`access.grant_readers`). All in the caller's transaction; the CLI commits, and only then destroys the old
private key file (`installation_key.destroy`).

Staff members get their key pair at their first login after the upgrade (or when their account is created), so
let every coordinator log in once before migrating. A report that nobody could read afterwards stops the
migration (MigrationBlocked, nothing changed) unless `allow_unreadable`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from nacl.public import PrivateKey, PublicKey
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from integrity.reports import crypto, report_keys
from integrity.reports.deadlines import utcnow
from integrity.reports.models import Report, ReportFile, ReportMessage, StatusChange
from integrity.staff import access, audit
from integrity.staff.models import CaseNote


class MigrationBlocked(RuntimeError):
    """Some reports would have no reader with a key: nothing was changed."""


@dataclass
class MigrationResult:
    reports: int = 0
    messages: int = 0
    notes: int = 0
    status_reasons: int = 0
    files: int = 0
    grants: int = 0
    unreadable: list[str] = field(default_factory=list)  # references with no wrapped key (allow_unreadable)
    waiting: dict[str, list[str]] = field(default_factory=dict)  # username -> references they wait for


def _reseal(old: PrivateKey, new: PublicKey, ciphertext: bytes, what: str) -> bytes:
    try:
        return crypto.seal(new, crypto.unseal(old, ciphertext))
    except crypto.DecryptionError:
        raise crypto.DecryptionError(f"{what} does not open with the installation key") from None


def _migrate_one(session: Session, report: Report, old: PrivateKey, result: MigrationResult,
                 now: datetime) -> None:
    private = report_keys.new_keypair()
    public = private.public_key
    what = f"Report {report.reference}"
    report.content_sealed = _reseal(old, public, report.content_sealed, what)
    report.reporter_key_sealed = _reseal(old, public, report.reporter_key_sealed, what)
    if report.close_reason_sealed is not None:
        report.close_reason_sealed = _reseal(old, public, report.close_reason_sealed, what)
    for message in session.scalars(select(ReportMessage).where(ReportMessage.report_id == report.id)):
        message.body_sealed = _reseal(old, public, message.body_sealed, f"{what}, message {message.id}")
        result.messages += 1
    for status in session.scalars(select(StatusChange).where(StatusChange.report_id == report.id,
                                                             StatusChange.reason_sealed.is_not(None))):
        status.reason_sealed = _reseal(old, public, status.reason_sealed or b"", f"{what}, status reason")
        result.status_reasons += 1
    for note in session.scalars(select(CaseNote).where(CaseNote.report_id == report.id)):
        note.body_sealed = _reseal(old, public, note.body_sealed, f"{what}, note {note.id}")
        result.notes += 1
    for file in session.scalars(select(ReportFile).where(ReportFile.report_id == report.id)):
        # The sealed plaintext keeps its report-id prefix (integrity.reports.evidence._seal_file): re-sealed whole.
        file.content_sealed = _reseal(old, public, file.content_sealed, f"{what}, file {file.id}")
        result.files += 1
    report.public_key = bytes(public)
    session.flush()
    change = access.grant_readers(session, report, private, now=now, require_one=False)
    result.grants += len(change.granted)
    if not change.granted:
        result.unreadable.append(report.reference)
    for user in change.waiting:
        result.waiting.setdefault(user.username, []).append(report.reference)
    result.reports += 1


def migrate(session: Session, old_private: PrivateKey, *, allow_unreadable: bool = False,
            operator: str = "cli", now: datetime | None = None) -> MigrationResult:
    """Re-seal every report still on the installation key to its own key, in the session's transaction."""
    now = now or utcnow()
    if session.get_bind().dialect.name == "postgresql":
        # No report, message or note sealed to the old key behind our back until the commit.
        session.execute(text("LOCK TABLE reports, report_messages, status_changes, case_notes, report_files "
                             "IN EXCLUSIVE MODE"))
    result = MigrationResult()
    for report in session.scalars(select(Report).where(Report.public_key.is_(None))
                                  .order_by(Report.created_at, Report.id)).all():
        _migrate_one(session, report, old_private, result, now)
    if result.unreadable and not allow_unreadable:
        waiting = ", ".join(sorted(result.waiting)) or "none: create coordinator accounts first"
        raise MigrationBlocked(
            f"{len(result.unreadable)} report(s) would have no reader with a key pair (e.g. "
            f"{', '.join(result.unreadable[:5])}). Let the staff in scope log in once so that their key pair is "
            f"made (staff in scope without one: {waiting}), then run the migration again. Nothing was changed.")
    audit.record(session, "keys_migrated", username=operator, now=now,
                 detail=f"{result.reports} reports, {result.messages} messages, {result.notes} notes, "
                        f"{result.files} files, {result.grants} wrapped keys; {len(result.unreadable)} unreadable")
    return result
