"""Per-report keys: every report has its own X25519 key pair; its private key is wrapped per authorised reader.

- `new_keypair()` at submission; the public key is stored on the report (`Report.public_key`), the private key is
  never stored in the clear: it is sealed to each authorised staff member's public key (`ReportKeyGrant`).
- `seal_for_report(report, plaintext)`: what the chat, the follow-up page and the back office write about a report
  (content, messages, notes, close reasons, attachments). The chat side can seal but never open.
- `open_for_reader(session, report, user, user_private_key, ciphertext)`: decrypt for a staff member through
  their grant; `NoAccess` without one (in scope or not: scope is decided by integrity.staff.scope).
- `Reader`: a staff member's id and unlocked private key, which the case work functions take to open a report.
Who gets a grant is decided by integrity.staff.access (scope.readers); nothing here commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from nacl.public import PrivateKey, PublicKey
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from integrity.reports import crypto
from integrity.reports.deadlines import utcnow
from integrity.reports.errors import ReportError
from integrity.reports.models import Report, ReportKeyGrant

if TYPE_CHECKING:
    from integrity.staff.models import StaffUser


class NoAccess(ReportError):
    """The staff member has no wrapped key for this report (or it does not open with their key)."""

    default_user_message = ("Je hebt nog geen sleutel voor deze melding. Een collega die ze kan openen, kan je "
                            "toegang geven.")


class NotMigrated(ReportError):
    """The report is still sealed to the old installation key: run the key migration first."""

    default_user_message = ("Je bericht kan nu niet bewaard worden: de beveiliging van de meldingen wordt omgezet. "
                            "Probeer het over een uur opnieuw.")


@dataclass(frozen=True)
class Reader:
    """A staff member's id and unlocked private key (from the login session)."""

    user_id: int
    private_key: PrivateKey


def new_keypair() -> PrivateKey:
    return PrivateKey.generate()


def public_key_of(report: Report) -> PublicKey:
    if report.public_key is None:
        raise NotMigrated(f"Report {report.reference} is still sealed to the installation key; run "
                          "`python -m integrity.staff migrate-keys`")
    return PublicKey(report.public_key)


def seal_for_report(report: Report, plaintext: bytes) -> bytes:
    """`plaintext` sealed to the report's public key: only readers with a grant can open it."""
    return crypto.seal(public_key_of(report), plaintext)


def wrap(report_private: PrivateKey, user_public: bytes | PublicKey) -> bytes:
    return crypto.seal(user_public, bytes(report_private))


def grant_row(session: Session, report_id: str, user_id: int) -> ReportKeyGrant | None:
    return session.get(ReportKeyGrant, (report_id, user_id))


def has_access(session: Session, report_id: str, user_id: int) -> bool:
    return grant_row(session, report_id, user_id) is not None


def report_private_key(session: Session, report: Report, reader: Reader) -> PrivateKey:
    """The report's private key through `reader`'s grant; NoAccess without a grant that opens.

    NotMigrated for a report still sealed to the old installation key.
    """
    public_key_of(report)
    grant = grant_row(session, report.id, reader.user_id)
    if grant is None:
        raise NoAccess(f"Staff user {reader.user_id} has no key for report {report.reference}")
    try:
        private = PrivateKey(crypto.unseal(reader.private_key, grant.wrapped_key))
    except crypto.DecryptionError:
        raise NoAccess(f"The key of staff user {reader.user_id} does not open report {report.reference}") from None
    if bytes(private.public_key) != report.public_key:
        raise NoAccess(f"The wrapped key of report {report.reference} does not belong to it (tampering?)")
    return private


def open_for_reader(session: Session, report: Report, user: StaffUser, user_private_key: PrivateKey,
                    ciphertext: bytes) -> bytes:
    """Decrypt `ciphertext` (sealed with `seal_for_report`) for staff member `user` with their own private key.

    NoAccess without a grant, crypto.DecryptionError if the ciphertext belongs to another report.
    """
    return crypto.unseal(report_private_key(session, report, Reader(user.id, user_private_key)), ciphertext)


def grant(session: Session, report: Report, report_private: PrivateKey, user_id: int, user_public: bytes,
          *, granted_by: int | None, now: datetime | None = None) -> bool:
    """Wrap the report key for `user_id`. False if they already had it (nothing changes)."""
    if grant_row(session, report.id, user_id) is not None:
        return False
    session.add(ReportKeyGrant(report_id=report.id, user_id=user_id, wrapped_key=wrap(report_private, user_public),
                               granted_by=granted_by, granted_at=now or utcnow()))
    return True


def revoke(session: Session, report_id: str, user_ids: list[int]) -> int:
    """Delete the wrapped keys of these users for the report. Returns how many were deleted."""
    if not user_ids:
        return 0
    doomed = list(session.scalars(select(ReportKeyGrant).where(ReportKeyGrant.report_id == report_id,
                                                               ReportKeyGrant.user_id.in_(user_ids))))
    for row in doomed:
        session.delete(row)
    session.flush()
    return len(doomed)


def revoke_all_of(session: Session, user_id: int) -> int:
    """Delete every wrapped key of one staff member (deactivation, or a new key pair after a lost password)."""
    rows = session.scalars(select(ReportKeyGrant.report_id).where(ReportKeyGrant.user_id == user_id)).all()
    session.execute(delete(ReportKeyGrant).where(ReportKeyGrant.user_id == user_id))
    return len(rows)


def holders(session: Session, report_id: str) -> list[int]:
    return list(session.scalars(select(ReportKeyGrant.user_id).where(ReportKeyGrant.report_id == report_id)
                                .order_by(ReportKeyGrant.user_id)))


def granted_among(session: Session, user_id: int, report_ids: list[str]) -> set[str]:
    """Which of `report_ids` `user_id` holds a key for (one query, for a page of the case list)."""
    if not report_ids:
        return set()
    return set(session.scalars(select(ReportKeyGrant.report_id).where(ReportKeyGrant.user_id == user_id,
                                                                      ReportKeyGrant.report_id.in_(report_ids))))
