"""Evidence files of a report: limits, the pending files of a chat, attaching them, reading them back.

Every encryption and decryption of a report's file bytes is in `_seal_file` and `_open_file`: an X25519 sealed
box to the report's own key, like the report content (`integrity.reports.report_keys`), so only staff with a
wrapped key for the report can open a file. Files sent in a chat before the report (or the follow-up message)
exists are kept as `PendingFile` rows, encrypted with a key derived from the chat's pseudonymous sender id
(`_pending_key`, independent of the report key), which only the channel and the action server know; the action
server attaches them to the report in the same transaction that stores the report or the message, so a confirmed report
never loses a file it was sent with. Nothing is ever written in plaintext: uploads are read into memory under
`MAX_FILE_BYTES`, cleaned (`integrity.reports.metadata`) and encrypted before the row is added.

Nothing here commits: the caller's unit of work does (`integrity.reports.db`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from nacl.public import PrivateKey
from sqlalchemy import CursorResult, delete, func, select
from sqlalchemy.orm import Session

from integrity.notifications import events
from integrity.reports import crypto, metadata, report_keys, submission
from integrity.reports.deadlines import utcnow
from integrity.reports.errors import FileRefused, ReportClosed, ReportError, ReportNotFound
from integrity.reports.filetypes import KINDS
from integrity.reports.metadata import Cleaned
from integrity.reports.models import PendingFile, Report, ReportFile, ReportStatus
from integrity.reports.schemas import ReportDraft, SubmittedReport

if TYPE_CHECKING:
    from integrity.staff.models import StaffUser

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_FILES_PER_REPORT = 10
REPORT_QUOTA_BYTES = 40 * 1024 * 1024
PENDING_TTL = timedelta(hours=6)

EMPTY_FILE = "Dit bestand is leeg. Kies een ander bestand."
TOO_BIG = "Dit bestand is te groot. Een bestand mag hoogstens {limit} MB zijn."
TOO_MANY = "Je kan hoogstens {limit} bestanden bij een melding voegen. Dit bestand is niet toegevoegd."
OVER_QUOTA = ("Samen zijn je bestanden te groot: een melding kan hoogstens {limit} MB aan bestanden hebben. Dit "
              "bestand is niet toegevoegd.")
WAITING = ("Het wordt bij je melding gevoegd wanneer je die verstuurt (of bij je opvolging, nadat je je "
           "ontvangstcode gaf). Bestanden die je niet verstuurt, worden na enkele uren gewist.")


@dataclass(frozen=True)
class FileInfo:
    """What is known about a stored file without decrypting it."""

    id: int
    created_at: datetime
    size: int
    media_type: str
    label: str  # Dutch kind, e.g. "foto (JPEG)"
    metadata_summary: str

    @property
    def filename(self) -> str:
        extension = KINDS[self.media_type].extension if self.media_type in KINDS else "bin"
        return f"bestand-{self.id}.{extension}"


@dataclass(frozen=True)
class Attached:
    attached: int  # files attached to the report now
    left: int  # pending files that did not fit the report's limits (they stay until they expire)


# --- the one place where a report's file bytes are encrypted and decrypted -------------------------------------


def _seal_file(report: Report, data: bytes) -> bytes:
    """`data` encrypted for the readers of `report`, bound to the report's id.

    A sealed box to the report's own public key (`report_keys.seal_for_report`): only staff with a wrapped key
    for the report can open it. This and `_open_file` are the only functions that encrypt or decrypt stored file
    bytes (the key migration re-seals them whole, prefix included).
    """
    return report_keys.seal_for_report(report, report.id.encode("ascii") + b"\n" + data)


def _open_file(session: Session, report: Report, blob: bytes, user: StaffUser, private_key: PrivateKey) -> bytes:
    """The bytes of a file sealed by `_seal_file` for `report`, opened through `user`'s grant.

    report_keys.NoAccess without a grant, DecryptionError or ReportError if the blob is not this report's.
    """
    plain = report_keys.open_for_reader(session, report, user, private_key, blob)
    prefix = report.id.encode("ascii") + b"\n"
    if not plain.startswith(prefix):
        raise ReportError(f"A stored file of report {report.reference} belongs to another report (tampering?)")
    return plain[len(prefix):]


# --- checks ----------------------------------------------------------------------------------------------------


def _mb(size: int) -> int:
    return size // (1024 * 1024)


def prepare(data: bytes, *, strip_metadata: bool = True) -> Cleaned:
    """Check an upload (size, type on the bytes, damage, zip bomb) and remove its metadata unless asked not to.

    FileRefused with a Dutch message for anything that cannot be kept.
    """
    if not data:
        raise FileRefused("empty file", EMPTY_FILE)
    if len(data) > MAX_FILE_BYTES:
        raise FileRefused(f"{len(data)} bytes", TOO_BIG.format(limit=_mb(MAX_FILE_BYTES)))
    cleaned = metadata.clean(data, strip=strip_metadata)
    if len(cleaned.data) > MAX_FILE_BYTES:  # a re-encoded image can grow a little
        raise FileRefused(f"{len(cleaned.data)} bytes after cleaning", TOO_BIG.format(limit=_mb(MAX_FILE_BYTES)))
    return cleaned


def describe(cleaned: Cleaned) -> str:
    """What the reporter is told about a file that was accepted (Dutch): kind, size and the metadata summary."""
    size = len(cleaned.data)
    shown = f"{size / (1024 * 1024):.1f} MB".replace(".", ",") if size >= 1024 * 1024 else f"{max(1, size // 1024)} kB"
    return f"Bestand ontvangen: {cleaned.kind.label}, {shown}. Metadata: {cleaned.summary()}."


def _check_room(count: int, total: int, size: int) -> None:
    if count >= MAX_FILES_PER_REPORT:
        raise FileRefused(f"already {count} files", TOO_MANY.format(limit=MAX_FILES_PER_REPORT))
    if total + size > REPORT_QUOTA_BYTES:
        raise FileRefused(f"{total} + {size} bytes over the quota", OVER_QUOTA.format(limit=_mb(REPORT_QUOTA_BYTES)))


def _report_usage(session: Session, report_id: str) -> tuple[int, int]:
    count, total = session.execute(
        select(func.count(ReportFile.id), func.coalesce(func.sum(ReportFile.size), 0))
        .where(ReportFile.report_id == report_id)).one()
    return int(count), int(total)


# --- files of an existing report -------------------------------------------------------------------------------


def _open_report(session: Session, report_id: str) -> Report:
    report = session.get(Report, report_id)
    if report is None:
        raise ReportNotFound(f"No report with id {str(report_id)[:60]} (purged?)")
    if report.status == ReportStatus.AFGESLOTEN:
        raise ReportClosed(f"Report {report.reference} is closed; file refused")
    return report


def _store(session: Session, report: Report, data: bytes, media_type: str, summary: str, now: datetime) -> None:
    session.add(ReportFile(report_id=report.id, created_at=now, size=len(data), media_type=media_type,
                           metadata_summary=summary[:300], content_sealed=_seal_file(report, data)))


def add_file(session: Session, report_id: str, cleaned: Cleaned, *, now: datetime | None = None) -> None:
    """Store a prepared file with an existing report (the follow-up page, after the receipt code).

    The staff are told as for a reporter's message (a `reporter_message` notification event, same transaction).
    FileRefused over the count or quota, ReportNotFound, ReportClosed.
    """
    report = _open_report(session, report_id)
    count, total = _report_usage(session, report.id)
    _check_room(count, total, len(cleaned.data))
    now = now or utcnow()
    _store(session, report, cleaned.data, cleaned.kind.media_type, cleaned.summary(), now)
    events.enqueue_reporter_message(session, report.id, now=now)
    session.flush()


def list_files(session: Session, report_id: str) -> list[FileInfo]:
    """The files of a report, oldest first, without their bytes."""
    rows = session.execute(
        select(ReportFile.id, ReportFile.created_at, ReportFile.size, ReportFile.media_type,
               ReportFile.metadata_summary).where(ReportFile.report_id == report_id)
        .order_by(ReportFile.created_at, ReportFile.id))
    return [FileInfo(id, at, size, media, KINDS[media].label if media in KINDS else media, summary)
            for id, at, size, media, summary in rows]


def read_file(session: Session, report: Report, file_id: int, user: StaffUser,
              private_key: PrivateKey) -> tuple[FileInfo, bytes]:
    """One file of `report`, decrypted for `user`; ReportNotFound if the report has no file with that id,
    report_keys.NoAccess if `user` has no wrapped key for the report."""
    file = session.get(ReportFile, file_id)
    if file is None or file.report_id != report.id:
        raise ReportNotFound(f"Report {report.reference} has no file {file_id}")
    info = FileInfo(file.id, file.created_at, file.size, file.media_type,
                    KINDS[file.media_type].label if file.media_type in KINDS else file.media_type,
                    file.metadata_summary)
    return info, _open_file(session, report, file.content_sealed, user, private_key)


# --- pending files of a chat -----------------------------------------------------------------------------------


def _owner_hash(owner: str) -> str:
    return hashlib.blake2b(owner.encode("utf-8"), digest_size=32, person=b"pending-owner").hexdigest()


def _pending_key(owner: str) -> bytes:
    return hashlib.blake2b(owner.encode("utf-8"), digest_size=32, person=b"pending-key").digest()


def _live_pending(session: Session, owner: str, now: datetime) -> list[PendingFile]:
    return list(session.scalars(
        select(PendingFile).where(PendingFile.owner_hash == _owner_hash(owner),
                                  PendingFile.created_at > now - PENDING_TTL)
        .order_by(PendingFile.created_at, PendingFile.id)))


def stage(session: Session, owner: str, cleaned: Cleaned, *, now: datetime | None = None) -> int:
    """Keep a prepared file for the chat `owner` (its pseudonymous sender id) until a report or message takes it.

    Returns how many files are now waiting; FileRefused over the count or quota of one report.
    """
    now = now or utcnow()
    waiting = _live_pending(session, owner, now)
    _check_room(len(waiting), sum(file.size for file in waiting), len(cleaned.data))
    session.add(PendingFile(owner_hash=_owner_hash(owner), created_at=now, size=len(cleaned.data),
                            media_type=cleaned.kind.media_type, metadata_summary=cleaned.summary()[:300],
                            content_encrypted=crypto.secretbox_encrypt(_pending_key(owner), cleaned.data)))
    session.flush()
    return len(waiting) + 1


def pending(session: Session, owner: str, *, now: datetime | None = None) -> list[FileInfo]:
    """The files waiting for the chat `owner`, without their bytes."""
    return [FileInfo(file.id, file.created_at, file.size, file.media_type,
                     KINDS[file.media_type].label if file.media_type in KINDS else file.media_type,
                     file.metadata_summary) for file in _live_pending(session, owner, now or utcnow())]


def discard_pending(session: Session, owner: str) -> int:
    """Forget every file waiting for the chat `owner` (the reporter cancelled or reset the conversation)."""
    result = session.execute(delete(PendingFile).where(PendingFile.owner_hash == _owner_hash(owner)))
    return cast(CursorResult[Any], result).rowcount or 0


def attach_pending(session: Session, report_id: str, owner: str, *, now: datetime | None = None,
                   notify: bool = False) -> Attached:
    """Move the files waiting for the chat `owner` to the report, in the caller's transaction.

    `notify`: files added to an existing report without a message (a follow-up) record a `reporter_message`
    notification event if any file was attached; with a new report or a message that event exists already.

    Files over the report's count or quota stay pending (and expire); the caller tells the reporter.
    ReportNotFound, ReportClosed (nothing is attached to a closed report).
    """
    now = now or utcnow()
    report = _open_report(session, report_id)
    count, total = _report_usage(session, report.id)
    attached = left = 0
    key = _pending_key(owner)
    for file in _live_pending(session, owner, now):
        if count >= MAX_FILES_PER_REPORT or total + file.size > REPORT_QUOTA_BYTES:
            left += 1
            continue
        data = crypto.secretbox_decrypt(key, file.content_encrypted)
        _store(session, report, data, file.media_type, file.metadata_summary, now)
        session.delete(file)
        count, total, attached = count + 1, total + file.size, attached + 1
    if notify and attached:
        events.enqueue_reporter_message(session, report.id, now=now)
    session.flush()
    return Attached(attached, left)


def purge_expired_pending(session: Session, *, now: datetime | None = None) -> int:
    """Delete pending files older than PENDING_TTL (the retention job runs this)."""
    cutoff = (now or utcnow()) - PENDING_TTL
    result = session.execute(delete(PendingFile).where(PendingFile.created_at <= cutoff))
    return cast(CursorResult[Any], result).rowcount or 0


def submit_with_files(session: Session, draft: ReportDraft, owner: str, *,
                      submission_id: str | None = None) -> tuple[SubmittedReport, Attached]:
    """`submission.submit_report`, then the chat's pending files attached, in the caller's one transaction.

    errors.NoReaders as `submit_report` (nothing stored, the files stay pending).
    """
    submitted = submission.submit_report(session, draft, submission_id=submission_id)
    report_id = session.scalar(select(Report.id).where(Report.reference == submitted.reference))
    assert report_id is not None
    return submitted, attach_pending(session, report_id, owner)
