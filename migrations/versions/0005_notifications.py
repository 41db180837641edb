"""notifications: staff e-mail and preference, the event and mail outboxes, scheduled job rows

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 16:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ("new_report", "reporter_message", "access_granted", "ack_due_soon", "ack_overdue", "feedback_due_soon",
         "feedback_overdue", "digest")
STATUSES = ("pending", "sending", "sent", "failed", "held", "digested")
MODES = ("immediate", "daily", "off")


def _enum(values: tuple[str, ...], name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=20)


def _when(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    with op.batch_alter_table("staff_users") as batch:
        batch.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        batch.add_column(sa.Column("notify_mode", _enum(MODES, "notify_mode"), nullable=False,
                                   server_default="immediate"))
    with op.batch_alter_table("staff_users") as batch:
        batch.alter_column("notify_mode", server_default=None)

    op.create_table(
        "notification_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", _enum(KINDS, "notification_kind"), nullable=False),
        sa.Column("report_id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        _when("created_at", nullable=False),
        _when("dispatched_at"),
        sa.ForeignKeyConstraint(["user_id"], ["staff_users.id"],
                                name=op.f("fk_notification_events_user_id_staff_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_events")),
    )
    op.create_index(op.f("ix_notification_events_dispatched_at"), "notification_events", ["dispatched_at"])

    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", _enum(KINDS, "notification_kind"), nullable=False),
        sa.Column("report_reference", sa.String(length=20), nullable=True),
        sa.Column("dedup_key", sa.String(length=80), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("status", _enum(STATUSES, "mail_status"), nullable=False),
        _when("created_at", nullable=False),
        _when("send_after"),
        _when("next_attempt_at"),
        _when("lease_until"),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        _when("sent_at"),
        sa.Column("digest_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["staff_users.id"],
                                name=op.f("fk_notification_outbox_user_id_staff_users"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["digest_id"], ["notification_outbox.id"],
                                name=op.f("fk_notification_outbox_digest_id_notification_outbox"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_outbox")),
        sa.UniqueConstraint("user_id", "dedup_key", name=op.f("uq_notification_outbox_user_id_dedup_key")),
        sa.UniqueConstraint("message_id", name=op.f("uq_notification_outbox_message_id")),
    )
    op.create_index("ix_notification_outbox_status_next_attempt_at", "notification_outbox",
                    ["status", "next_attempt_at"])
    op.create_index("ix_notification_outbox_user_id_created_at", "notification_outbox", ["user_id", "created_at"])
    op.create_index(op.f("ix_notification_outbox_digest_id"), "notification_outbox", ["digest_id"])

    jobs = op.create_table(
        "job_runs",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("last_run_on", sa.Date(), nullable=True),
        _when("last_run_at"),
        sa.Column("holder", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_runs")),
    )
    # The rows exist from the start, so two instances never race to create one (integrity.notifications.jobs).
    op.bulk_insert(jobs, [{"name": "daily-reminders"}, {"name": "digests"}])


def downgrade() -> None:
    op.drop_table("job_runs")
    op.drop_table("notification_outbox")
    op.drop_table("notification_events")
    with op.batch_alter_table("staff_users") as batch:
        batch.drop_constraint(op.f("ck_staff_users_notify_mode"), type_="check")
        batch.drop_column("notify_mode")
        batch.drop_column("email")
