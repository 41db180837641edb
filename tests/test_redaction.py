"""What the Rasa tracker store forgets (rasa_plugins.redaction; the store itself is tested end to end)."""

from __future__ import annotations

from rasa_plugins.redaction import REDACTED, forget_before_restart, needs_redaction, redact_events, stale_senders

EVENTS = [
    {"event": "user", "text": "mijn chef steelt", "parse_data": {"text": "mijn chef steelt", "entities": [{"v": 1}],
                                                                  "intent": {"name": "fraude_corruptie"}}},
    {"event": "bot", "text": "Je ontvangstcode is 1234", "data": {"buttons": []}},
    {"event": "slot", "name": "report_what", "value": "mijn chef steelt"},
    {"event": "slot", "name": "last_route", "value": "fraude_corruptie"},
    {"event": "action", "name": "action_route"},
]


def test_nothing_is_redacted_before_a_report_is_done() -> None:
    assert not needs_redaction(EVENTS)
    assert needs_redaction([*EVENTS, {"event": "slot", "name": "redact_conversation", "value": True}])


def test_redaction_blanks_texts_and_report_slots_but_keeps_the_dialogue_state() -> None:
    redacted = redact_events(EVENTS)
    assert "steelt" not in str(redacted) and "1234" not in str(redacted)
    assert redacted[0]["text"] == REDACTED and redacted[0]["parse_data"]["intent"]["name"] == "fraude_corruptie"
    assert redacted[2]["value"] is None and redacted[3]["value"] == "fraude_corruptie"
    assert redacted[4] == EVENTS[4]
    assert EVENTS[0]["text"] == "mijn chef steelt", "the input is not modified"


def test_idle_conversations_are_found() -> None:
    assert stale_senders({"a": 0.0, "b": 3000.0}, now=3700.0, max_idle_seconds=3600) == ["a"]


def test_a_restart_forgets_everything_before_it() -> None:
    events = [*EVENTS, {"event": "restart"}, {"event": "action", "name": "action_listen"}]
    assert forget_before_restart(events) == [{"event": "restart"}, {"event": "action", "name": "action_listen"}]
    assert forget_before_restart(EVENTS) == EVENTS
