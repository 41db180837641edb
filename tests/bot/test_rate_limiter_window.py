"""The channels' flood protection (bot/ratelimit.py) at its edges: the sliding window's exact end, refused
messages that do not count, independent senders and the bound on memory."""

from __future__ import annotations

import time

from bot.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_defaults_are_twenty_a_minute_on_the_monotonic_clock() -> None:
    limiter = RateLimiter()
    assert (limiter.limit, limiter.window, limiter.clock) == (20, 60.0, time.monotonic)
    assert all(limiter.allow("a") for _ in range(20))
    assert not limiter.allow("a")


def test_the_window_slides_and_a_hit_counts_until_exactly_window_seconds_later() -> None:
    clock = Clock()
    limiter = RateLimiter(3, 10.0, clock=clock)
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    clock.now += 10.0
    assert not limiter.allow("a"), "a hit exactly `window` seconds old still counts"
    clock.now += 0.001
    assert limiter.allow("a")
    assert limiter.allow("a") and limiter.allow("a") and not limiter.allow("a")


def test_refused_messages_do_not_extend_the_block_and_senders_are_independent() -> None:
    clock = Clock()
    limiter = RateLimiter(2, 10.0, clock=clock)
    assert limiter.allow("a") and limiter.allow("a")
    clock.now += 5
    assert not limiter.allow("a") and not limiter.allow("a")
    assert limiter.allow("b") and limiter.allow("b") and not limiter.allow("b")
    clock.now += 5.5  # 10.5 s after a's hits, 0.5 s after its refusals
    assert limiter.allow("a")
    clock.now += 1
    assert limiter.allow("a") and not limiter.allow("a")


def test_one_hit_each_then_the_oldest_expires_first() -> None:
    clock = Clock()
    limiter = RateLimiter(2, 10.0, clock=clock)
    assert limiter.allow("a")
    clock.now += 4
    assert limiter.allow("a") and not limiter.allow("a")
    clock.now += 6.5  # the first hit is 10.5 s old, the second 6.5 s
    assert limiter.allow("a") and not limiter.allow("a")


def test_idle_senders_are_forgotten_once_more_than_ten_thousand_are_remembered() -> None:
    clock = Clock()
    limiter = RateLimiter(1, 60.0, clock=clock)
    for number in range(9_998):
        assert limiter.allow(f"old-{number}")
    clock.now += 0.5
    assert limiter.allow("edge")
    clock.now += 60.0  # the old senders are now idle for more than the window, "edge" for exactly the window
    assert limiter.allow("recent")  # 10 000 senders: nothing is forgotten yet
    assert len(limiter._hits) == 10_000
    assert limiter.allow("new")  # 10 001: those idle for more than the window are dropped
    assert set(limiter._hits) == {"edge", "recent", "new"}, "a sender exactly `window` seconds idle is kept"
    assert not limiter.allow("recent") and not limiter.allow("new"), "the live ones keep their hits"
