"""Tracker store that forgets what was said once a report or follow-up is done.

When the actions set the slot `redact_conversation`, every stored user and bot text of that conversation is
replaced (also the parse data and entity values), and the values of the report and follow-up slots are dropped.
The in-memory store keeps nothing on disk; the Redis variant (several Rasa instances) also expires keys.
"""

from __future__ import annotations

import json
from typing import Any

from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker

REDACT_SLOT = "redact_conversation"
REDACTED = "[verwijderd]"
PRIVATE_SLOT_PREFIXES = ("report_", "followup_")


def needs_redaction(events: list[dict[str, Any]]) -> bool:
    return any(e.get("event") == "slot" and e.get("name") == REDACT_SLOT and e.get("value") for e in events)


def redact_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    redacted = []
    for event in events:
        event = dict(event)
        kind = event.get("event")
        if kind in ("user", "bot"):
            if event.get("text"):
                event["text"] = REDACTED
            if kind == "user":
                parse = dict(event.get("parse_data") or {})
                if parse:
                    parse["text"] = REDACTED
                    parse["entities"] = []
                    event["parse_data"] = parse
            else:
                event["data"] = {}
        elif kind == "slot" and str(event.get("name", "")).startswith(PRIVATE_SLOT_PREFIXES):
            event["value"] = None
        redacted.append(event)
    return redacted


def serialise(tracker: DialogueStateTracker) -> str:
    dialogue = tracker.as_dialogue().as_dict()
    if needs_redaction(dialogue.get("events") or []):
        dialogue["events"] = redact_events(dialogue["events"])
    return json.dumps(dialogue)


class RedactingInMemoryTrackerStore(InMemoryTrackerStore):
    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        self.store[tracker.sender_id] = serialise(tracker)
