"""Staff and evidence files: a download is allowed by the scope rules and audited in the same transaction."""

from __future__ import annotations

from nacl.public import PrivateKey
from sqlalchemy.orm import Session

from integrity.reports import evidence
from integrity.reports.evidence import FileInfo
from integrity.staff import audit, cases
from integrity.staff.models import StaffUser


def download(session: Session, user: StaffUser, reference: str, file_id: int,
             private_key: PrivateKey) -> tuple[FileInfo, bytes]:
    """One file of a report `user` may read, decrypted; the download is audited (committed with the caller's
    transaction, so no file leaves without its audit entry). ReportNotFound for an unknown or out-of-scope
    report or file alike; report_keys.NoAccess if `user` has no wrapped key for the report (nothing audited)."""
    report = cases.find(session, user, reference)
    info, data = evidence.read_file(session, report, file_id, user, private_key)
    audit.record(session, "file_downloaded", user=user, report_reference=report.reference,
                 detail=f"{info.filename} ({info.media_type}, {info.size} bytes)")
    return info, data
