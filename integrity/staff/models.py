"""Tables of the back office: staff accounts and sessions, case notes, the audit log and conversation counts.

They share the report store's metadata (`integrity.orm.Base`), so one Alembic history covers both.
Privacy: nothing here identifies a reporter. Case notes are sealed to the report's key like the report. The
audit log names staff members and report references, never report content. Conversation counts hold no text and
no sender, only (day, organisation, event, topic) -> count.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from integrity.orm import Base, enum_column


class Role(str, enum.Enum):
    ADMIN = "admin"  # manages accounts and sees the audit log; reads no reports
    COORDINATOR = "coordinator"  # every report of their organisation
    HANDLER = "handler"  # only reports assigned to them or forwarded to their actor


class NotifyMode(str, enum.Enum):
    """How a staff member gets notification mails (integrity.notifications)."""

    IMMEDIATE = "immediate"  # one mail per event, at most NOTIFY_HOURLY_CAP an hour (the rest in a digest)
    DAILY = "daily"  # one digest a day
    OFF = "off"  # no mails; the back office still shows badges and the overdue list


class StaffUser(Base):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(enum_column(Role, "staff_role"))
    # The organisation profile; None only for an installation-wide admin.
    profile_id: Mapped[str | None] = mapped_column(String(64), index=True)
    # For handlers: the actor (route id from the profile) whose forwarded reports they see.
    actor: Mapped[str | None] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(200))
    totp_secret_box: Mapped[bytes | None]  # encrypted with a key derived from the back office secret
    # The 30-second step of the last second-factor code accepted: a code (or an older one) is never accepted twice.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]
    # Coordinators and handlers: an X25519 key pair (integrity.staff.user_keys). The private key is encrypted
    # under a key derived from the password (Argon2id), and under the recovery key shown once; after an admin's
    # password reset `private_key_box` is None until the recovery key re-opens it. `escrow_box`: the private key
    # sealed to the optional escrow key (off by default).
    public_key: Mapped[bytes | None]
    private_key_box: Mapped[bytes | None]
    recovery_box: Mapped[bytes | None]
    escrow_box: Mapped[bytes | None]
    # Where notification mails go (none: no mails) and how often (NotifyMode).
    email: Mapped[str | None] = mapped_column(String(254))
    notify_mode: Mapped[NotifyMode] = mapped_column(enum_column(NotifyMode, "notify_mode"),
                                                    default=NotifyMode.IMMEDIATE)


class StaffSession(Base):
    """A login. `id` is the SHA-256 of the random token in the cookie, so the table alone opens no session.

    `key_box` holds the staff member's private key, opened with their password at login, encrypted with a second
    random key that lives only in the cookie: a copy of the database does not reveal the private key.
    `recovery_box`: a new recovery key waiting to be shown once, encrypted the same way.
    """

    __tablename__ = "staff_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    second_factor_done: Mapped[bool] = mapped_column(Boolean, default=False)
    key_box: Mapped[bytes | None]
    recovery_box: Mapped[bytes | None]


class CaseNote(Base):
    """An internal note on a report: for the back office only, never shown to the reporter."""

    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[str] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
    body_sealed: Mapped[bytes]


class AuditEntry(Base):
    """Append-only (database triggers refuse UPDATE and DELETE). No foreign keys: entries outlive purged reports."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    user_id: Mapped[int | None]
    username: Mapped[str] = mapped_column(String(64))  # a snapshot: "system" or "cli:<name>" for non-web actions
    profile_id: Mapped[str | None] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(40), index=True)
    report_reference: Mapped[str | None] = mapped_column(String(20), index=True)
    detail: Mapped[str] = mapped_column(String(300), default="")  # English, never report content


class ConversationCount(Base):
    """Per day and organisation: how often the bot saw an event (topic answered, fallback, hand-over, ...)."""

    __tablename__ = "conversation_counts"
    __table_args__ = (UniqueConstraint("day", "profile_id", "event", "topic"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    day: Mapped[date] = mapped_column(Date)
    profile_id: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(32))
    topic: Mapped[str] = mapped_column(String(64), default="")
    count: Mapped[int] = mapped_column(Integer, default=0)
