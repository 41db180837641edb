"""Report statistics for policy evaluation, computed in SQL from metadata only (nothing is decrypted).

For one organisation and a period of local calendar days: reports per month, category, actor (target_actor) and
status; how many were acknowledged (and within the 7-day deadline) and closed, with the average number of days
from submission to acknowledgement and to closing.

Small cells: figures are meant for policy reports, so counts from 1 to 4 are shown as "<5" (`cell`), and an
average over fewer than 5 reports is not shown (`average`), on the page and in the CSV export alike. So that no
such count can be worked out from the total and the other counts of its row, `shown_statistics` also hides larger
counts where needed ("verborgen", integrity.staff.suppression). The case list is the only place with exact small
numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Float, SQLColumnExpression, and_, case, cast, func, select
from sqlalchemy.orm import Session

from integrity.reports.models import Report, ReportStatus
from integrity.staff.suppression import COMPLEMENT, MIN_CELL, SUPPRESSED, Protected, protect, protect_part, without_sum

__all__ = ["COMPLEMENT", "MIN_CELL", "SUPPRESSED"]
ROWS = ("month", "category", "actor", "status")
MAX_MONTHS = 36
DEFAULT_MONTHS = 12


class PeriodError(ValueError):
    """A period we cannot compute; `user_message` is Dutch."""

    def __init__(self, operator_message: str, user_message: str) -> None:
        super().__init__(operator_message)
        self.user_message = user_message


@dataclass(frozen=True)
class Month:
    key: str  # "2025-03"
    start: datetime  # UTC
    end: datetime  # UTC, excluded


@dataclass(frozen=True)
class Period:
    """Local calendar days from `start` to `end`, both included."""

    start: date
    end: date
    zone: ZoneInfo

    def _instant(self, day: date) -> datetime:
        return datetime.combine(day, time(0), self.zone).astimezone(timezone.utc)

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        return self._instant(self.start), self._instant(self.end + timedelta(days=1))

    def months(self) -> list[Month]:
        result, first = [], self.start.replace(day=1)
        low, high = self.bounds
        while first <= self.end:
            following = (first + timedelta(days=32)).replace(day=1)
            result.append(Month(f"{first:%Y-%m}", max(low, self._instant(first)), min(high, self._instant(following))))
            first = following
        return result


def make_period(start: date, end: date, zone: ZoneInfo) -> Period:
    if start > end:
        raise PeriodError("period starts after it ends", "De begindatum ligt na de einddatum. Kies een andere periode.")
    if (end.year - start.year) * 12 + end.month - start.month >= MAX_MONTHS:
        raise PeriodError("period longer than the maximum", f"Kies een periode van hoogstens {MAX_MONTHS} maanden.")
    return Period(start, end, zone)


def default_period(today: date, zone: ZoneInfo, months: int = DEFAULT_MONTHS) -> Period:
    """The current month and the `months - 1` before it, up to today."""
    index = today.year * 12 + today.month - 1 - (months - 1)
    return Period(date(index // 12, index % 12 + 1, 1), today, zone)


def cell(count: int) -> str:
    """A count as shown anywhere outside the case list: 1 to 4 become "<5"."""
    return SUPPRESSED if 0 < count < MIN_CELL else str(count)


def is_suppressed(count: int) -> bool:
    return 0 < count < MIN_CELL


def average(days: float | None, reports: int) -> float | None:
    """An average over fewer than MIN_CELL reports is not shown (it would describe one or two cases)."""
    return None if days is None or reports < MIN_CELL else round(days, 1)


@dataclass(frozen=True)
class Statistics:
    period: Period
    total: int
    per_month: list[tuple[str, int]]  # every month of the period, also empty ones
    per_category: list[tuple[str, int]]  # largest first
    per_actor: list[tuple[str, int]]  # "" for reports without a chosen actor
    per_status: list[tuple[str, int]]  # in the order of ReportStatus
    acknowledged: int
    acknowledged_on_time: int
    ack_days: float | None  # average, None below MIN_CELL
    closed: int
    close_days: float | None


def _days_between(later: SQLColumnExpression[Any], earlier: SQLColumnExpression[Any],
                  dialect: str) -> ColumnElement[Any]:
    if dialect == "sqlite":
        return func.julianday(later) - func.julianday(earlier)
    return cast(func.extract("epoch", later - earlier), Float) / 86400.0


def _grouped(session: Session, column: SQLColumnExpression[Any], where: ColumnElement[bool]) -> list[tuple[str, int]]:
    rows = session.execute(select(column, func.count()).where(where).group_by(column))
    return sorted(((key or "", int(count)) for key, count in rows), key=lambda row: (-row[1], row[0]))


def report_statistics(session: Session, profile_id: str, period: Period) -> Statistics:
    """The figures of one organisation for reports submitted within `period`."""
    dialect = session.get_bind().dialect.name
    low, high = period.bounds
    where = and_(Report.profile_id == profile_id, Report.created_at >= low, Report.created_at < high)
    months = period.months()
    month_of = case(*[(Report.created_at < month.end, month.key) for month in months], else_="")
    counted: dict[str, int] = dict(
        session.execute(select(month_of, func.count()).where(where).group_by(month_of)).all())
    per_month = [(month.key, int(counted.get(month.key, 0))) for month in months]
    by_status = dict(_grouped(session, Report.status, where))
    per_status = [(status.value, by_status.get(status, 0)) for status in ReportStatus]
    ack_days = _days_between(Report.acknowledged_at, Report.created_at, dialect)
    close_days = _days_between(Report.closed_at, Report.created_at, dialect)
    row = session.execute(select(
        func.count(),
        func.count(Report.acknowledged_at),
        func.sum(case((Report.acknowledged_at <= Report.ack_due, 1), else_=0)),
        func.avg(ack_days),
        func.count(Report.closed_at),
        func.avg(close_days),
    ).where(where)).one()
    total, acknowledged, on_time, ack_avg, closed, close_avg = row
    return Statistics(
        period=period, total=int(total), per_month=per_month,
        per_category=_grouped(session, Report.category, where),
        per_actor=_grouped(session, Report.target_actor, where),
        per_status=per_status,
        acknowledged=int(acknowledged), acknowledged_on_time=int(on_time or 0),
        ack_days=average(float(ack_avg) if ack_avg is not None else None, int(acknowledged)),
        closed=int(closed), close_days=average(float(close_avg) if close_avg is not None else None, int(closed)),
    )


@dataclass(frozen=True)
class ShownStatistics:
    """The figures as they may be shown (page and CSV alike): exact, "<5" or "verborgen"."""

    total: str
    rows: dict[str, list[str]]  # ROWS -> one shown value per entry of the Statistics row, in the same order
    acknowledged: str
    acknowledged_on_time: str
    closed: str

    def hidden(self, row: str, index: int) -> bool:
        return self.rows[row][index] in (SUPPRESSED, COMPLEMENT)


def _row_counts(stats: Statistics) -> dict[str, list[int]]:
    return {"month": [count for _, count in stats.per_month], "category": [count for _, count in stats.per_category],
            "actor": [count for _, count in stats.per_actor], "status": [count for _, count in stats.per_status]}


def shown_statistics(stats: Statistics) -> ShownStatistics:
    """Small counts hidden, and enough others with them that none can be recovered by subtraction.

    Every row (month, category, actor, status) adds up to the total. The deadline figures are tied to the status
    row: "acknowledged" is the total minus the reports still "nieuw", "closed" the reports "afgesloten", and the
    acknowledged on time are part of the acknowledged (the late ones are shown nowhere).
    """
    counts = _row_counts(stats)
    protected: dict[str, Protected] = {name: protect(values) for name, values in counts.items()}
    hide_total = 0 < stats.total < MIN_CELL or any(p.hide_total for p in protected.values())
    if hide_total:  # no row may add up to the hidden total
        protected = {name: without_sum(protect(values, total_known=False), values)
                     for name, values in counts.items()}
    rows = {name: protected[name].shown(counts[name]) for name in ROWS}
    statuses = [status for status, _ in stats.per_status]
    new, closed = statuses.index(ReportStatus.NIEUW.value), statuses.index(ReportStatus.AFGESLOTEN.value)
    status_hidden = [mark != "" for mark in protected["status"].marks]
    if hide_total or status_hidden[new]:  # total - "nieuw" = acknowledged: showing it would give "nieuw" away
        acknowledged = SUPPRESSED if 0 < stats.acknowledged < MIN_CELL else COMPLEMENT
    else:
        acknowledged = cell(stats.acknowledged)
    if acknowledged == str(stats.acknowledged):
        on_time = protect_part(stats.acknowledged_on_time, stats.acknowledged) or str(stats.acknowledged_on_time)
    else:  # often all are on time: an exact figure would give the hidden "acknowledged" away
        on_time = SUPPRESSED if 0 < stats.acknowledged_on_time < MIN_CELL else COMPLEMENT
    total = (SUPPRESSED if 0 < stats.total < MIN_CELL else COMPLEMENT) if hide_total else str(stats.total)
    return ShownStatistics(total=total, rows=rows, acknowledged=acknowledged, acknowledged_on_time=on_time,
                           closed=rows["status"][closed] if stats.closed == counts["status"][closed]
                           else cell(stats.closed))
