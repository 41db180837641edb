"""per-user and per-report keys: staff key pairs, report public keys, report_key_grants

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 16:10:00

Existing reports keep `public_key` NULL (sealed to the old installation key) until
`python -m integrity.staff migrate-keys` re-seals them; nothing is decrypted here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

USER_KEY_COLUMNS = ("public_key", "private_key_box", "recovery_box", "escrow_box")


def upgrade() -> None:
    with op.batch_alter_table("staff_users") as batch:
        for name in USER_KEY_COLUMNS:
            batch.add_column(sa.Column(name, sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("staff_sessions") as batch:
        batch.add_column(sa.Column("recovery_box", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("reports") as batch:
        batch.add_column(sa.Column("public_key", sa.LargeBinary(), nullable=True))
    op.create_table(
        "report_key_grants",
        sa.Column("report_id", sa.Uuid(as_uuid=False), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("granted_by", sa.Integer(), nullable=True),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["report_id"], ["reports.id"], name=op.f("fk_report_key_grants_report_id_reports"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["staff_users.id"],
                                name=op.f("fk_report_key_grants_user_id_staff_users"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["granted_by"], ["staff_users.id"],
                                name=op.f("fk_report_key_grants_granted_by_staff_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("report_id", "user_id", name=op.f("pk_report_key_grants")),
    )
    op.create_index(op.f("ix_report_key_grants_user_id"), "report_key_grants", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_report_key_grants_user_id"), table_name="report_key_grants")
    op.drop_table("report_key_grants")
    with op.batch_alter_table("reports") as batch:
        batch.drop_column("public_key")
    with op.batch_alter_table("staff_sessions") as batch:
        batch.drop_column("recovery_box")
    with op.batch_alter_table("staff_users") as batch:
        for name in reversed(USER_KEY_COLUMNS):
            batch.drop_column(name)
