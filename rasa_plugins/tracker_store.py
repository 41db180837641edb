"""In-memory tracker store that forgets: redacts finished reports and drops idle conversations.

- When a report or follow-up is done the actions mark that point in time (a `redact_conversation` slot event
  set to true): every stored user and bot text up to and including the last marker is blanked and the report
  and follow-up slot values set up to there are dropped. What comes after the marker (a new report or follow-up
  in progress, with its receipt code) stays intact until that one is done and marks its own point.
- A restart (`/restart`, sent by the Telegram gateway's /stop) drops everything said before it.
- A conversation idle for longer than `max_idle_seconds` (endpoints.yml, default one hour) is deleted, so an
  abandoned report does not stay in memory either. Nothing is ever written to disk.
"""

from __future__ import annotations

import json
import time
from typing import Any

from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from rasa_plugins.redaction import forget_before_restart, needs_redaction, redact_events, stale_senders

DEFAULT_MAX_IDLE_SECONDS = 3600.0


def serialise(tracker: DialogueStateTracker) -> str:
    dialogue = tracker.as_dialogue().as_dict()
    dialogue["events"] = forget_before_restart(dialogue.get("events") or [])
    if needs_redaction(dialogue.get("events") or []):
        dialogue["events"] = redact_events(dialogue["events"])
    return json.dumps(dialogue)


class RedactingInMemoryTrackerStore(InMemoryTrackerStore):
    def __init__(self, domain: Domain, event_broker: Any = None,
                 max_idle_seconds: float = DEFAULT_MAX_IDLE_SECONDS, **kwargs: Any) -> None:
        super().__init__(domain, event_broker, **kwargs)
        self.max_idle_seconds = float(max_idle_seconds)
        self.last_seen: dict[str, float] = {}

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        now = time.monotonic()
        for sender in stale_senders(self.last_seen, now, self.max_idle_seconds):
            self.store.pop(sender, None)
            self.last_seen.pop(sender, None)
        self.store[tracker.sender_id] = serialise(tracker)
        self.last_seen[tracker.sender_id] = now
