"""In-memory tracker store that forgets: redacts finished reports and drops idle conversations.

- When the actions set the slot `redact_conversation` (a report or follow-up is done), every stored user and
  bot text of that conversation is blanked and the report and follow-up slot values are dropped.
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
