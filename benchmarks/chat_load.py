"""Chat turn latency under concurrent simulated users, through the REST channel and the action server.

Each simulated user has its own sender id and holds short realistic conversations (greeting, a topic question,
the informal/formal choice, a follow-up question, thanks), one turn after the other; all users run at once.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

import httpx

from benchmarks.measure import percentile

CONVERSATIONS: list[list[str]] = [
    ["hallo", "ik word al maanden gepest door mijn ploegchef", "/kies_informeel",
     "hoe bereik ik de vertrouwenspersoon", "bedankt"],
    ["goeiedag", "mag ik een fles wijn van een leverancier aannemen", "en een uitnodiging voor een etentje?",
     "wat is het weer morgen", "tot ziens"],
    ["ik vermoed dat een collega facturen vervalst", "wie is audit vlaanderen", "mag mijn broer meedingen naar "
     "een opdracht van mijn dienst", "dank je"],
    ["ik heb te veel werkdruk en slaap slecht", "/kies_formeel", "ik wil met een mens praten", "merci"],
]
TIMEOUT = 120.0


@dataclass(frozen=True)
class LoadResult:
    users: int
    turns: int
    errors: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float

    @property
    def turns_per_second(self) -> float:
        return self.turns / self.seconds


async def _user(client: httpx.AsyncClient, webhook: str, user: int, conversations: int,
                latencies: list[float], errors: list[str]) -> None:
    for n in range(conversations):
        sender = f"bench-{user}-{n}-{uuid.uuid4().hex[:8]}"
        for text in CONVERSATIONS[(user + n) % len(CONVERSATIONS)]:
            start = time.perf_counter()
            try:
                response = await client.post(webhook, json={"sender": sender, "message": text})
                ok = response.status_code == 200 and bool(response.json())
                problem = f"HTTP {response.status_code}" if not ok else ""
            except (httpx.HTTPError, ValueError) as exc:
                ok, problem = False, type(exc).__name__
            latencies.append((time.perf_counter() - start) * 1000)
            if not ok:
                errors.append(problem or "empty reply")


async def _run_level(webhook: str, users: int, conversations: int) -> LoadResult:
    latencies: list[float] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=users, max_keepalive_connections=users)
    async with httpx.AsyncClient(timeout=TIMEOUT, limits=limits) as client:
        start = time.perf_counter()
        await asyncio.gather(*(_user(client, webhook, u, conversations, latencies, errors) for u in range(users)))
        seconds = time.perf_counter() - start
    return LoadResult(users, len(latencies), len(errors), seconds, percentile(latencies, 50),
                      percentile(latencies, 95), percentile(latencies, 99), max(latencies))


def conversations_for(users: int, min_turns: int) -> int:
    """Conversations per user so that a level has at least `min_turns` turns."""
    shortest = min(len(c) for c in CONVERSATIONS)
    return max(1, -(-min_turns // (users * shortest)))


def bench_chat_load(webhook: str, levels: list[int], min_turns: int = 200) -> list[LoadResult]:
    """One warm-up conversation per conversation kind, then each concurrency level in turn."""
    asyncio.run(_run_level(webhook, len(CONVERSATIONS), 1))
    return [asyncio.run(_run_level(webhook, users, conversations_for(users, min_turns))) for users in levels]
