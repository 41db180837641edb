"""Realistic load on one Rasa instance: many simulated users who think between messages.

    .venv/bin/python -m benchmarks.think_time_load [--users 50 100 150 200 300] [--seconds 45]

Each simulated user holds the conversations of benchmarks.chat_load one after the other, with an exponentially
distributed pause (mean `THINK_S`) before every message, and starts at a random moment in the first pause, so
that the offered rate is about users / THINK_S messages per second. Levels run one after the other on one stack
(one Rasa server, one action server); a level stops adding users once its p95 is above `P95_LIMIT_MS`. The
client runs on the same 2-core machine and takes part of the CPU: the figures are a lower bound for a Rasa server
with the machine to itself.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import random
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks.chat_load import CONVERSATIONS, TIMEOUT
from benchmarks.measure import machine, percentile
from devtools.stack import running_stack

THINK_S = 5.0
P95_LIMIT_MS = 200.0


@dataclass(frozen=True)
class LevelResult:
    users: int
    turns: int
    errors: int
    throughput: float  # answered messages per second
    p50_ms: float
    p95_ms: float
    p99_ms: float


async def _user(client: httpx.AsyncClient, webhook: str, user: int, stop_at: float, rng: random.Random,
                latencies: list[float], errors: list[str]) -> None:
    await asyncio.sleep(rng.uniform(0, THINK_S))
    n = 0
    while True:
        sender = f"load-{user}-{n}-{uuid.uuid4().hex[:6]}"
        for text in CONVERSATIONS[(user + n) % len(CONVERSATIONS)]:
            if time.monotonic() >= stop_at:
                return
            start = time.perf_counter()
            try:
                response = await client.post(webhook, json={"sender": sender, "message": text})
                if response.status_code != 200 or not response.json():
                    errors.append(f"HTTP {response.status_code}")
            except (httpx.HTTPError, ValueError) as exc:
                errors.append(type(exc).__name__)
            latencies.append((time.perf_counter() - start) * 1000)
            await asyncio.sleep(rng.expovariate(1 / THINK_S))
        n += 1


async def run_level(webhook: str, users: int, seconds: float, seed: int = 0) -> LevelResult:
    latencies: list[float] = []
    errors: list[str] = []
    rng = random.Random(seed)
    limits = httpx.Limits(max_connections=users, max_keepalive_connections=users)
    async with httpx.AsyncClient(timeout=TIMEOUT, limits=limits) as client:
        start = time.monotonic()
        stop_at = start + seconds
        await asyncio.gather(*(_user(client, webhook, u, stop_at, random.Random(rng.random()), latencies, errors)
                               for u in range(users)))
        elapsed = time.monotonic() - start
    return LevelResult(users, len(latencies), len(errors), (len(latencies) - len(errors)) / elapsed,
                       percentile(latencies, 50), percentile(latencies, 95), percentile(latencies, 99))


def bench_think_time(webhook: str, levels: list[int], seconds: float) -> list[LevelResult]:
    results = []
    for users in levels:
        result = asyncio.run(run_level(webhook, users, seconds))
        results.append(result)
        if result.p95_ms > P95_LIMIT_MS:
            break
    return results


def best_throughput(results: list[LevelResult]) -> LevelResult | None:
    within = [r for r in results if r.p95_ms <= P95_LIMIT_MS and r.errors == 0]
    return max(within, key=lambda r: r.throughput) if within else None


def table(results: list[LevelResult] | None, seconds: float) -> list[str]:
    lines = ["## Realistic load: simulated users with think time", ""]
    if results is None:
        return [*lines, "Not measured in this run (--skip-chat).", ""]
    best = best_throughput(results)
    verdict = (f"Highest throughput with p95 ≤ {P95_LIMIT_MS:.0f} ms: **{best.throughput:.1f} messages/s** "
               f"({best.users} users)." if best else f"No level kept p95 ≤ {P95_LIMIT_MS:.0f} ms.")
    return [*lines,
            f"One Rasa server and one action server; each user pauses an exponential think time (mean {THINK_S:.0f} s) "
            f"before every message; {seconds:.0f} s per level; the load client shares the 2 cores.", "",
            "| users | messages | errors | messages/s | p50 ms | p95 ms | p99 ms |", "|---|---|---|---|---|---|---|",
            *(f"| {r.users} | {r.turns} | {r.errors} | {r.throughput:.1f} | {r.p50_ms:.1f} | {r.p95_ms:.1f} | "
              f"{r.p99_ms:.1f} |" for r in results), "", verdict, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, nargs="+", default=[50, 100, 150, 200, 300])
    parser.add_argument("--seconds", type=float, default=45.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, running_stack(Path(tmp)) as stack:
        results = bench_think_time(stack.webhook, args.users, args.seconds)
    print(f"Machine: {machine()}; {datetime.date.today()}\n")
    print("\n".join(table(results, args.seconds)))


if __name__ == "__main__":
    main()
