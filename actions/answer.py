"""Rasa custom actions that answer a turn through the shared routing (integrity.routing.decide)."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.safety import guarded
from actions.settings import domain_settings
from integrity.dialogue_state import DialogueState
from integrity.errors import DataFileError
from integrity.profiles import Profile, get_profile
from integrity.routing import Decision, decide
from integrity.staff import analytics

logger = logging.getLogger(__name__)


def profile_id(tracker: Tracker) -> str | None:
    """Profile from the message metadata (channel), else the slot, else the server default."""
    metadata = tracker.latest_message.get("metadata") or {}
    return metadata.get("profile") or tracker.get_slot("profile")


def current_profile(tracker: Tracker) -> Profile:
    """The conversation's organisation profile; an unknown one falls back to the default, logged for operators."""
    try:
        return get_profile(profile_id(tracker) or domain_settings().profile)
    except DataFileError as exc:
        logger.error("Cannot load organisation profile: %s", exc)
        return get_profile(domain_settings().profile)


def decision_metadata(decision: Decision) -> dict[str, Any]:
    """What the turn decided, kept with the first bot message (BotUttered metadata, not shown by any channel):
    the contract topic, the actors suggested and whether the reply leads with emergency numbers. `bin/converse`
    reads it from the tracker; it holds no user text."""
    return {"route": decision.route, "topic": decision.topic, "actors": list(decision.actors),
            "emergency": decision.emergency, "fallback": decision.fallback}


def send(decision: Decision, dispatcher: CollectingDispatcher) -> None:
    for number, message in enumerate(decision.messages):
        buttons = [{"title": b.title, "payload": b.payload} for b in message.buttons]
        extra = {"decision": decision_metadata(decision)} if number == 0 else {}
        dispatcher.utter_message(text=message.text, buttons=buttons or None, **extra)


def slot_events(decision: Decision, profile: str) -> list[EventType]:
    return [
        SlotSet("profile", profile),
        SlotSet("pending_route", decision.pending_route),
        SlotSet("last_route", decision.route),
        SlotSet("dialogue", decision.state.as_slot()),
    ]


class ActionRoute(Action):
    """Answer what the user asked: topic answer, actor, clarifying question, emergency, fallback."""

    def name(self) -> str:
        return "action_route"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        profile = current_profile(tracker)
        state = DialogueState.from_slot(tracker.get_slot("dialogue"))
        decision = decide(tracker.latest_message, profile, state=state,
                          pending_route=tracker.get_slot("pending_route"),
                          last_route=tracker.get_slot("last_route"),
                          channel=(tracker.latest_message.get("metadata") or {}).get("channel"))
        logger.info("route=%s topic=%s fallback=%s confidence=%.2f",
                    decision.route, decision.topic, decision.fallback, decision.confidence)
        send(decision, dispatcher)
        analytics.note_decision(profile.id, decision)  # counts only (no text); in the background, never raises
        return slot_events(decision, profile.id)
