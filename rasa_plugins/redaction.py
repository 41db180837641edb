"""What the tracker store forgets, as plain functions (no Rasa import, so the main test suite can test them)."""

from __future__ import annotations

from typing import Any

REDACT_SLOT = "redact_conversation"
REDACTED = "[verwijderd]"
PRIVATE_SLOT_PREFIXES = ("report_", "followup_")


def needs_redaction(events: list[dict[str, Any]]) -> bool:
    return any(e.get("event") == "slot" and e.get("name") == REDACT_SLOT and e.get("value") for e in events)


def redact_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Blank every user and bot text (with parse data and entities) and drop report and follow-up slot values."""
    redacted = []
    for event in events:
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
        redacted.append(event)
    return redacted


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
