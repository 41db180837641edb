"""Whole conversations through the real Rasa server, model, rules and action server (issue 11).

Each test is a conversation a staff member could have; it checks what the bot says and, from the decision that
action_route keeps with its first message (read back from the tracker, as bin/converse does), the topic and the
actors it suggests.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from devtools.stack import Stack
from tests.conftest import API_TOKEN

pytestmark = pytest.mark.rasa
FP = {"profile": "federale-politie"}


class Chat:
    def __init__(self, servers: Stack, metadata: dict[str, Any] | None = None) -> None:
        self.servers, self.metadata = servers, metadata
        self.sender = "ctx-" + uuid.uuid4().hex

    def say(self, text: str) -> dict[str, Any]:
        messages = self.servers.say(self.sender, text, metadata=self.metadata)
        events = httpx.get(f"{self.servers.rasa_url}/conversations/{self.sender}/tracker",
                           params={"token": API_TOKEN}, timeout=30).json()["events"]
        last_user = max(i for i, e in enumerate(events) if e["event"] == "user")
        decision = next((e["metadata"]["decision"] for e in events[last_user:]
                         if e["event"] == "bot" and "decision" in (e.get("metadata") or {})), {})
        return {"text": "\n".join(m.get("text", "") for m in messages),
                "payloads": [b["payload"] for m in messages for b in m.get("buttons", [])],
                "topic": decision.get("topic"), "actors": decision.get("actors", []),
                "emergency": decision.get("emergency", False)}


def test_follow_ups_stay_in_the_topic(servers: Stack) -> None:
    chat = Chat(servers)
    first = chat.say("een collega maakt voortdurend seksueel getinte opmerkingen over mij")
    assert first["topic"] == "ongewenst_seksueel_gedrag"
    secret = chat.say("komt die collega dan te weten dat ik bij de vertrouwenspersoon geweest ben?")
    assert secret["topic"] == "ongewenst_seksueel_gedrag" and "beroepsgeheim" in secret["text"]
    home = chat.say("mag ik daar thuis met mijn partner over praten?")
    assert home["topic"] == "ongewenst_seksueel_gedrag" and home["text"].startswith("Ja")
    weekend = chat.say("ook in het weekend?")
    assert weekend["topic"] == "ongewenst_seksueel_gedrag" and not weekend["emergency"]
    thanks = chat.say("merci voor de info")
    assert thanks["topic"] == "smalltalk" and thanks["actors"] == []


def test_formal_route_is_not_anonymous_and_offers_no_anonymous_report(servers: Stack) -> None:
    chat = Chat(servers)
    chat.say("mijn teamcoach kleineert mij al een jaar lang")
    formal = chat.say("/kies_formeel")
    assert formal["actors"][0] == "preventieadviseur_psychosociaal"
    assert "niet anoniem" in formal["text"].lower() and "/melding_starten" not in formal["payloads"]
    name = chat.say("kan mijn naam daar buiten blijven?")
    assert "niet anoniem" in name["text"].lower() and "/melding_starten" not in name["payloads"]


def test_and_if_that_does_not_help_goes_one_step_further(servers: Stack) -> None:
    chat = Chat(servers)
    chat.say("ik lig al maanden overhoop met mijn bureaugenoot")
    assert chat.say("/kies_informeel")["actors"][0] == "vertrouwenspersoon"
    assert chat.say("en als dat niet helpt?")["actors"][0] == "preventieadviseur_psychosociaal"


def test_the_manager_named_as_the_problem_is_never_suggested(servers: Stack) -> None:
    chat = Chat(servers)
    fraud = chat.say("mijn collega tankt met de tankkaart van het werk voor zijn eigen auto")
    assert "leidinggevende" in fraud["actors"]
    covered = chat.say("maar mijn chef dekt hem, wat nu?")
    assert covered["topic"] == "fraude_corruptie" and "leidinggevende" not in covered["actors"]
    bully = Chat(servers).say("mijn chef schreeuwt me elke dag uit waar iedereen bij is")
    assert "leidinggevende" not in bully["actors"]


def test_own_situation_gets_no_report_form_and_reprisals_get_the_ombudsdienst(servers: Stack) -> None:
    leak = Chat(servers).say("ik heb per ongeluk een mail met persoonsgegevens naar de verkeerde burger gestuurd")
    assert leak["topic"] == "vertrouwelijkheid" and "/melding_starten" not in leak["payloads"]
    assert "DPO" in leak["text"] or "gegevensbescherming" in leak["text"]
    reprisal = Chat(servers).say("sinds mijn melding over fraude krijg ik plots een slechte evaluatie, mag dat?")
    assert reprisal["actors"][0] == "vlaamse_ombudsdienst" and "represaille" in reprisal["text"].lower()


def test_police_rules(servers: Stack) -> None:
    gift = Chat(servers, FP).say("de uitbater van de frituur wil ons op patrouille gratis laten eten, mag dat?")
    assert gift["topic"] == "geschenken" and gift["text"].startswith("Nee")
    violence = Chat(servers, FP).say("mijn ploegmaat heeft een geboeide arrestant in de combi geslagen")
    assert violence["actors"][0] in ("cg_integrity", "vertrouwenspersoon_integriteit", "comite_p")
    assert "/kies_informeel" not in violence["payloads"]


def test_report_form_offers_only_recipients_that_receive_chat_reports(servers: Stack) -> None:
    chat = Chat(servers)
    chat.say("/melding_starten")
    for answer in ("Fraude en corruptie", "een collega vervalst facturen", "vorige maand", "op de dienst",
                   "Overslaan", "Overslaan", "Anoniem blijven"):
        reply = chat.say(answer)
    recipients = reply["payloads"]
    assert "de Vlaamse Ombudsdienst" not in recipients and "Audit Vlaanderen" in recipients
    assert "vlaamseombudsdienst.be" in reply["text"]
    chat.say("stop")


def test_uncertain_emergency_asks_first(servers: Stack) -> None:
    chat = Chat(servers)
    asked = chat.say("/noodsituatie_suicidaal@0.45")
    assert not asked["emergency"] and asked["payloads"] == ["/bevestigen", "/ontkennen"]
    assert "1813" not in asked["text"]
    yes = chat.say("/bevestigen")
    assert yes["emergency"] and "1813" in yes["text"].splitlines()[0]
    other = Chat(servers)
    other.say("/noodsituatie_acuut@0.45")
    no = other.say("/ontkennen")
    assert not no["emergency"] and "112" not in no["text"]


@pytest.mark.parametrize("text", ["ik wil niet dat mijn collega weet dat ik dit vertel",
                                  "ik wil echt niet meer op die dienst werken",
                                  "iedereen doet dat hier al jaren zo"])
def test_short_harmless_sentences_show_no_emergency_numbers(servers: Stack, text: str) -> None:
    chat = Chat(servers)
    chat.say("ik word al weken buitengesloten door mijn team")
    reply = chat.say(text)
    assert not reply["emergency"] and "1813" not in reply["text"] and "112" not in reply["text"]
    assert reply["topic"] in ("pesten", "psychosociaal_welzijn")


def test_replies_stay_short_and_a_block_is_not_repeated(servers: Stack) -> None:
    chat = Chat(servers)
    turns = [chat.say(t) for t in ("ik word gepest op het werk", "ze blijven me pesten, elke dag opnieuw",
                                   "is dat anoniem?", "en als dat niet helpt?")]
    assert all(len(t["text"].split()) <= 120 for t in turns)
    assert turns[0]["text"].splitlines()[0] not in turns[1]["text"]
