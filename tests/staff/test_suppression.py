"""Complementary suppression (issue 13: small counts shown as "<5" could be recovered by subtracting the shown
counts from the totals). A brute-force reader tries every set of counts that fits what is shown (exact values,
"<5" = 1 to 4, "verborgen" = any number, the total, and how the deadline figures follow from the status row) and
must never find a hidden count with only one possible value.
"""

from __future__ import annotations

import itertools
import random
from datetime import date
from zoneinfo import ZoneInfo

import pytest

from integrity.staff import statistics
from integrity.staff.statistics import Period, Statistics, shown_statistics
from integrity.staff.suppression import COMPLEMENT, SUPPRESSED, protect

CEILING = 40  # the crafted totals stay below this


def options(value: str, ceiling: int) -> range:
    if value == SUPPRESSED:
        return range(1, 5)
    if value == COMPLEMENT:
        return range(0, ceiling + 1)
    return range(int(value), int(value) + 1)


def fits(shown: list[str], total: str) -> list[tuple[int, ...]]:
    """Every row of counts a reader cannot rule out."""
    totals = set(options(total, CEILING))
    return [values for values in itertools.product(*(options(v, CEILING) for v in shown)) if sum(values) in totals]


def pinned(shown: list[str], total: str) -> list[int]:
    """Hidden positions with only one possible value."""
    worlds = fits(shown, total)
    assert worlds, f"nothing fits {shown} / {total}: the shown figures contradict each other"
    return [i for i, value in enumerate(shown) if value in (SUPPRESSED, COMPLEMENT)
            and len({world[i] for world in worlds}) == 1]


CRAFTED = [[6, 2], [1, 1, 5], [4, 4, 10], [4, 4], [1, 1, 1, 1, 1], [2, 2, 20], [3, 0, 0, 9], [1, 7, 8], [4, 4, 0],
           [1, 2, 3, 30], [1, 9]]


@pytest.mark.parametrize("counts", CRAFTED)
def test_no_hidden_count_follows_from_the_total_and_the_others(counts: list[int]) -> None:
    protected = protect(counts)
    shown = protected.shown(counts)
    total = COMPLEMENT if protected.hide_total else str(sum(counts))
    assert not any(value in {"1", "2", "3", "4"} for value in shown)
    assert pinned(shown, total) == [], f"{counts} shown as {shown} / {total}"


def test_without_complementary_suppression_subtraction_would_work() -> None:
    """The control: primary suppression alone leaves the 2 of [6, 2] (total 8) and both 1s of [1, 1, 5]."""
    assert pinned(["6", SUPPRESSED], "8") == [1]
    assert pinned([SUPPRESSED, SUPPRESSED, "5"], "7") == [0, 1]


def statistics_of(category: list[int], status: list[int], acknowledged_on_time: int) -> Statistics:
    total = sum(category)
    assert sum(status) == total
    period = Period(date(2026, 1, 1), date(2026, 1, 31), ZoneInfo("Europe/Brussels"))
    return Statistics(period=period, total=total, per_month=[("2026-01", total)],
                      per_category=[(f"c{i}", n) for i, n in enumerate(category)],
                      per_actor=[("", total)],
                      per_status=[(s.value, n) for s, n in zip(statistics.ReportStatus, status, strict=True)],
                      acknowledged=total - status[0], acknowledged_on_time=acknowledged_on_time,
                      ack_days=None, closed=status[-1], close_days=None)


def deadline_reader(shown: statistics.ShownStatistics) -> list[str]:
    """What the status row and the deadline figures together pin down: acknowledged = total - nieuw,
    closed = afgesloten, on time <= acknowledged."""
    found = []
    status = shown.rows["status"]
    worlds = fits(status, shown.total)
    consistent = []
    for world in worlds:
        total = sum(world)
        acknowledged = total - world[0]
        if acknowledged not in options(shown.acknowledged, CEILING) or world[-1] not in options(shown.closed, CEILING):
            continue
        if not any(on_time <= acknowledged for on_time in options(shown.acknowledged_on_time, CEILING)):
            continue
        consistent.append(world)
    assert consistent, "the shown figures contradict each other"
    for i, value in enumerate(status):
        if value in (SUPPRESSED, COMPLEMENT) and len({world[i] for world in consistent}) == 1:
            found.append(f"status {i}")
    return found


@pytest.mark.parametrize("category, status, on_time", [
    ([6, 2], [3, 5, 0, 0, 0], 5),  # 3 still new: 8 - 5 acknowledged would tell
    ([9, 1], [1, 9, 0, 0, 0], 9),  # 1 new, all others on time: "on time" would give "acknowledged" away
    ([20], [18, 0, 0, 0, 2], 0),  # 2 closed: the closed figure follows the status row
    ([10, 10], [10, 5, 5, 0, 0], 7),
    ([3], [2, 1, 0, 0, 0], 1),  # a total under 5
])
def test_deadline_figures_do_not_give_a_hidden_status_away(category: list[int], status: list[int],
                                                           on_time: int) -> None:
    stats = statistics_of(category, status, on_time)
    shown = shown_statistics(stats)
    values = [shown.total, shown.acknowledged, shown.acknowledged_on_time, shown.closed,
              *(v for row in shown.rows.values() for v in row)]
    assert not any(value in {"1", "2", "3", "4"} for value in values), shown
    assert deadline_reader(shown) == [], shown
    for name, row in shown.rows.items():
        assert pinned(row, shown.total) == [], (name, row, shown.total)


def test_random_rows_never_leave_a_hidden_count_to_subtraction() -> None:
    generator = random.Random(13)
    for _ in range(300):
        counts = [generator.choice([0, 0, 1, 2, 3, 4, 5, 6, 9]) for _ in range(generator.randint(1, 4))]
        protected = protect(counts)
        shown = protected.shown(counts)
        total = COMPLEMENT if protected.hide_total else str(sum(counts))
        assert pinned(shown, total) == [], f"{counts} shown as {shown} / {total}"
