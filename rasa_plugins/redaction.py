"""What the tracker store forgets, as plain functions (no Rasa import, so the main test suite can test them).

A finished report or follow-up is marked by the actions with a `redact_conversation` slot event set to true
(followed at once by one that clears the slot again): a point in time, not a state of the conversation. The
store blanks what was said up to and including the LAST such marker; whatever comes after it (a new report or
follow-up in progress) stays intact until that one finishes and sets its own marker.
"""

from __future__ import annotations

from typing import Any

REDACT_SLOT = "redact_conversation"
REDACTED = "[verwijderd]"
PRIVATE_SLOT_PREFIXES = ("report_", "followup_")


def is_redaction_point(event: dict[str, Any]) -> bool:
    return event.get("event") == "slot" and event.get("name") == REDACT_SLOT and bool(event.get("value"))


def last_redaction_point(events: list[dict[str, Any]]) -> int | None:
    """The index of the last redaction marker, or None when nothing is to be forgotten (yet)."""
    for index in range(len(events) - 1, -1, -1):
        if is_redaction_point(events[index]):
            return index
    return None


def needs_redaction(events: list[dict[str, Any]]) -> bool:
    return last_redaction_point(events) is not None


def redact_event(event: dict[str, Any]) -> dict[str, Any]:
    """A copy of one event without what was said: user and bot text (with parse data and entities) and the values
    of report and follow-up slots. Intents, actions and other slots (the dialogue state) are kept."""
    event = dict(event)
    kind = event.get("event")
    if kind in ("user", "bot"):
        if event.get("text"):
            event["text"] = REDACTED
        if kind == "user" and event.get("parse_data"):
            event["parse_data"] = {**event["parse_data"], "text": REDACTED, "entities": []}
        if kind == "bot":
            event["data"] = {}
    elif kind == "slot" and str(event.get("name", "")).startswith(PRIVATE_SLOT_PREFIXES):
        event["value"] = None
    return event


def redact_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Blank everything up to and including the last redaction point; the events after it are kept as they are.

    Idempotent: redacting stored (already redacted) events again changes nothing, so every save may call it.
    """
    point = last_redaction_point(events)
    if point is None:
        return [dict(event) for event in events]
    return [redact_event(event) if index <= point else dict(event) for index, event in enumerate(events)]


def forget_before_restart(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """After a restart (`/stop` in Telegram sends `/restart`) nothing said before it is kept."""
    restarts = [i for i, e in enumerate(events) if e.get("event") == "restart"]
    return events[restarts[-1]:] if restarts else events


def stale_senders(last_seen: dict[str, float], now: float, max_idle_seconds: float) -> list[str]:
    """Conversations idle for longer than the limit: the store drops them whole (also abandoned reports)."""
    return [sender for sender, seen in last_seen.items() if now - seen > max_idle_seconds]


def expiry_seconds(record_exp: float | str | None, default: float) -> int:
    """A shared store's key expiry in whole seconds: unset means `default`; zero, negative or text is refused."""
    if record_exp is None or record_exp == "":
        return int(default)
    try:
        seconds = int(float(record_exp))
    except ValueError:
        raise ValueError(f"record_exp must be a number of seconds, got {record_exp!r}") from None
    if seconds <= 0:
        raise ValueError("record_exp must be a positive number of seconds: conversations are never kept forever")
    return seconds
