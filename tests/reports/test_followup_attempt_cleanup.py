"""The failed follow-up attempts the throttle keeps (integrity/reports/reporter.py): each new failure deletes the
ones that have left the ten-minute window, exactly at its edge, for every sender; right codes store nothing.
On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from integrity.reports import receipts, reporter, submission
from integrity.reports.errors import FollowUpThrottled, UnknownReceipt
from integrity.reports.models import FollowUpAttempt
from tests.plugins.report_store import Keys, make_draft

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
WRONG = "0000 0000 0000 0001"


def fail(session: Session, sender: str, at: datetime) -> None:
    with pytest.raises(UnknownReceipt):
        reporter.authenticate_reporter(session, WRONG, sender, now=at)


def stored(session: Session) -> list[tuple[str, datetime]]:
    hashes = {receipts.throttle_hash(s): s for s in ("a", "b", "c")}
    return sorted((hashes[h], at) for h, at in session.execute(select(FollowUpAttempt.key_hash, FollowUpAttempt.at)))


def test_a_new_failure_deletes_the_attempts_that_left_the_window(session: Session, keys: Keys) -> None:
    fail(session, "a", T0)
    fail(session, "b", T0 + timedelta(minutes=5))
    assert stored(session) == [("a", T0), ("b", T0 + timedelta(minutes=5))]
    fail(session, "c", T0 + reporter.FOLLOW_UP_WINDOW)  # a's attempt is exactly ten minutes old: gone
    assert stored(session) == [("b", T0 + timedelta(minutes=5)), ("c", T0 + timedelta(minutes=10))]
    submitted = submission.submit_report(session, make_draft(), now=T0)
    reporter.authenticate_reporter(session, submitted.receipt_code, "a", now=T0 + timedelta(minutes=30))
    assert len(stored(session)) == 2, "a right code neither stores nor deletes attempts"
    with pytest.raises(UnknownReceipt):
        reporter.authenticate_reporter(session, WRONG, None, now=T0 + timedelta(minutes=30))
    assert len(stored(session)) == 2, "without a throttle key nothing is stored"


def test_the_fifth_failure_in_the_window_throttles_and_an_attempt_at_the_edge_no_longer_counts(
        session: Session) -> None:
    for minute in range(4):
        fail(session, "a", T0 + timedelta(minutes=minute))
    fail(session, "a", T0 + timedelta(minutes=9))
    with pytest.raises(FollowUpThrottled) as throttled:
        reporter.authenticate_reporter(session, WRONG, "a", now=T0 + timedelta(minutes=9, seconds=30))
    assert throttled.value.retry_after == 31  # the oldest (T0) leaves at T0 + 10 min, plus the rounding second
    # At T0 + 10 min the T0 attempt is exactly ten minutes old: four remain, so the code is checked again.
    fail(session, "a", T0 + reporter.FOLLOW_UP_WINDOW)
    assert (5, timedelta(minutes=10)) == (reporter.FOLLOW_UP_MAX_FAILURES, reporter.FOLLOW_UP_WINDOW)


def test_less_than_a_second_before_the_window_ends_the_answer_is_still_one_second(session: Session) -> None:
    for second in range(5):
        fail(session, "a", T0 + timedelta(seconds=second))
    with pytest.raises(FollowUpThrottled) as throttled:
        reporter.authenticate_reporter(session, WRONG, "a", now=T0 + reporter.FOLLOW_UP_WINDOW - timedelta(seconds=0.5))
    assert throttled.value.retry_after == 1
    with pytest.raises(UnknownReceipt) as unknown:
        reporter.authenticate_reporter(session, WRONG, "b", now=T0)
    assert str(unknown.value) == "Unknown or malformed receipt code"
