"""case list index: the back office case list's scope, filters and sort read only this index

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 16:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ["profile_id", "status", "acknowledged_at", "ack_due", "feedback_due", "created_at", "category",
           "target_actor", "assignee_id", "id"]


def upgrade() -> None:
    op.create_index("ix_reports_case_list", "reports", COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_reports_case_list", table_name="reports")
