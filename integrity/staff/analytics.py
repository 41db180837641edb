"""Conversation analytics without personal data: per day and organisation, how often the bot saw an event.

Only (day, organisation, event, topic) -> count is stored (`conversation_counts`): no message text, no sender id,
no time of day. `topic` is a contract topic id (integrity.content.TOPICS) or empty.

- `record()` adds one to a counter with a single atomic upsert (INSERT ... ON CONFLICT DO UPDATE SET count = count
  + 1) on SQLite and PostgreSQL, so concurrent action-server workers never lose a count.
- `note()` / `note_decision()` are what the chat actions call: they hand the event to one background thread and
  return at once, so a slow, locked or unreachable database never delays or breaks an answer. If the database
  fails, the thread logs one English line (the exception type only) and drops events for a short pause.
- `summary()` reads the counters for the back office page /beheer/gesprekken.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from integrity.content import TOPICS, default_content
from integrity.ids import PROFILE_ID
from integrity.routing import Decision
from integrity.settings import TIMEZONE
from integrity.staff.models import ConversationCount

log = logging.getLogger(__name__)

EVENTS = ("topic", "fallback", "handover", "emergency", "report_started", "report_submitted", "followup")
# Route kinds whose answer counts as "a topic answered". Not the informal/formal choice: it continues a
# psychosocial question that was already counted.
TOPIC_KINDS = ("psychosocial", "violation", "advice", "reporting", "actor_info")
ZONE = TIMEZONE  # the day a conversation happened, as the organisation counts days
QUEUE_MAX = 10_000  # events waiting for the database; beyond this they are dropped
PAUSE_AFTER_FAILURE = 30.0  # seconds without database attempts after a failure

Target = Session | sessionmaker[Session]


def today() -> date:
    return datetime.now(ZONE).date()


def _check(profile_id: str, event: str, topic: str) -> None:
    if event not in EVENTS:
        raise ValueError(f"unknown conversation event '{event[:40]}'")
    if topic and topic not in TOPICS:
        raise ValueError(f"unknown topic '{topic[:64]}'")
    if not PROFILE_ID.fullmatch(profile_id):
        raise ValueError("invalid profile id")


def record(target: Target, profile_id: str, event: str, topic: str = "", day: date | None = None) -> None:
    """Add one to the counter (day, profile_id, event, topic) and commit. Atomic under concurrency."""
    _check(profile_id, event, topic)
    if isinstance(target, Session):
        _upsert(target, profile_id, event, topic, day or today())
        return
    with target() as session:
        _upsert(session, profile_id, event, topic, day or today())


def _upsert(session: Session, profile_id: str, event: str, topic: str, day: date) -> None:
    dialect = session.get_bind().dialect.name
    insert: Callable[..., Any]
    if dialect == "postgresql":
        insert = postgresql.insert
    elif dialect == "sqlite":
        insert = sqlite.insert
    else:
        raise RuntimeError(f"conversation counts need SQLite or PostgreSQL, not {dialect}")
    statement = insert(ConversationCount).values(day=day, profile_id=profile_id, event=event, topic=topic, count=1)
    statement = statement.on_conflict_do_update(
        index_elements=["day", "profile_id", "event", "topic"],
        set_={"count": ConversationCount.__table__.c["count"] + 1},
    )
    session.execute(statement)
    session.commit()


# --- from a routing decision to an event -----------------------------------------------------------------------


def event_for(decision: Decision) -> tuple[str, str] | None:
    """(event, topic) for what the bot answered, or None for small talk and the start of a form."""
    route = default_content().routes.get(decision.route)
    kind = route.kind if route else ""
    if kind == "emergency":
        return "emergency", decision.topic
    if decision.fallback:
        return "fallback", decision.topic if decision.topic in TOPICS else ""
    if kind == "handoff":
        return "handover", ""
    if kind == "psychosocial" and decision.pending_route is None:
        return None  # the answer to "informal or formal?" carries the base route without asking again
    if kind in TOPIC_KINDS:
        return "topic", decision.topic
    return None


# --- background recording for the chat -------------------------------------------------------------------------


@dataclass
class Recorder:
    """One daemon thread that writes queued events; `submit` never blocks and never raises."""

    factory: Callable[[], sessionmaker[Session]]
    pause: float = PAUSE_AFTER_FAILURE
    _queue: queue.Queue[tuple[str, str, str, date]] = field(default_factory=lambda: queue.Queue(QUEUE_MAX))
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _paused_until: float = 0.0
    dropped: int = 0

    def submit(self, profile_id: str, event: str, topic: str = "") -> None:
        try:
            _check(profile_id, event, topic)
            self._start()
            self._queue.put_nowait((profile_id, event, topic, today()))
        except queue.Full:
            self.dropped += 1
        except Exception as exc:  # never let analytics break an answer
            log.warning("Conversation event not counted: %s", type(exc).__name__)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued event was written or dropped (tests, shutdown). True if done in time."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def _start(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="conversation-counts", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            profile_id, event, topic, day = self._queue.get()
            try:
                if time.monotonic() < self._paused_until:
                    self.dropped += 1
                    continue
                record(self.factory(), profile_id, event, topic, day)
            except Exception as exc:  # database down, locked or not migrated: count nothing, keep answering
                self.dropped += 1
                self._paused_until = time.monotonic() + self.pause
                log.warning("Conversation counts not recorded (%s); pausing for %.0f s",
                            type(exc).__name__, self.pause)
            finally:
                self._queue.task_done()


def _no_database() -> sessionmaker[Session]:
    raise RuntimeError("conversation counts have no database: the boundary calls analytics.use_database()")


recorder = Recorder(_no_database)


def use_database(factory: Callable[[], sessionmaker[Session]]) -> None:
    """Where `note()` writes: the boundary's session factory (the action server's, `actions.forms.sessions`)."""
    recorder.factory = factory


def note(profile_id: str, event: str, topic: str = "") -> None:
    """Count an event in the background (the chat actions call this); returns at once, never raises."""
    recorder.submit(profile_id, event, topic)


def note_decision(profile_id: str, decision: Decision) -> None:
    try:
        found = event_for(decision)
    except Exception as exc:
        log.warning("Conversation event not counted: %s", type(exc).__name__)
        return
    if found is not None:
        note(profile_id, *found)


# --- reading for the back office -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    days: list[date]
    per_day: dict[date, dict[str, int]]  # day -> event -> count
    per_topic: dict[str, dict[str, int]]  # topic -> event -> count (topic and fallback events)
    totals: dict[str, int]  # event -> count

    @property
    def fallback_rate(self) -> float | None:
        return fallback_rate(self.totals)


def fallback_rate(counts: dict[str, int]) -> float | None:
    """Share of questions the bot did not understand (None without questions); a hand-over counts as a question.

    Emergencies are left out: their count is suppressed when small, and a rate over them would give it away
    (with the other counts of the day shown exactly)."""
    asked = sum(counts.get(e, 0) for e in ("topic", "fallback", "handover"))
    return counts.get("fallback", 0) / asked if asked else None


def summary(session: Session, profile_id: str, start: date, end: date) -> Summary:
    """Counters of one organisation from `start` to `end` (both included), summed in SQL."""
    where = (ConversationCount.profile_id == profile_id, ConversationCount.day >= start,
             ConversationCount.day <= end)
    total = func.sum(ConversationCount.count)
    per_day: dict[date, dict[str, int]] = {}
    for day, event, count in session.execute(
            select(ConversationCount.day, ConversationCount.event, total).where(*where)
            .group_by(ConversationCount.day, ConversationCount.event)):
        per_day.setdefault(day, {})[event] = int(count)
    per_topic: dict[str, dict[str, int]] = {}
    for topic, event, count in session.execute(
            select(ConversationCount.topic, ConversationCount.event, total)
            .where(*where, ConversationCount.event.in_(("topic", "fallback")), ConversationCount.topic != "")
            .group_by(ConversationCount.topic, ConversationCount.event)):
        per_topic.setdefault(topic, {})[event] = int(count)
    totals: dict[str, int] = {}
    for counts in per_day.values():
        for event, count in counts.items():
            totals[event] = totals.get(event, 0) + count
    return Summary(sorted(per_day, reverse=True), per_day, per_topic, totals)
