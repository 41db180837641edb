"""Tables for anonymous reports.

Privacy rule: no column holds anything that identifies the reporter (no Telegram or chat id, username, name,
phone, e-mail or IP address). Contact details the reporter chooses to leave live only inside the sealed content.
Everything the reporter wrote is stored twice, both encrypted: sealed to the report's own public key (`*_sealed`,
`public_key`; its private key is wrapped per authorised staff member in `report_key_grants`) and encrypted with the
key derived from the receipt code (`*_for_reporter`).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from integrity.orm import Base, enum_column


class ReportStatus(str, enum.Enum):
    NIEUW = "nieuw"
    ONTVANGEN = "ontvangen"
    IN_BEHANDELING = "in_behandeling"
    DOORVERWEZEN = "doorverwezen"
    AFGESLOTEN = "afgesloten"


class Author(str, enum.Enum):
    REPORTER = "reporter"
    BACKOFFICE = "backoffice"


class ActorRole(str, enum.Enum):
    REPORTER = "reporter"
    BACKOFFICE = "backoffice"
    SYSTEM = "system"


class Report(Base):
    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_profile_id_created_at", "profile_id", "created_at"),
        # Covers the back office case list (integrity.staff.cases): scope, filters and sort read only this index.
        Index("ix_reports_case_list", "profile_id", "status", "acknowledged_at", "ack_due", "feedback_due",
              "created_at", "category", "target_actor", "assignee_id", "id"),
    )

    id: Mapped[str] = mapped_column(Uuid(as_uuid=False), primary_key=True, default=lambda: str(uuid.uuid4()))
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    profile_id: Mapped[str] = mapped_column(String(64), index=True)
    category: Mapped[str] = mapped_column(String(64))
    target_actor: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[ReportStatus] = mapped_column(enum_column(ReportStatus, "report_status"), index=True)
    created_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    ack_due: Mapped[datetime]
    feedback_due: Mapped[datetime]
    closed_at: Mapped[datetime | None] = mapped_column(index=True)
    close_reason_sealed: Mapped[bytes | None]
    receipt_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    content_sealed: Mapped[bytes]
    content_for_reporter: Mapped[bytes]
    reporter_key_sealed: Mapped[bytes]
    # The report's X25519 public key (integrity.reports.report_keys). None only for a report of an installation
    # that still awaits the key migration (sealed to the old installation key).
    public_key: Mapped[bytes | None]
    # Back office: the staff member the case is assigned to (None: the organisation's coordinators).
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), index=True
    )
    # Idempotency: the chat's submission id, so a retried submission cannot store the report twice.
    submission_id: Mapped[str | None] = mapped_column(String(64), unique=True)

    messages: Mapped[list[ReportMessage]] = relationship(
        back_populates="report", cascade="all, delete-orphan", passive_deletes=True,
        order_by="(ReportMessage.created_at, ReportMessage.id)",
    )
    status_changes: Mapped[list[StatusChange]] = relationship(
        back_populates="report", cascade="all, delete-orphan", passive_deletes=True,
        order_by="(StatusChange.at, StatusChange.id)",
    )


class ReportMessage(Base):
    __tablename__ = "report_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[str] = mapped_column(
        Uuid(as_uuid=False), ForeignKey("reports.id", ondelete="CASCADE"), index=True
    )
    author: Mapped[Author] = mapped_column(enum_column(Author, "message_author"))
    created_at: Mapped[datetime]
    body_sealed: Mapped[bytes]
    body_for_reporter: Mapped[bytes]
    read_by_backoffice: Mapped[bool] = mapped_column(Boolean, default=False)
    read_by_reporter: Mapped[bool] = mapped_column(Boolean, default=False)

    report: Mapped[Report] = relationship(back_populates="messages")


class StatusChange(Base):
    __tablename__ = "status_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[str] = mapped_column(
        Uuid(as_uuid=False), ForeignKey("reports.id", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[ReportStatus | None] = mapped_column(enum_column(ReportStatus, "from_status"))
    to_status: Mapped[ReportStatus] = mapped_column(enum_column(ReportStatus, "to_status"))
    at: Mapped[datetime]
    actor_role: Mapped[ActorRole] = mapped_column(enum_column(ActorRole, "actor_role"))
    reason_sealed: Mapped[bytes | None]

    report: Mapped[Report] = relationship(back_populates="status_changes")


class FollowUpAttempt(Base):
    """A failed follow-up attempt, for throttling. `key_hash` is a keyed hash, never a raw sender id or IP."""

    __tablename__ = "follow_up_attempts"
    __table_args__ = (Index("ix_follow_up_attempts_key_hash_at", "key_hash", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]



class ReportKeyGrant(Base):
    """The report's private key, sealed to one staff member's public key: who can read the report.

    Assign and forward add grants, unassign and deactivation delete them (integrity.staff.access); a colleague
    who has access can grant it to someone in scope. No row: that staff member cannot decrypt the report.
    """

    __tablename__ = "report_key_grants"

    report_id: Mapped[str] = mapped_column(
        Uuid(as_uuid=False), ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True,
                                         index=True)
    wrapped_key: Mapped[bytes]
    granted_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    granted_at: Mapped[datetime]


class ReportFile(Base):
    """An evidence file of a report, sealed whole (`integrity.reports.evidence`); no file name is kept."""

    __tablename__ = "report_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[str] = mapped_column(
        Uuid(as_uuid=False), ForeignKey("reports.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime]
    size: Mapped[int]  # bytes of the stored (cleaned) file
    media_type: Mapped[str] = mapped_column(String(100))
    metadata_summary: Mapped[str] = mapped_column(String(300))  # Dutch, labels only ("verwijderd: GPS-locatie")
    content_sealed: Mapped[bytes]


class PendingFile(Base):
    """A file sent in a chat before its report or follow-up message exists (attached by the action server).

    `owner_hash` is a hash of the chat's pseudonymous sender id and the content is encrypted with a key derived
    from that sender id, which only the channel and the action server know; expired rows are purged.
    """

    __tablename__ = "pending_files"
    __table_args__ = (Index("ix_pending_files_owner_hash_created_at", "owner_hash", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    owner_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(index=True)
    size: Mapped[int]
    media_type: Mapped[str] = mapped_column(String(100))
    metadata_summary: Mapped[str] = mapped_column(String(300))
    content_encrypted: Mapped[bytes]
