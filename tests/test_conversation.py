"""Conversations through the real Rasa REST channel, the trained model and the real action server.

This is also the protocol test between Rasa 3.6 (Python 3.10) and rasa-sdk 3.21 (this Python).
"""

from __future__ import annotations

import uuid

import pytest

from devtools.stack import Stack as Servers
from integrity.profiles import get_profile

pytestmark = pytest.mark.rasa


def sender() -> str:
    return "test-" + uuid.uuid4().hex


def texts(messages: list[dict]) -> str:
    return "\n".join(m.get("text", "") for m in messages)


def payloads(messages: list[dict]) -> list[str]:
    return [b["payload"] for m in messages for b in m.get("buttons", [])]


def test_greeting_carries_the_privacy_notice(servers: Servers) -> None:
    reply = servers.say(sender(), "hallo")
    assert len(reply) == 1
    assert "naam" in reply[0]["text"]


def test_bullying_then_formal_procedure_switches_to_prevention_adviser(servers: Servers) -> None:
    who = sender()
    first = servers.say(who, "mijn teamleider kleineert me al maanden waar iedereen bij is")
    assert "vertrouwenspersoon" in first[1]["text"]
    assert payloads(first) == ["/kies_informeel", "/kies_formeel"]
    formal = servers.say(who, "/kies_formeel")
    assert "formeel verzoek" in formal[0]["text"]
    assert formal[1]["text"].startswith("Je kan terecht bij de preventieadviseur")


def test_typed_answer_to_the_clarifying_question(servers: Servers) -> None:
    who = sender()
    servers.say(who, "een collega maakt steeds seksueel getinte grappen over mij")
    informal = servers.say(who, "liever eerst informeel")
    assert informal[1]["text"].startswith("Je kan terecht bij de vertrouwenspersoon")


def test_emergency_is_answered_with_112_first(servers: Servers) -> None:
    reply = servers.say(sender(), "help er staat hier een man met een mes aan de balie")
    assert "112" in reply[0]["text"].splitlines()[0]


def test_suicidal_thoughts_get_1813_first(servers: Servers) -> None:
    reply = servers.say(sender(), "ik wil er niet meer zijn")
    assert "1813" in reply[0]["text"].splitlines()[0]


def test_out_of_scope_is_refused_politely_without_actor(servers: Servers) -> None:
    reply = servers.say(sender(), "tot hoe laat is de kantine open vandaag")
    assert len(reply) == 1
    assert "niet mee helpen" in reply[0]["text"]


def test_fraud_offers_a_report_and_handoff_goes_to_audit(servers: Servers) -> None:
    who = sender()
    first = servers.say(who, "mijn collega tankt met de tankkaart van het werk voor zijn eigen auto")
    assert "Audit Vlaanderen" in first[1]["text"]
    assert "melding" in first[-1]["text"]
    handoff = servers.say(who, "kan ik met een echte mens praten")
    assert "Audit Vlaanderen" in handoff[1]["text"]


def test_actor_question_gets_the_actor_card(servers: Servers) -> None:
    reply = servers.say(sender(), "hoe kan ik spreekbuis bereiken")
    assert reply[0]["text"].startswith("Je kan terecht bij Spreekbuis")
    assert "9 tot 19 uur" in reply[0]["text"]


def test_federal_police_profile_from_channel_metadata(servers: Servers) -> None:
    reply = servers.say(sender(), "hoe meld ik corruptie in mijn korps", metadata={"profile": "federale-politie"})
    joined = texts(reply)
    assert "Audit Vlaanderen" not in joined
    police, flemish = get_profile("federale-politie"), get_profile("vlaamse-overheid")
    own = [actor.name for actor_id, actor in police.actors.items() if actor_id not in flemish.actors]
    assert any(name.lower() in joined.lower() for name in own), joined  # a federal police service is named
