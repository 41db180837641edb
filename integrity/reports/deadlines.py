"""Deadlines of a report: acknowledgement within 7 days, feedback within 3 months of it (EU directive 2019/1937).

Change a deadline here; the case list's SQL (`integrity.staff.caselist.overdue_clause`) follows these rules.
"""

from __future__ import annotations

import calendar
import math
from datetime import datetime, timedelta, timezone

from integrity.reports.models import Report, ReportStatus
from integrity.reports.schemas import ReportSummary

ACK_DAYS = 7
FEEDBACK_MONTHS = 3
DAY_SECONDS = 86400


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar months; the day is clipped to the month's length (31 Jan + 1 month = 28/29 Feb)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def ack_due_for(created_at: datetime) -> datetime:
    return created_at + timedelta(days=ACK_DAYS)


def feedback_due_for(created_at: datetime, acknowledged_at: datetime | None) -> datetime:
    return add_months(acknowledged_at or created_at, FEEDBACK_MONTHS)


def is_ack_overdue(report: Report | ReportSummary, now: datetime | None = None) -> bool:
    return report.acknowledged_at is None and (now or utcnow()) > report.ack_due


def is_feedback_overdue(
    report: Report | ReportSummary, now: datetime | None = None, last_reply_at: datetime | None = None
) -> bool:
    """Past `feedback_due`, not closed, and no reply to the reporter since the acknowledgement."""
    if report.status == ReportStatus.AFGESLOTEN:
        return False
    since = report.acknowledged_at or report.created_at
    if last_reply_at is not None and last_reply_at >= since:
        return False
    return (now or utcnow()) > report.feedback_due


def is_overdue(report: Report | ReportSummary, now: datetime | None = None,
               last_reply_at: datetime | None = None) -> bool:
    return is_ack_overdue(report, now) or is_feedback_overdue(report, now, last_reply_at)


def days_left(due: datetime, now: datetime) -> int:
    """Whole days until `due`, rounded up (0 once it has passed)."""
    return max(0, math.ceil((due - now).total_seconds() / DAY_SECONDS))


def days_late(due: datetime, now: datetime) -> int:
    """Whole days since `due`, at least 1 once it has passed."""
    return max(1, math.floor((now - due).total_seconds() / DAY_SECONDS)) if now > due else 0
