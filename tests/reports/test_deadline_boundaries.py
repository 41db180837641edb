"""The deadline rules at their edges (integrity/reports/deadlines.py): the exact instant a deadline passes, the
day counts shown next to it, and which reply or status stops the feedback clock. No database."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from integrity.reports import deadlines, schemas
from integrity.reports.models import ReportStatus

UTC = timezone.utc
CREATED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def summary(**changes: object) -> schemas.ReportSummary:
    base = schemas.ReportSummary(
        id="x", reference="M-2026-AAAAAA", profile_id="p", category="c", target_actor=None,
        status=ReportStatus.NIEUW, created_at=CREATED, acknowledged_at=None, ack_due=deadlines.ack_due_for(CREATED),
        feedback_due=deadlines.feedback_due_for(CREATED, None), closed_at=None)
    return replace(base, **changes)  # type: ignore[arg-type]


def test_the_constants_are_the_directive_s() -> None:
    assert (deadlines.ACK_DAYS, deadlines.FEEDBACK_MONTHS, deadlines.DAY_SECONDS) == (7, 3, 86400)
    assert deadlines.ack_due_for(CREATED) == datetime(2026, 3, 8, 9, 0, tzinfo=UTC)
    assert deadlines.feedback_due_for(CREATED, None) == datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
    assert deadlines.feedback_due_for(CREATED, CREATED + 2 * DAY) == datetime(2026, 6, 3, 9, 0, tzinfo=UTC)


def test_utcnow_is_aware_utc() -> None:
    now = deadlines.utcnow()
    assert now.tzinfo is UTC
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)


@pytest.mark.parametrize(("moment", "months", "expected"), [
    (datetime(2026, 1, 31, tzinfo=UTC), 1, datetime(2026, 2, 28, tzinfo=UTC)),
    (datetime(2028, 1, 31, tzinfo=UTC), 1, datetime(2028, 2, 29, tzinfo=UTC)),
    (datetime(2026, 12, 15, tzinfo=UTC), 1, datetime(2027, 1, 15, tzinfo=UTC)),
    (datetime(2026, 11, 15, tzinfo=UTC), 2, datetime(2027, 1, 15, tzinfo=UTC)),
    (datetime(2026, 12, 15, tzinfo=UTC), 12, datetime(2027, 12, 15, tzinfo=UTC)),
    (datetime(2026, 5, 31, 23, 59, tzinfo=UTC), 0, datetime(2026, 5, 31, 23, 59, tzinfo=UTC)),
    (datetime(2026, 3, 31, tzinfo=UTC), -1, datetime(2026, 2, 28, tzinfo=UTC)),
])
def test_add_months_clips_the_day_and_carries_the_year(moment: datetime, months: int, expected: datetime) -> None:
    assert deadlines.add_months(moment, months) == expected


def test_acknowledgement_is_overdue_only_after_the_deadline_and_only_without_acknowledgement() -> None:
    due = CREATED + 7 * DAY
    assert not deadlines.is_ack_overdue(summary(), due)
    assert deadlines.is_ack_overdue(summary(), due + timedelta(microseconds=1))
    assert not deadlines.is_ack_overdue(summary(acknowledged_at=CREATED + 8 * DAY), due + DAY)
    assert deadlines.is_overdue(summary(), due + timedelta(seconds=1))


def test_feedback_clock_runs_from_the_acknowledgement_and_stops_at_a_reply_or_closing() -> None:
    acknowledged = CREATED + 2 * DAY
    late = datetime(2026, 7, 1, tzinfo=UTC)
    report = summary(acknowledged_at=acknowledged, feedback_due=deadlines.feedback_due_for(CREATED, acknowledged))
    assert not deadlines.is_feedback_overdue(report, report.feedback_due)
    assert deadlines.is_feedback_overdue(report, report.feedback_due + timedelta(microseconds=1))
    # A reply at the acknowledgement or after it stops the clock; one before it (there can be none, but the rule
    # says "since the acknowledgement") does not.
    assert not deadlines.is_feedback_overdue(report, late, last_reply_at=acknowledged)
    assert deadlines.is_feedback_overdue(report, late, last_reply_at=acknowledged - timedelta(seconds=1))
    # Without an acknowledgement the clock runs from the submission.
    unacknowledged = summary()
    assert not deadlines.is_feedback_overdue(unacknowledged, late, last_reply_at=CREATED)
    assert deadlines.is_feedback_overdue(unacknowledged, late, last_reply_at=CREATED - timedelta(seconds=1))
    assert not deadlines.is_feedback_overdue(replace(report, status=ReportStatus.AFGESLOTEN), late)
    for status in ReportStatus:
        if status != ReportStatus.AFGESLOTEN:
            assert deadlines.is_feedback_overdue(replace(report, status=status), late)


def test_overdue_is_either_deadline_and_passes_the_reply_on() -> None:
    acknowledged_late = summary(acknowledged_at=CREATED + DAY, feedback_due=deadlines.feedback_due_for(CREATED,
                                                                                                       CREATED + DAY))
    late = datetime(2026, 7, 1, tzinfo=UTC)
    assert deadlines.is_overdue(acknowledged_late, late)  # feedback only
    assert not deadlines.is_overdue(acknowledged_late, late, last_reply_at=CREATED + 3 * DAY)
    assert deadlines.is_overdue(summary(), CREATED + 8 * DAY)  # acknowledgement only
    assert not deadlines.is_overdue(acknowledged_late, CREATED + 8 * DAY)
    # The default `now` is the real clock: a report from 2026 is overdue by now, one due next year is not.
    future = summary(created_at=deadlines.utcnow(), ack_due=deadlines.utcnow() + 7 * DAY,
                     feedback_due=deadlines.utcnow() + 90 * DAY)
    assert not deadlines.is_ack_overdue(future) and not deadlines.is_feedback_overdue(future)
    assert not deadlines.is_overdue(future)
    past = summary(ack_due=deadlines.utcnow() - DAY, feedback_due=deadlines.utcnow() - DAY)
    assert deadlines.is_ack_overdue(past) and deadlines.is_feedback_overdue(past) and deadlines.is_overdue(past)


@pytest.mark.parametrize(("offset", "left", "late"), [
    (-3 * DAY, 3, 0),
    (-(2 * DAY + timedelta(seconds=1)), 3, 0),
    (-timedelta(seconds=1), 1, 0),
    (timedelta(0), 0, 0),
    (timedelta(seconds=1), 0, 1),
    (DAY + timedelta(hours=23), 0, 1),
    (2 * DAY, 0, 2),
    (10 * DAY + timedelta(hours=5), 0, 10),
])
def test_days_left_rounds_up_and_days_late_rounds_down_but_is_at_least_one(offset: timedelta, left: int,
                                                                          late: int) -> None:
    due = CREATED
    assert deadlines.days_left(due, due + offset) == left
    assert deadlines.days_late(due, due + offset) == late
