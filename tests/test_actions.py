"""The custom action, called as the action server calls it: a real rasa_sdk Tracker and dispatcher."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.answer import ActionRoute
from tests.trackers import make_tracker


def tracker(intent: str, *, text: str = "", slots: dict[str, Any] | None = None,
            metadata: dict[str, Any] | None = None, entities: list[dict[str, Any]] | None = None) -> Tracker:
    return make_tracker(text=text, intent=intent, slots=slots, metadata=metadata, entities=entities)


async def run(t: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await ActionRoute().run(dispatcher, t, {})
    return dispatcher.messages, events


def slots(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


async def test_psychosocial_answer_asks_informal_or_formal_and_remembers_the_topic() -> None:
    messages, events = await run(tracker("pesten", text="ik word gepest"))
    assert "vertrouwenspersoon" in messages[1]["text"]
    assert [b["payload"] for b in messages[-1]["buttons"]] == ["/kies_informeel", "/kies_formeel"]
    state = slots(events).pop("dialogue")
    assert {k: v for k, v in slots(events).items() if k != "dialogue"} == {
        "profile": "vlaamse-overheid", "pending_route": "pesten", "last_route": "pesten"}
    assert state["route"] == "pesten" and state["pending"] == "procedure"
    assert state["shown"] == ["answer:pesten", "card:vertrouwenspersoon"]


async def test_the_turns_decision_goes_with_the_first_message_only() -> None:
    messages, _ = await run(tracker("fraude_corruptie", text="mijn chef steelt uit de kas"))
    assert messages[0]["decision"] == {"route": "fraude_corruptie", "topic": "fraude_corruptie",
                                       "actors": ["audit_vlaanderen", "vlaamse_ombudsdienst"], "emergency": False,
                                       "fallback": False}
    assert all("decision" not in m for m in messages[1:])


async def test_the_conversation_state_is_read_back_from_the_slot() -> None:
    _, events = await run(tracker("pesten", text="mijn teamleider kleineert me"))
    state = slots(events)["dialogue"]
    messages, events = await run(tracker("vraag_volgende_stap", text="en als dat niet helpt?",
                                         slots={"dialogue": state}))
    assert messages[0]["decision"]["topic"] == "pesten"
    assert messages[0]["decision"]["actors"][0] == "preventieadviseur_psychosociaal"
    assert slots(events)["dialogue"]["stage"] == 1


async def test_formal_choice_uses_the_pending_topic_and_clears_it() -> None:
    messages, events = await run(tracker("kies_formeel", slots={"pending_route": "discriminatie"}))
    assert "preventieadviseur" in messages[1]["text"]
    assert slots(events)["pending_route"] is None
    assert slots(events)["last_route"] == "discriminatie"


async def test_profile_from_channel_metadata() -> None:
    messages, events = await run(tracker("melden", metadata={"profile": "federale-politie"}))
    assert slots(events)["profile"] == "federale-politie"
    assert "Audit Vlaanderen" not in messages[1]["text"]


async def test_unknown_profile_falls_back_to_default_and_logs_in_english(caplog) -> None:
    messages, events = await run(tracker("geschenken", metadata={"profile": "bestaat-niet"}))
    assert slots(events)["profile"] == "vlaamse-overheid"
    assert "Cannot load organisation profile" in caplog.text
    default, _ = await run(tracker("geschenken"))
    assert messages == default  # the default organisation's answer, contact data and all


async def test_action_logs_no_message_text(caplog) -> None:
    caplog.set_level("DEBUG")
    await run(tracker("fraude_corruptie", text="mijn collega Jan Peeters steelt laptops"))
    assert "Peeters" not in caplog.text
    assert "route=fraude_corruptie" in caplog.text
