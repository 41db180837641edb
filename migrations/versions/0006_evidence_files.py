"""evidence files: report_files (sealed, per report) and pending_files (sent in a chat before the report exists)

Revision ID: 0006
Revises: 0007
Create Date: 2026-12-01 16:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "report_files",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("report_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("metadata_summary", sa.String(length=300), nullable=False),
        sa.Column("content_sealed", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"], name=op.f("fk_report_files_report_id_reports"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_files")),
    )
    op.create_index("ix_report_files_report_id", "report_files", ["report_id"])
    op.create_table(
        "pending_files",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("owner_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("metadata_summary", sa.String(length=300), nullable=False),
        sa.Column("content_encrypted", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_files")),
    )
    op.create_index("ix_pending_files_owner_hash_created_at", "pending_files", ["owner_hash", "created_at"])
    op.create_index("ix_pending_files_created_at", "pending_files", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_pending_files_created_at", table_name="pending_files")
    op.drop_index("ix_pending_files_owner_hash_created_at", table_name="pending_files")
    op.drop_table("pending_files")
    op.drop_index("ix_report_files_report_id", table_name="report_files")
    op.drop_table("report_files")
