"""Report statistics (integrity/staff/statistics.py) at their edges: period limits and their Dutch refusals, the
months of a period clipped to it, the small-cell and average rules at exactly five, the 7-day deadline counted
inclusively, ties in the groupings, an empty period. On SQLite and PostgreSQL where a database is used."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from integrity.reports.models import Report, ReportStatus
from integrity.staff import statistics

ZONE = ZoneInfo("Europe/Brussels")
ORG = "vlaamse-overheid"
UTC = timezone.utc


def local(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=ZONE).astimezone(UTC)


def add(session: Session, created_at: datetime, *, category: str = "pesten", actor: str | None = None,
        ack_after: timedelta | None = None, close_after: timedelta | None = None) -> None:
    session.add(Report(
        id=str(uuid.uuid4()), reference=f"M-T-{uuid.uuid4().hex[:10]}", profile_id=ORG, category=category,
        target_actor=actor, status=ReportStatus.AFGESLOTEN if close_after else ReportStatus.NIEUW,
        created_at=created_at, acknowledged_at=created_at + ack_after if ack_after else None,
        ack_due=created_at + timedelta(days=7), feedback_due=created_at + timedelta(days=90),
        closed_at=created_at + close_after if close_after else None,
        receipt_hash=uuid.uuid4().hex, content_sealed=b"x", content_for_reporter=b"x", reporter_key_sealed=b"x"))


def test_constants() -> None:
    assert (statistics.MIN_CELL, statistics.SUPPRESSED, statistics.MAX_MONTHS, statistics.DEFAULT_MONTHS) == \
        (5, "<5", 36, 12)


def test_period_limits_and_their_messages() -> None:
    with pytest.raises(statistics.PeriodError) as reversed_period:
        statistics.make_period(date(2026, 2, 2), date(2026, 2, 1), ZONE)
    assert str(reversed_period.value) == "period starts after it ends"
    assert reversed_period.value.user_message == "De begindatum ligt na de einddatum. Kies een andere periode."
    one_day = statistics.make_period(date(2026, 2, 1), date(2026, 2, 1), ZONE)
    assert (one_day.start, one_day.end, one_day.zone) == (date(2026, 2, 1), date(2026, 2, 1), ZONE)
    longest = statistics.make_period(date(2023, 1, 1), date(2025, 12, 31), ZONE)  # 36 calendar months
    assert len(longest.months()) == 36
    with pytest.raises(statistics.PeriodError) as too_long:
        statistics.make_period(date(2023, 1, 1), date(2026, 1, 1), ZONE)
    assert str(too_long.value) == "period longer than the maximum"
    assert too_long.value.user_message == "Kies een periode van hoogstens 36 maanden."


def test_bounds_are_local_midnights_and_months_are_clipped_to_the_period() -> None:
    period = statistics.make_period(date(2026, 3, 15), date(2026, 5, 10), ZONE)
    low, high = period.bounds
    assert (low, high) == (datetime(2026, 3, 14, 23, 0, tzinfo=UTC), datetime(2026, 5, 10, 22, 0, tzinfo=UTC))
    months = period.months()
    assert [m.key for m in months] == ["2026-03", "2026-04", "2026-05"]
    assert (months[0].start, months[0].end) == (low, datetime(2026, 3, 31, 22, 0, tzinfo=UTC))  # summer time
    assert (months[1].start, months[1].end) == (datetime(2026, 3, 31, 22, 0, tzinfo=UTC),
                                                datetime(2026, 4, 30, 22, 0, tzinfo=UTC))
    assert (months[2].start, months[2].end) == (datetime(2026, 4, 30, 22, 0, tzinfo=UTC), high)
    december = statistics.make_period(date(2025, 12, 31), date(2026, 1, 1), ZONE).months()
    assert [m.key for m in december] == ["2025-12", "2026-01"]


@pytest.mark.parametrize(("today", "months", "start"), [
    (date(2026, 3, 15), 12, date(2025, 4, 1)),
    (date(2026, 12, 31), 12, date(2026, 1, 1)),
    (date(2026, 1, 5), 1, date(2026, 1, 1)),
    (date(2026, 1, 5), 2, date(2025, 12, 1)),
])
def test_default_period_is_the_current_month_and_those_before(today: date, months: int, start: date) -> None:
    period = statistics.default_period(today, ZONE, months)
    assert (period.start, period.end, period.zone) == (start, today, ZONE)


def test_cells_and_averages_at_exactly_five() -> None:
    assert [statistics.cell(n) for n in (0, 1, 4, 5, 6)] == ["0", "<5", "<5", "5", "6"]
    assert [statistics.is_suppressed(n) for n in (0, 1, 4, 5)] == [False, True, True, False]
    assert statistics.average(None, 10) is None
    assert statistics.average(3.14159, 4) is None
    assert statistics.average(3.14159, 5) == 3.1
    assert statistics.average(2.25, 9) == 2.2 and statistics.average(2.36, 9) == 2.4


def test_an_empty_period_gives_zeroes_and_no_averages(session: Session) -> None:
    period = statistics.make_period(date(2026, 1, 1), date(2026, 2, 28), ZONE)
    stats = statistics.report_statistics(session, ORG, period)
    assert stats.period == period
    assert (stats.total, stats.acknowledged, stats.acknowledged_on_time, stats.closed) == (0, 0, 0, 0)
    assert (stats.ack_days, stats.close_days) == (None, None)
    assert stats.per_month == [("2026-01", 0), ("2026-02", 0)]
    assert (stats.per_category, stats.per_actor) == ([], [])
    assert stats.per_status == [(status.value, 0) for status in ReportStatus]


def test_deadline_met_on_the_seventh_day_ties_sorted_by_name_and_the_period_s_edges(session: Session) -> None:
    start = local(2026, 1, 1)
    for number in range(5):
        add(session, start + timedelta(hours=number), category="b-cat" if number < 2 else "a-cat",
            actor="x" if number % 2 else None, ack_after=timedelta(days=7) if number else timedelta(days=7, seconds=1),
            close_after=timedelta(days=10 + number))
    add(session, start - timedelta(seconds=1))  # the evening before: outside
    add(session, local(2026, 2, 1) - timedelta(seconds=1), category="b-cat")  # the last second: inside
    add(session, local(2026, 2, 1))  # the next local day: outside
    session.commit()
    stats = statistics.report_statistics(session, ORG, statistics.make_period(date(2026, 1, 1), date(2026, 1, 31),
                                                                              ZONE))
    assert stats.total == 6
    assert stats.per_category == [("a-cat", 3), ("b-cat", 3)], "equal counts in name order"
    assert stats.per_actor == [("", 4), ("x", 2)]
    assert (stats.acknowledged, stats.acknowledged_on_time) == (5, 4), "on the due instant is on time"
    assert stats.ack_days == 7.0
    assert stats.closed == 5 and stats.close_days == 12.0


def test_a_report_at_local_midnight_on_the_first_counts_for_the_new_month(session: Session) -> None:
    add(session, local(2026, 2, 1))
    add(session, local(2026, 2, 1) - timedelta(microseconds=1))
    session.commit()
    stats = statistics.report_statistics(session, ORG, statistics.make_period(date(2026, 1, 1), date(2026, 2, 28),
                                                                              ZONE))
    assert stats.per_month == [("2026-01", 1), ("2026-02", 1)]
