"""The routing decision: what the bot says and whom it points to, for each kind of turn."""

from __future__ import annotations

from typing import Any

from integrity.profiles import get_profile
from integrity.routing import decide, mentioned_actor

VO = get_profile("vlaamse-overheid")
FP = get_profile("federale-politie")


def parse(intent: str, confidence: float = 0.95, text: str = "", ranking: list[tuple[str, float]] | None = None,
          entities: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    ranking = ranking or [(intent, confidence)]
    return {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking],
        "entities": entities or [],
    }


def test_psychosocial_topic_answers_points_to_confidant_and_asks_informal_or_formal() -> None:
    decision = decide(parse("pesten"), VO)
    assert decision.topic == "pesten"
    assert decision.actors[0] == "vertrouwenspersoon"
    assert decision.pending_route == "pesten"
    assert "Pesten" in decision.reply
    assert "vertrouwenspersoon" in decision.messages[1].text
    question = decision.messages[-1]
    assert [b.payload for b in question.buttons] == ["/kies_informeel", "/kies_formeel"]


def test_formal_choice_changes_the_actor_to_the_prevention_adviser() -> None:
    formal = decide(parse("kies_formeel"), VO, pending_route="ongewenst_seksueel_gedrag")
    assert formal.topic == "ongewenst_seksueel_gedrag"
    assert formal.actors[0] == "preventieadviseur_psychosociaal"
    assert "formeel verzoek" in formal.reply
    informal = decide(parse("kies_informeel"), VO, pending_route="ongewenst_seksueel_gedrag")
    assert informal.actors[0] == "vertrouwenspersoon"
    assert formal.pending_route is None and informal.pending_route is None


def test_violation_points_to_audit_and_offers_a_report() -> None:
    decision = decide(parse("fraude_corruptie"), VO)
    assert decision.actors == ("audit_vlaanderen", "leidinggevende", "vlaamse_ombudsdienst")
    offer = decision.messages[-1]
    assert "melden" in offer.text
    assert [b.payload for b in offer.buttons] == ["/melding_starten"]


def test_report_flow_intents_answer_with_the_forms_first_line() -> None:
    start = decide(parse("melding_starten"), VO)
    assert start.topic == "melden" and start.actors[0] == "audit_vlaanderen"
    assert "anoniem" in start.reply and "7 dagen" in start.reply
    assert "ontvangstcode" in decide(parse("opvolgen"), FP).reply


def test_emergencies_start_with_the_emergency_number() -> None:
    acute = decide(parse("noodsituatie_acuut"), VO)
    assert acute.topic == "noodsituatie" and acute.actors[0] == "noodhulp_112"
    assert "112" in acute.reply.splitlines()[0]
    suicidal = decide(parse("noodsituatie_suicidaal"), FP)
    assert suicidal.actors[0] == "zelfmoordlijn_1813"
    assert "1813" in suicidal.reply.splitlines()[0]


def test_low_confidence_offers_the_two_likeliest_topics_and_a_person() -> None:
    fallback = parse("nlu_fallback", 0.4, ranking=[("nlu_fallback", 0.4), ("geschenken", 0.35),
                                                   ("belangenvermenging", 0.3), ("greet", 0.1)])
    decision = decide(fallback, VO)
    assert decision.fallback
    assert decision.topic == "geschenken"
    assert decision.actors == ("spreekbuis",)
    assert [b.payload for b in decision.messages[0].buttons] == ["/geschenken", "/belangenvermenging",
                                                                 "/mens_spreken"]
    assert "Spreekbuis" in decision.messages[1].text


def test_low_confidence_out_of_scope_is_refused_without_actor_but_offers_topics() -> None:
    decision = decide(parse("nlu_fallback", 0.4, ranking=[("out_of_scope", 0.38), ("geschenken", 0.2)]), VO)
    assert decision.topic == "out_of_scope" and decision.actors == ()
    assert "niet mee helpen" in decision.reply
    assert [b.payload for b in decision.messages[1].buttons] == ["/geschenken"]


def test_uncertain_emergency_asks_first_and_a_sure_one_leads_with_the_number() -> None:
    ranking = [("noodsituatie_acuut", 0.35), ("geweld_agressie", 0.3), ("pesten", 0.1)]
    decision = decide(parse("nlu_fallback", 0.4, ranking=ranking), VO)
    assert not decision.emergency and "112" not in decision.reply
    assert [b.payload for b in decision.messages[0].buttons] == ["/bevestigen", "/ontkennen"]
    assert decision.topic == "geweld_agressie" and decision.actors == ()
    sure = decide(parse("noodsituatie_acuut", 0.95), VO)
    assert sure.emergency and "112" in sure.reply.splitlines()[0]
    assert not any(m.buttons for m in sure.messages)


def test_safety_net_overrides_a_wrong_classification() -> None:
    text = "een ploegmaat vertelde me vannacht dat hij zich iets gaat aandoen"
    decision = decide(parse("out_of_scope", 0.3, text=text, ranking=[("out_of_scope", 0.3),
                                                                     ("noodsituatie_suicidaal", 0.2)]), VO)
    assert decision.route == "noodsituatie_suicidaal" and decision.actors[0] == "zelfmoordlijn_1813"
    assert decision.confidence == 0.2
    weapon = decide(parse("geweld_agressie", 0.6, text="Help, hij heeft een mes en staat hier!"), VO)
    assert weapon.route == "noodsituatie"


def test_safety_net_leaves_ordinary_messages_alone() -> None:
    for text in ("ik doe mijn best op het werk", "mag ik een mes als geschenk aannemen",
                 "hoe vraag ik een dag verlof aan", "ik ben het leven op de dienst beu"):
        assert decide(parse("geschenken", 0.9, text=text), VO).route == "geschenken", text


def test_out_of_scope_and_smalltalk_have_no_actor_and_greeting_has_privacy_notice() -> None:
    assert decide(parse("out_of_scope"), VO).actors == ()
    greeting = decide(parse("greet"), VO)
    assert greeting.topic == "smalltalk" and greeting.actors == ()
    assert len(greeting.reply.splitlines()) == 2
    assert "naam" in greeting.reply.splitlines()[1]


def test_actor_info_uses_an_alias_from_the_profile() -> None:
    by_alias = decide(parse("actor_info", text="wat doet de interne audit precies"), VO)
    assert by_alias.actors == ("audit_vlaanderen",)
    assert mentioned_actor({"text": "Hoe bereik ik de Vlaamse Ombudsdienst?"}, VO) == "vlaamse_ombudsdienst"
    assert mentioned_actor({"text": "wie is de spoc integriteit van mijn directie"}, FP) == "spoc_integriteit"
    unknown = decide(parse("actor_info", text="wie kan mij helpen"), VO)
    assert unknown.actors == VO.routing["actor_info"]


def test_handoff_goes_to_the_person_for_the_last_topic() -> None:
    assert decide(parse("mens_spreken"), VO, last_route="fraude_corruptie").actors[0] == "audit_vlaanderen"
    assert decide(parse("mens_spreken"), VO).actors == VO.handoff
    assert decide(parse("mens_spreken"), VO, last_route="greet").actors == VO.handoff


def test_federal_police_routes_reports_to_its_own_integrity_network() -> None:
    decision = decide(parse("melden"), FP)
    assert decision.actors[0] in {"vertrouwenspersoon_integriteit", "spoc_integriteit", "cg_integrity"}
    assert "spreekbuis" not in decision.actors
