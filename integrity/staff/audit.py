"""The audit log: who viewed, changed, exported or decrypted what, and when. Append-only.

Only this module writes to `audit_log`, and only INSERTs; database triggers refuse UPDATE and DELETE (migration
0002). `detail` is English and never contains report content, passwords or codes.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrity.reports.deadlines import utcnow
from integrity.staff.models import AuditEntry, StaffUser

DETAIL_MAX = 300

# action -> meaning (English; the back office shows Dutch labels from its own texts)
ACTIONS = {
    "login": "logged in",
    "login_failed": "failed login (wrong password or second factor)",
    "account_locked": "account locked after repeated failed logins",
    "logout": "logged out",
    "key_unlocked": "opened the staff member's private key for the session",
    "keys_created": "created a staff member's key pair",
    "recovery_key_shown": "showed a new recovery key once",
    "key_recovered": "re-opened the private key with the recovery key or the escrow key",
    "keys_replaced": "new key pair after a reset without recovery key; earlier access lost",
    "access_granted": "gave a staff member the key of a report",
    "access_revoked": "took the key of a report away from a staff member",
    "keys_migrated": "re-sealed the reports from the installation key to per-report keys",
    "report_viewed": "opened and decrypted a report",
    "report_acknowledged": "acknowledged receipt",
    "status_changed": "changed the status",
    "assigned": "assigned the case to a staff member",
    "forwarded": "forwarded the case to an actor",
    "note_added": "added an internal note",
    "reply_sent": "sent a message to the reporter",
    "export": "exported statistics",
    "file_downloaded": "downloaded an evidence file",
    "user_created": "created an account",
    "user_changed": "changed an account",
    "totp_enabled": "turned on the second factor",
    "totp_disabled": "turned off the second factor",
    "password_changed": "changed a password",
    "mail_retried": "queued a notification mail again after delivery had failed",
}


def record(session: Session, action: str, *, user: StaffUser | None = None, username: str | None = None,
           profile_id: str | None = None, report_reference: str | None = None, detail: str = "",
           now: datetime | None = None) -> AuditEntry:
    """Add an entry to the session's transaction: it is stored with the change it records, or not at all."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action '{action}'")
    entry = AuditEntry(
        at=now or utcnow(), user_id=user.id if user else None,
        username=(user.username if user else username or "system")[:64],
        profile_id=profile_id if profile_id is not None else (user.profile_id if user else None),
        action=action, report_reference=report_reference, detail=" ".join(detail.split())[:DETAIL_MAX],
    )
    session.add(entry)
    return entry


def entries(session: Session, *, profile_id: str | None = None, action: str | None = None,
            report_reference: str | None = None, username: str | None = None, before_id: int | None = None,
            limit: int = 100) -> list[AuditEntry]:
    """Newest first. `profile_id` limits to one organisation; None means all (installation admin)."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(max(1, min(limit, 1000)))
    if profile_id is not None:
        query = query.where(AuditEntry.profile_id == profile_id)
    if action:
        query = query.where(AuditEntry.action == action)
    if report_reference:
        query = query.where(AuditEntry.report_reference == report_reference)
    if username:
        query = query.where(AuditEntry.username == username)
    if before_id is not None:
        query = query.where(AuditEntry.id < before_id)
    return list(session.scalars(query))
