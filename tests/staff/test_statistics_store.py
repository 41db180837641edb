"""Report statistics and conversation counters against a real database: SQLite file and PostgreSQL."""

from __future__ import annotations

import threading
import uuid
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from integrity.reports.models import Report, ReportStatus
from integrity.staff import analytics, statistics
from integrity.staff.models import ConversationCount

ZONE = ZoneInfo("Europe/Brussels")
ORG = "vlaamse-overheid"


def add_report(session: Session, created_at: datetime, *, category: str = "fraude_corruptie",
               actor: str | None = "audit_vlaanderen", profile_id: str = ORG, ack_after: timedelta | None = None,
               close_after: timedelta | None = None) -> None:
    """A report row with metadata only (the statistics never read the sealed columns)."""
    status = ReportStatus.AFGESLOTEN if close_after else ReportStatus.ONTVANGEN if ack_after else ReportStatus.NIEUW
    session.add(Report(
        id=str(uuid.uuid4()), reference=f"M-T-{uuid.uuid4().hex[:10]}", profile_id=profile_id, category=category,
        target_actor=actor, status=status, created_at=created_at,
        acknowledged_at=created_at + ack_after if ack_after else None, ack_due=created_at + timedelta(days=7),
        feedback_due=created_at + timedelta(days=90), closed_at=created_at + close_after if close_after else None,
        receipt_hash=uuid.uuid4().hex, content_sealed=b"x", content_for_reporter=b"x", reporter_key_sealed=b"x"))


def at(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=ZONE).astimezone(timezone.utc)


def test_counts_per_month_category_actor_and_status_for_one_organisation(session: Session) -> None:
    for day in range(1, 7):
        add_report(session, at(2026, 1, day), ack_after=timedelta(days=2), close_after=timedelta(days=30))
    for day in range(1, 3):
        add_report(session, at(2026, 3, day), category="pesten", actor=None, ack_after=timedelta(days=9))
    add_report(session, at(2026, 3, 3), category="pesten", actor="vertrouwenspersoon")
    add_report(session, at(2026, 2, 1), profile_id="federale-politie")  # another organisation
    add_report(session, at(2025, 12, 31), category="pesten")  # before the period
    session.commit()

    period = statistics.make_period(date(2026, 1, 1), date(2026, 3, 31), ZONE)
    stats = statistics.report_statistics(session, ORG, period)

    assert stats.total == 9
    assert stats.per_month == [("2026-01", 6), ("2026-02", 0), ("2026-03", 3)]
    assert stats.per_category == [("fraude_corruptie", 6), ("pesten", 3)]
    assert stats.per_actor == [("audit_vlaanderen", 6), ("", 2), ("vertrouwenspersoon", 1)]
    assert dict(stats.per_status) == {"nieuw": 1, "ontvangen": 2, "in_behandeling": 0, "doorverwezen": 0,
                                      "afgesloten": 6}
    assert (stats.acknowledged, stats.acknowledged_on_time, stats.closed) == (8, 6, 6)
    assert stats.ack_days == pytest.approx((6 * 2 + 2 * 9) / 8, abs=0.05)
    assert stats.close_days == pytest.approx(30.0, abs=0.05)


def test_months_follow_local_time_not_utc(session: Session) -> None:
    # 00:30 on 1 February in Brussels is still 31 January in UTC.
    add_report(session, at(2026, 2, 1, hour=0) + timedelta(minutes=30))
    add_report(session, at(2026, 1, 31, hour=23) + timedelta(minutes=30))
    session.commit()
    period = statistics.make_period(date(2026, 1, 1), date(2026, 2, 28), ZONE)
    assert statistics.report_statistics(session, ORG, period).per_month == [("2026-01", 1), ("2026-02", 1)]
    only_february = statistics.make_period(date(2026, 2, 1), date(2026, 2, 1), ZONE)
    assert statistics.report_statistics(session, ORG, only_february).total == 1


def test_averages_over_fewer_than_five_reports_are_not_given(session: Session) -> None:
    for day in range(1, 5):
        add_report(session, at(2026, 1, day), ack_after=timedelta(days=1))
    session.commit()
    stats = statistics.report_statistics(session, ORG, statistics.make_period(date(2026, 1, 1), date(2026, 1, 31),
                                                                              ZONE))
    assert stats.acknowledged == 4 and stats.ack_days is None and stats.close_days is None


