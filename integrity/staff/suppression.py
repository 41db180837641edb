"""Small-cell suppression with complementary suppression: no count shown as "<5" can be worked out from the
counts and totals that are shown.

Primary suppression hides a count from 1 to MIN_CELL - 1 (shown as "<5"). On its own that is not enough: in a row
of counts that add up to a shown total, one hidden count is the total minus the others, and two hidden "<5"
counts that add up to 2 are both 1. So, for each such row, `protect` also hides the smallest shown counts
(shown as "verborgen"; zeros last) until no hidden count can be pinned down. What a reader can know is modelled:
a "<5" lies between 1 and MIN_CELL - 1, a "verborgen" count between 0 and the rest, and the hidden counts add up
to the total minus the shown ones; a hidden count is pinned down when its lowest and highest possible values meet.
When even hiding every count leaves one pinned down (e.g. "<5" twice with a total of 8), the caller must hide the
total too (`hide_total`), and then every row that would add up to it.

Only one-way tables (a total split by one attribute) are shown anywhere, so protecting each row against its own
total is enough; a two-way table would need more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MIN_CELL = 5
SUPPRESSED = "<5"
COMPLEMENT = "verborgen"


def is_small(count: int) -> bool:
    return 0 < count < MIN_CELL


@dataclass(frozen=True)
class Protected:
    """Per count: "" (shown as it is), SUPPRESSED or COMPLEMENT; and whether the total must be hidden too."""

    marks: list[str]
    hide_total: bool

    def shown(self, counts: Sequence[int]) -> list[str]:
        return [mark or str(count) for mark, count in zip(self.marks, counts, strict=True)]


def _bounds(counts: Sequence[int], marks: Sequence[str], total: int) -> list[tuple[int, int]]:
    """What a reader can tell about each hidden count, given the others' bounds and the hidden sum."""
    hidden = [i for i, mark in enumerate(marks) if mark]
    rest = total - sum(count for count, mark in zip(counts, marks, strict=True) if not mark)
    base = {i: (1, MIN_CELL - 1) if marks[i] == SUPPRESSED else (0, rest) for i in hidden}
    result = []
    for i in hidden:
        others_low = sum(base[j][0] for j in hidden if j != i)
        others_high = sum(base[j][1] for j in hidden if j != i)
        low, high = base[i]
        result.append((max(low, rest - others_high), min(high, rest - others_low)))
    return result


def _pinned(counts: Sequence[int], marks: Sequence[str], total: int) -> bool:
    return any(low >= high for low, high in _bounds(counts, marks, total))


def protect(counts: Sequence[int], total_known: bool = True) -> Protected:
    """The marks for `counts`. `total_known`: their sum can be read somewhere (the total, or another row of the
    same figures); False only when the caller hides the total and makes sure no row adds up to it."""
    marks = [SUPPRESSED if is_small(count) else "" for count in counts]
    if not total_known or not any(marks):
        return Protected(marks, False)
    total = sum(counts)
    while _pinned(counts, marks, total):
        candidates = [i for i, mark in enumerate(marks) if not mark]
        if not candidates:
            return Protected(marks, True)
        marks[min(candidates, key=lambda i: (counts[i] == 0, counts[i], i))] = COMPLEMENT
    return Protected(marks, False)


def without_sum(protected: Protected, counts: Sequence[int]) -> Protected:
    """With the total hidden: also hide the largest shown count, so that this row does not add up to it."""
    marks = list(protected.marks)
    shown = [i for i, mark in enumerate(marks) if not mark]
    if shown:
        marks[max(shown, key=lambda i: (counts[i], -i))] = COMPLEMENT
    return Protected(marks, True)


def protect_part(part: int, whole: int) -> str:
    """How to show `part` of a `whole` that is shown exactly, when the rest (`whole - part`) is shown nowhere:
    "" (exactly), SUPPRESSED (small) or COMPLEMENT (the rest would be a small count worked out by subtraction)."""
    if is_small(part):
        return SUPPRESSED
    return COMPLEMENT if is_small(whole - part) else ""
