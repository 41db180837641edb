"""One builder for the rasa-sdk Trackers that the action tests hand to the actions."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker


def make_tracker(*, text: str = "", intent: str = "out_of_scope", confidence: float = 0.9,
                 ranking: list[dict[str, Any]] | None = None, slots: dict[str, Any] | None = None,
                 events: list[dict[str, Any]] | None = None, metadata: dict[str, Any] | None = None,
                 entities: list[dict[str, Any]] | None = None, sender: str = "test-sender",
                 latest_action: str = "action_listen") -> Tracker:
    message = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": ranking or [{"name": intent, "confidence": confidence}],
        "entities": entities or [],
        "metadata": metadata or {},
    }
    return Tracker(sender, dict(slots or {}), message, events or [], False, None, {}, latest_action)