def test_small_cells_and_bad_periods() -> None:
    assert [statistics.cell(n) for n in (0, 1, 4, 5, 12)] == ["0", "<5", "<5", "5", "12"]
    with pytest.raises(statistics.PeriodError) as late:
        statistics.make_period(date(2026, 2, 1), date(2026, 1, 1), ZONE)
    assert "begindatum" in late.value.user_message
    with pytest.raises(statistics.PeriodError):
        statistics.make_period(date(2020, 1, 1), date(2026, 1, 1), ZONE)
    default = statistics.default_period(date(2026, 3, 15), ZONE)
    assert (default.start, default.end, len(default.months())) == (date(2025, 4, 1), date(2026, 3, 15), 12)


# --- conversation counters -------------------------------------------------------------------------------------


def counts(sessions: sessionmaker[Session]) -> dict[tuple[str, str, str], int]:
    with sessions.begin() as session:
        return {(row.profile_id, row.event, row.topic): row.count for row in session.scalars(select(ConversationCount))}


def test_record_upserts_one_row_per_day_organisation_event_and_topic(sessions: sessionmaker[Session]) -> None:
    day = date(2026, 1, 5)
    analytics.record(sessions, ORG, "topic", "pesten", day=day)
    analytics.record(sessions, ORG, "topic", "pesten", day=day)
    analytics.record(sessions, ORG, "fallback", day=day)
    with sessions.begin() as session:  # a session works as well as a factory
        analytics.record(session, "federale-politie", "topic", "pesten", day=day)
    analytics.record(sessions, ORG, "topic", "pesten", day=day + timedelta(days=1))
    with sessions.begin() as session:
        rows = {(r.day, r.profile_id, r.event, r.topic): r.count for r in session.scalars(select(ConversationCount))}
    assert rows == {(day, ORG, "topic", "pesten"): 2, (day, ORG, "fallback", ""): 1,
                    (day, "federale-politie", "topic", "pesten"): 1,
                    (day + timedelta(days=1), ORG, "topic", "pesten"): 1}


def test_record_refuses_unknown_events_topics_and_profiles(sessions: sessionmaker[Session]) -> None:
    for args in (("gezien", ""), ("topic", "Jan Peeters steelt laptops")):
        with pytest.raises(ValueError):
            analytics.record(sessions, ORG, *args)
    with pytest.raises(ValueError):
        analytics.record(sessions, "Jan Peeters", "topic", "pesten")
    assert counts(sessions) == {}


def test_concurrent_increments_lose_no_count(sessions: sessionmaker[Session]) -> None:
    threads, per_thread = 8, 25
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            start.wait()
            for _ in range(per_thread):
                analytics.record(sessions, ORG, "topic", "geschenken", day=date(2026, 1, 5))
        except BaseException as exc:  # reported below
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert errors == []
    with sessions.begin() as session:
        assert session.scalar(select(func.count()).select_from(ConversationCount)) == 1
        assert session.scalar(select(ConversationCount.count)) == threads * per_thread


def test_summary_per_day_and_topic_with_fallback_rate(sessions: sessionmaker[Session]) -> None:
    day = date(2026, 1, 5)
    for _ in range(3):
        analytics.record(sessions, ORG, "topic", "pesten", day=day)
    analytics.record(sessions, ORG, "fallback", "pesten", day=day)
    analytics.record(sessions, ORG, "fallback", "", day=day + timedelta(days=1))
    analytics.record(sessions, ORG, "report_started", day=day)
    analytics.record(sessions, "federale-politie", "fallback", "", day=day)
    analytics.record(sessions, ORG, "topic", "pesten", day=day + timedelta(days=40))  # after the period
    with sessions.begin() as session:
        summary = analytics.summary(session, ORG, day, day + timedelta(days=30))
    assert summary.days == [day + timedelta(days=1), day]
    assert summary.per_day[day] == {"topic": 3, "fallback": 1, "report_started": 1}
    assert summary.per_topic == {"pesten": {"topic": 3, "fallback": 1}}
    assert summary.totals == {"topic": 3, "fallback": 2, "report_started": 1}
    assert summary.fallback_rate == pytest.approx(2 / 5)
    assert analytics.fallback_rate({"topic": 3, "fallback": 1, "emergency": 2}) == pytest.approx(1 / 4), \
        "emergencies are left out: a rate over them would give their suppressed count away"
