"""create report tables

Revision ID: 0001
Revises:
Create Date: 2026-11-23 13:19:02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = ("nieuw", "ontvangen", "in_behandeling", "doorverwezen", "afgesloten")


def _enum(values: Sequence[str], name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=20)


def _when(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("profile_id", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("target_actor", sa.String(length=64), nullable=True),
        sa.Column("status", _enum(STATUSES, "report_status"), nullable=False),
        _when("created_at"),
        _when("acknowledged_at", nullable=True),
        _when("ack_due"),
        _when("feedback_due"),
        _when("closed_at", nullable=True),
        sa.Column("close_reason_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("receipt_hash", sa.String(length=64), nullable=False),
        sa.Column("content_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("content_for_reporter", sa.LargeBinary(), nullable=False),
        sa.Column("reporter_key_sealed", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reports")),
        sa.UniqueConstraint("reference", name=op.f("uq_reports_reference")),
    )
    op.create_index(op.f("ix_reports_closed_at"), "reports", ["closed_at"])
    op.create_index(op.f("ix_reports_profile_id"), "reports", ["profile_id"])
    op.create_index(op.f("ix_reports_receipt_hash"), "reports", ["receipt_hash"], unique=True)
    op.create_index(op.f("ix_reports_status"), "reports", ["status"])

    op.create_table(
        "report_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("report_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("author", _enum(("reporter", "backoffice"), "message_author"), nullable=False),
        _when("created_at"),
        sa.Column("body_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("body_for_reporter", sa.LargeBinary(), nullable=False),
        sa.Column("read_by_backoffice", sa.Boolean(), nullable=False),
        sa.Column("read_by_reporter", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"], name=op.f("fk_report_messages_report_id_reports"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_messages")),
    )
    op.create_index(op.f("ix_report_messages_report_id"), "report_messages", ["report_id"])

    op.create_table(
        "status_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("report_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("from_status", _enum(STATUSES, "from_status"), nullable=True),
        sa.Column("to_status", _enum(STATUSES, "to_status"), nullable=False),
        _when("at"),
        sa.Column("actor_role", _enum(("reporter", "backoffice", "system"), "actor_role"), nullable=False),
        sa.Column("reason_sealed", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"], name=op.f("fk_status_changes_report_id_reports"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_changes")),
    )
    op.create_index(op.f("ix_status_changes_report_id"), "status_changes", ["report_id"])

    op.create_table(
        "follow_up_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        _when("at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_up_attempts")),
    )
    op.create_index("ix_follow_up_attempts_key_hash_at", "follow_up_attempts", ["key_hash", "at"])


def downgrade() -> None:
    op.drop_table("follow_up_attempts")
    op.drop_table("status_changes")
    op.drop_table("report_messages")
    op.drop_table("reports")
