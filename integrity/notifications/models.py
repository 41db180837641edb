"""Tables of the notifications: the event outbox, the mail outbox and the scheduled jobs' rows.

Two stages, both in the database, so nothing is lost between them:
1. `notification_events`: written by the use case itself (a new report, a reporter's message, an access grant), in
   its own transaction (`integrity.notifications.events`). Names only the report and the kind, never content.
2. `notification_outbox`: one row per mail to one staff member, made from an event or a deadline reminder by
   `integrity.notifications.fanout` / `.reminders`, sent by `integrity.notifications.sender`.
No foreign key to `reports`: the retention purge deletes reports, and a queued mail only needs the reference.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from integrity.orm import Base, enum_column


class Kind(str, enum.Enum):
    NEW_REPORT = "new_report"
    REPORTER_MESSAGE = "reporter_message"
    ACCESS_GRANTED = "access_granted"
    ACK_DUE_SOON = "ack_due_soon"  # acknowledgement deadline in 2 days
    ACK_OVERDUE = "ack_overdue"
    FEEDBACK_DUE_SOON = "feedback_due_soon"  # feedback deadline in 14 days
    FEEDBACK_OVERDUE = "feedback_overdue"
    DIGEST = "digest"  # one mail listing several of the above


class MailStatus(str, enum.Enum):
    PENDING = "pending"  # to send at `next_attempt_at`
    SENDING = "sending"  # claimed by a sender until `lease_until`
    SENT = "sent"
    FAILED = "failed"  # given up: the operator was alerted (log + back office)
    HELD = "held"  # waits for a digest at `send_after` (daily preference, or over the hourly cap)
    DIGESTED = "digested"  # went out inside the digest `digest_id`


class NotificationEvent(Base):
    __tablename__ = "notification_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[Kind] = mapped_column(enum_column(Kind, "notification_kind"))
    report_id: Mapped[str] = mapped_column(String(36))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))  # one recipient
    created_at: Mapped[datetime]
    dispatched_at: Mapped[datetime | None] = mapped_column(index=True)


class OutboxMail(Base):
    __tablename__ = "notification_outbox"
    __table_args__ = (
        UniqueConstraint("user_id", "dedup_key"),  # an event or a reminder reaches a user once
        Index("ix_notification_outbox_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_notification_outbox_user_id_created_at", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    kind: Mapped[Kind] = mapped_column(enum_column(Kind, "notification_kind"))
    report_reference: Mapped[str | None] = mapped_column(String(20))
    # "event:<id>" or "<reminder kind>:<report id>" (so a reminder is enqueued once per report, kind and user)
    dedup_key: Mapped[str] = mapped_column(String(80))
    message_id: Mapped[str] = mapped_column(String(200), unique=True)  # the same on every attempt
    status: Mapped[MailStatus] = mapped_column(enum_column(MailStatus, "mail_status"))
    created_at: Mapped[datetime]
    send_after: Mapped[datetime | None]  # HELD: when the digest is due
    next_attempt_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))  # English, never mail content
    sent_at: Mapped[datetime | None]
    digest_id: Mapped[int | None] = mapped_column(ForeignKey("notification_outbox.id", ondelete="SET NULL"),
                                                  index=True)


class JobRun(Base):
    """One row per scheduled job: locked (FOR UPDATE SKIP LOCKED on PostgreSQL) while it runs, and the day done."""

    __tablename__ = "job_runs"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_run_on: Mapped[date | None] = mapped_column(Date)
    last_run_at: Mapped[datetime | None]
    holder: Mapped[str | None] = mapped_column(String(80))  # who ran it last (host:pid), for the operator
