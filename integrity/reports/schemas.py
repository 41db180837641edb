"""The frozen data the report store takes in and hands out (no SQLAlchemy rows leave it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from integrity.reports.models import ActorRole, Author, ReportStatus


@dataclass(frozen=True, kw_only=True)
class ReportDraft:
    """What the reporter filled in. The channel is recorded only inside the sealed content, never with an id."""

    category: str
    what_happened: str
    profile_id: str
    channel: str
    when: str = ""
    where: str = ""
    people_involved: str = ""
    evidence: str = ""
    anonymous: bool = True
    contact: str | None = None
    preferred_route: str | None = None


@dataclass(frozen=True)
class SubmittedReport:
    receipt_code: str  # formatted "1234 5678 9012 3456"; shown once to the reporter, never stored
    reference: str
    ack_due: datetime
    feedback_due: datetime


@dataclass(frozen=True)
class ReporterMessage:
    author: Author
    created_at: datetime
    text: str
    new: bool = False


@dataclass(frozen=True)
class ReporterView:
    reference: str
    status: ReportStatus
    created_at: datetime
    acknowledged_at: datetime | None
    feedback_due: datetime
    closed_at: datetime | None
    report: dict[str, Any]
    messages: list[ReporterMessage]


@dataclass(frozen=True)
class ReportSummary:
    """Metadata only: what the back office list shows without the private key."""

    id: str
    reference: str
    profile_id: str
    category: str
    target_actor: str | None
    status: ReportStatus
    created_at: datetime
    acknowledged_at: datetime | None
    ack_due: datetime
    feedback_due: datetime
    closed_at: datetime | None
    unread_messages: int = 0
    last_reply_at: datetime | None = None
    ack_overdue: bool = False
    feedback_overdue: bool = False


@dataclass(frozen=True)
class BackofficeMessage:
    id: int
    author: Author
    created_at: datetime
    text: str
    read_by_backoffice: bool
    read_by_reporter: bool


@dataclass(frozen=True)
class StatusEntry:
    from_status: ReportStatus | None
    to_status: ReportStatus
    at: datetime
    actor_role: ActorRole
    reason: str | None


@dataclass(frozen=True)
class ReportDetail:
    summary: ReportSummary
    content: dict[str, Any]
    messages: list[BackofficeMessage]
    history: list[StatusEntry]
    close_reason: str | None = None
