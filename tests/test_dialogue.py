"""The conversation layer without Rasa: state, situation facts, escalation, follow-ups, emergencies, budgets.

Each test plays turns through `integrity.routing.decide` with parse results as the NLU would give them and
carries the state from turn to turn, the way actions/answer.py does with the `dialogue` slot.
"""

from __future__ import annotations

from typing import Any

import pytest

from integrity.content import default_content
from integrity.dialogue_state import DialogueState
from integrity.profiles import get_profile
from integrity.replies import Decision, words
from integrity.routing import decide
from integrity.situation import facts_in

VO = get_profile("vlaamse-overheid")
FP = get_profile("federale-politie")


def parse(intent: str, text: str = "", confidence: float = 0.9,
          ranking: list[tuple[str, float]] | None = None) -> dict[str, Any]:
    ranking = ranking or [(intent, confidence)]
    return {"text": text, "intent": {"name": intent, "confidence": confidence},
            "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking], "entities": []}


def play(profile: Any, *turns: tuple[str, str] | dict[str, Any]) -> list[Decision]:
    state, decisions = DialogueState(), []
    for turn in turns:
        decision = decide(turn if isinstance(turn, dict) else parse(*turn), profile, state=state)
        decisions.append(decision)
        state = decision.state
    return decisions


def reply(decision: Decision) -> str:
    return "\n".join(m.text for m in decision.messages)


def buttons(decision: Decision) -> list[str]:
    return [b.payload for m in decision.messages for b in m.buttons]


def test_state_survives_the_slot_and_malformed_slots_give_a_fresh_state() -> None:
    state = DialogueState("pesten", 1, frozenset({"manager_involved"}), ("answer:pesten",), "procedure", "pesten")
    assert DialogueState.from_slot(state.as_slot()) == state
    for junk in (None, "x", [], {"stage": "9", "facts": "a", "shown": 3, "pending": "whatever"}):
        assert DialogueState.from_slot(junk) == DialogueState()


def test_a_follow_up_is_answered_in_the_current_topic() -> None:
    first, anonymous = play(VO, ("ongewenst_seksueel_gedrag", "een collega stuurt me seksueel getinte berichten"),
                            ("vraag_anoniem", "weet hij dan dat ik het was?"))
    assert anonymous.topic == "ongewenst_seksueel_gedrag"
    assert "beroepsgeheim" in reply(anonymous)
    assert anonymous.actors[0] == first.actors[0] == "vertrouwenspersoon"


def test_the_formal_route_is_explained_as_not_anonymous_and_offers_no_anonymous_report() -> None:
    _, formal, name = play(VO, ("pesten", "mijn teamcoach kleineert me"), ("kies_formeel", "/kies_formeel"),
                           ("vraag_anoniem", "mag mijn naam erbuiten blijven?"))
    assert formal.actors[0] == "preventieadviseur_psychosociaal"
    assert "niet anoniem" in reply(formal).lower()
    assert "/melding_starten" not in buttons(formal) + buttons(name)
    assert "niet anoniem" in reply(name).lower()


def test_and_if_that_does_not_help_goes_one_step_further() -> None:
    _, informal, step2, step3 = play(VO, ("psychosociaal_welzijn", "al maanden ruzie met mijn bureaugenoot"),
                                     ("kies_informeel", "eerst informeel"),
                                     ("vraag_volgende_stap", "en als dat niet helpt?"),
                                     ("vraag_volgende_stap", "en als dat ook niet helpt?"))
    assert informal.actors[0] == "vertrouwenspersoon"
    assert step2.actors[0] == "preventieadviseur_psychosociaal" and step2.state.stage == 1
    assert step3.state.stage == 2 and "Toezicht op het Welzijn" in reply(step3)
    integrity = play(VO, ("fraude_corruptie", "mijn collega steelt materiaal"),
                     ("vraag_volgende_stap", "en als er niets mee gebeurt?"))[1]
    assert integrity.actors[0] == "vlaamse_ombudsdienst"
    police = play(FP, ("fraude_corruptie", "een collega steelt uit de beslagkamer"),
                  ("vraag_volgende_stap", "en als er niets gebeurt?"))[1]
    assert police.actors[0] == "comite_p"


@pytest.mark.parametrize(("intent", "text"), [
    ("fraude_corruptie", "mijn afdelingshoofd laat zijn verbouwing betalen met werkingsmiddelen"),
    ("pesten", "mijn chef schreeuwt me elke dag uit"),
    ("geweld_agressie", "mijn leidinggevende duwde me tegen de muur"),
    ("belangenvermenging", "mijn diensthoofd gunt opdrachten aan zijn schoonbroer"),
])
def test_the_manager_named_as_the_problem_is_never_suggested(intent: str, text: str) -> None:
    decision = play(VO, (intent, text))[0]
    assert "manager_involved" in decision.state.facts
    assert "leidinggevende" not in decision.actors
    assert "je leidinggevende" not in reply(decision).split("Je kan terecht bij")[-1].split(".")[0]


def test_the_manager_in_a_later_turn_changes_the_actors_too() -> None:
    first, later = play(VO, ("fraude_corruptie", "een collega knoeit met onkostennota's"),
                        ("vraag_chef_betrokken", "maar mijn chef dekt hem, wat nu?"))
    assert "leidinggevende" in first.actors
    assert "leidinggevende" not in later.actors and later.actors[0] == "audit_vlaanderen"
    assert later.topic == "fraude_corruptie"


def test_asking_the_manager_for_permission_is_not_a_manager_problem() -> None:
    assert "manager_involved" not in facts_in("moet ik dit aan mijn chef melden?", kind="violation")
    assert "manager_involved" not in facts_in("ik vraag toestemming aan mijn baas", kind="advice")


def test_reprisals_after_a_report_get_the_protection_and_the_external_channel() -> None:
    vo = play(VO, ("belangenvermenging", "na mijn melding over belangenvermenging werd ik plots overgeplaatst"))[0]
    assert vo.actors[0] == "vlaamse_ombudsdienst"
    assert "represaille" in reply(vo).lower()
    standalone = play(FP, ("represailles", "sinds mijn melding krijg ik slechte evaluaties"))[0]
    assert standalone.actors[0] == "comite_p" and standalone.topic == "melden"


@pytest.mark.parametrize(("intent", "text", "mention"), [
    ("vertrouwelijkheid", "ik ben mijn usb-stick met personeelsdossiers kwijt", "DPO"),
    ("belangenvermenging", "mijn broer doet mee aan de aanbesteding die ik beoordeel", "leidinggevende"),
])
def test_ones_own_situation_gets_no_report_form(intent: str, text: str, mention: str) -> None:
    decision = play(VO, (intent, text))[0]
    assert "own_situation" in decision.state.facts
    assert "/melding_starten" not in buttons(decision)
    assert mention in reply(decision)
    assert decision.actors[0] == "leidinggevende"


def test_someone_elses_violation_offers_the_report_form() -> None:
    assert "/melding_starten" in buttons(play(VO, ("fraude_corruptie", "een collega vervalst facturen"))[0])


def test_police_violence_is_an_integrity_violation_for_the_police() -> None:
    text = "een collega heeft bij een controle een verdachte zonder reden tegen de grond gewerkt en geslagen"
    decision = play(FP, ("geweld_agressie", text))[0]
    assert decision.actors[0] in ("cg_integrity", "vertrouwenspersoon_integriteit", "comite_p")
    assert "/kies_informeel" not in buttons(decision)
    assert "/melding_starten" in buttons(decision)


def test_police_gifts_are_a_plain_no() -> None:
    decision = play(FP, ("geschenken", "een garagist wil mijn wagen gratis herstellen, mag dat?"))[0]
    assert reply(decision).startswith("Nee")


def test_may_i_gets_a_verdict_first() -> None:
    decision = play(VO, ("nevenactiviteiten", "mag ik 's avonds bijles geven?"))[0]
    assert decision.reply.startswith(VO.verdicts.get("nevenactiviteiten") or
                                     default_content().verdicts["nevenactiviteiten"])


def test_a_block_already_shown_is_not_shown_again() -> None:
    first, again = play(VO, ("pesten", "ik word gepest"), ("pesten", "ze blijven me pesten"))
    assert first.reply not in reply(again)
    assert "/meer_info" in buttons(again)
    assert words(again.messages) < words(first.messages)
    more = decide(parse("meer_info", "/meer_info"), VO, state=again.state)
    assert first.reply in reply(more)


def test_uncertain_emergency_asks_and_yes_or_no_decide() -> None:
    uncertain = parse("noodsituatie_suicidaal", "ik wil echt niet meer op die dienst werken", 0.45,
                      [("noodsituatie_suicidaal", 0.45), ("psychosociaal_welzijn", 0.35)])
    asked = play(VO, uncertain)[0]
    assert not asked.emergency and asked.topic == "psychosociaal_welzijn"
    yes = decide(parse("bevestigen", "/bevestigen"), VO, state=asked.state)
    assert yes.emergency and "1813" in yes.reply.splitlines()[0]
    no = decide(parse("ontkennen", "/ontkennen"), VO, state=asked.state)
    assert not no.emergency and no.topic == "psychosociaal_welzijn"
    assert no.actors[0] == "vertrouwenspersoon"


def test_an_unanswerable_follow_up_is_honest_and_names_the_human_for_the_topic() -> None:
    _, unknown = play(VO, ("fraude_corruptie", "een collega vervalst facturen"),
                      parse("nlu_fallback", "hoeveel kost dat dan?", 0.3, [("out_of_scope", 0.3), ("greet", 0.1)]))
    assert unknown.topic == "fraude_corruptie"
    assert unknown.actors[0] == "audit_vlaanderen"
    assert VO.actors["audit_vlaanderen"].name in reply(unknown)
    assert default_content().messages["out_of_scope"] not in reply(unknown)


def test_low_confidence_offers_only_plausible_topics() -> None:
    decision = play(VO, parse("nlu_fallback", "iets vaags", 0.3,
                              [("geschenken", 0.3), ("pesten", 0.05), ("greet", 0.01)]))[0]
    assert buttons(decision) == ["/geschenken", "/mens_spreken"]


ROUTES = [r.name for r in default_content().routes.values() if r.kind in ("psychosocial", "violation", "advice",
                                                                          "reporting", "emergency")]


@pytest.mark.parametrize("profile", [VO, FP], ids=["vo", "fp"])
@pytest.mark.parametrize("route", ROUTES)
def test_every_topic_answer_fits_the_word_budget(profile: Any, route: str) -> None:
    intent = default_content().intent_for_route(route)
    decision = play(profile, (intent, "mag ik dat?"))[0]
    assert words(decision.messages) <= 120, reply(decision)


FOLLOWUPS = [r.name for r in default_content().routes.values() if r.kind == "followup"]


@pytest.mark.parametrize("profile", [VO, FP], ids=["vo", "fp"])
@pytest.mark.parametrize("followup", FOLLOWUPS)
@pytest.mark.parametrize("topic", ["pesten", "fraude_corruptie", "geschenken", "melden"])
def test_every_follow_up_fits_the_budget_in_every_kind_of_topic(profile: Any, followup: str, topic: str) -> None:
    decisions = play(profile, (topic, "ik heb een vraag"), (followup, "en dan?"))
    assert decisions[1].topic == decisions[0].topic
    assert words(decisions[1].messages) <= 120, reply(decisions[1])


def test_facts_of_an_unsure_first_message_carry_over_to_the_topic_chosen_next() -> None:
    unsure = parse("nlu_fallback", "mijn diensthoofd vervalst de facturen van een aannemer", 0.3,
                   [("fraude_corruptie", 0.3), ("belangenvermenging", 0.2)])
    asked, chosen = play(VO, unsure, ("fraude_corruptie", "/fraude_corruptie"))
    assert "/fraude_corruptie" in buttons(asked)
    assert "manager_involved" in chosen.state.facts and "leidinggevende" not in chosen.actors


def test_an_unsure_switch_to_another_topic_in_a_conversation_is_answered_as_that_topic() -> None:
    _, switch = play(VO, ("geschenken", "een leverancier stuurt me wijn"),
                     parse("nlu_fallback", "iets anders: een collega schrijft uren die hij niet werkte", 0.3,
                           [("fraude_corruptie", 0.3), ("toelichting", 0.2)]))
    assert switch.topic == "fraude_corruptie" and switch.actors[0] == "audit_vlaanderen"


def test_the_telegram_line_is_shown_only_on_telegram() -> None:
    note = default_content().messages["telegram_note"]
    for intent in ("greet", "vraag_anoniem"):
        assert note not in reply(decide(parse(intent, "hallo"), VO, channel="web"))
        assert note not in reply(decide(parse(intent, "hallo"), VO))
        assert note in reply(decide(parse(intent, "hallo"), VO, channel="telegram"))
    assert "Telegram" not in reply(decide(parse("greet", "hallo"), VO, channel="web"))


def test_a_step_already_taken_is_skipped() -> None:
    integrity = play(VO, ("fraude_corruptie", "ik heb het al aan audit gemeld maar er gebeurt niets met die fraude"))[0]
    assert integrity.actors[0] == "vlaamse_ombudsdienst"
    wellbeing = play(VO, ("pesten", "ik ben al bij de vertrouwenspersoon geweest maar het pesten gaat door"))[0]
    assert wellbeing.actors[0] == "preventieadviseur_psychosociaal"
    assert "/kies_informeel" not in buttons(wellbeing)


@pytest.mark.parametrize(("text", "kind", "expected"), [
    ("ik wil melden dat mijn collega geld uit de kas neemt", "violation", set()),
    ("ik heb zelf gezien dat hij geld nam", "violation", set()),
    ("ik ben bang dat hij de dossiers heeft laten liggen", "violation", set()),
    ("een verdachte heeft mij geslagen tijdens de arrestatie", "psychosocial", set()),
    ("een jongere gaf me een klap tijdens de controle", "psychosocial", set()),
    ("mijn collega sloeg een geboeide verdachte in de combi", "psychosocial", {"police_violence"}),
    ("mag ik de offerte van mijn broer beoordelen?", "violation", {"own_situation"}),
    ("ik heb een belangenconflict", "violation", {"own_situation"}),
    ("ik heb een mail naar de verkeerde persoon gestuurd", "violation", {"own_situation"}),
    ("kan ik bij mijn leidinggevende terecht?", "violation", set()),
    ("moet ik mijn leidinggevende verwittigen dat een collega facturen vervalst?", "violation", set()),
    ("ik heb het mijn chef al verteld", "violation", set()),
    ("de directeur van de aannemer bood me geld aan", "violation", set()),
    ("mijn chef aanvaardt dure cadeaus van een leverancier", "advice", {"manager_involved"}),
    ("ik heb het al tegen hem gezegd dat hij moet stoppen", "psychosocial", set()),
    ("ik heb het al aan de vertrouwenspersoon verteld", "psychosocial", {"already_reported"}),
    ("mijn chef schreeuwt me elke dag uit", "psychosocial", {"manager_involved"}),
    ("waar kan ik buiten de politie een schending melden", "reporting", {"wants_external"}),
    ("een collega deelt vertrouwelijke informatie met externen", "violation", set()),
])
def test_situation_facts(text: str, kind: str, expected: set[str]) -> None:
    assert set(facts_in(text, kind=kind)) == expected


def test_review_findings_stay_fixed() -> None:
    # an unsure "yes" to "are you in danger?" still shows the numbers
    asked = play(VO, parse("noodsituatie_acuut", "hij staat aan mijn deur", 0.5))[0]
    yes = decide(parse("nlu_fallback", "ja dringend", 0.3, [("bevestigen", 0.3), ("greet", 0.1)]), VO,
                 state=asked.state)
    assert yes.emergency and "112" in yes.reply.splitlines()[0]
    # "no" keeps what the first message said about the manager
    unsure = parse("noodsituatie_acuut", "mijn baas bedreigt me steeds", 0.5,
                   [("noodsituatie_acuut", 0.5), ("geweld_agressie", 0.3)])
    no = play(VO, unsure, ("ontkennen", "/ontkennen"))[1]
    assert no.topic == "geweld_agressie" and "leidinggevende" not in no.actors
    # the manager stays the problem after a switch of topic; one's own situation does not carry over
    switched = play(VO, ("pesten", "mijn chef pest mij"), ("fraude_corruptie", "hij sjoemelt ook met onkosten"))[1]
    assert "leidinggevende" not in switched.actors
    own_then_other = play(VO, ("vertrouwelijkheid", "ik ben mijn laptop kwijt"),
                          ("pesten", "en een collega pest me"))[1]
    assert "own_situation" not in own_then_other.state.facts
    # the next step's card matches its text, also when a fact has its own actors
    step = play(VO, ("fraude_corruptie", "mijn chef steelt materiaal"), ("vraag_volgende_stap", "en dan?"))[1]
    assert step.actors[0] == "vlaamse_ombudsdienst"
    # reprisals after a bullying complaint go to the well-being route, not the whistleblower channel
    for profile in (VO, FP):
        reprisal = play(profile, ("pesten", "ik word gepest"), ("represailles", "sinds mijn klacht word ik gestraft"))
        assert reprisal[1].actors[0] == "preventieadviseur_psychosociaal"
    # one's own situation: "is it anonymous?" is not answered with the anonymous report
    own = play(VO, ("vertrouwelijkheid", "ik ben mijn usb-stick kwijt"), ("vraag_anoniem", "is dat anoniem?"))[1]
    assert own.reply.startswith("Nee") and "/melding_starten" not in buttons(own)
    # the external psychosocial stage is no more anonymous than the formal one
    late = play(VO, ("pesten", "ik word gepest"), ("kies_formeel", "/kies_formeel"),
                ("vraag_volgende_stap", "en als dat niet helpt?"), ("vraag_anoniem", "is dat anoniem?"))[-1]
    assert "niet anoniem" in late.reply
    # the report form's first line names who receives chat reports
    assert play(VO, ("melding_starten", "/melding_starten"))[0].actors == VO.report_recipients


def test_a_follow_up_as_first_message_starts_its_topic() -> None:
    reprisal, protected = play(VO, ("represailles", "na mijn melding kreeg ik een slechte evaluatie"),
                               ("vraag_bescherming", "hoelang ben ik eigenlijk beschermd"))
    assert reprisal.state.route == "melden" and reprisal.actors[0] == "vlaamse_ombudsdienst"
    assert protected.topic == "melden" and "leidinggevende" not in protected.actors


def test_when_the_danger_has_passed_the_next_answer_is_the_normal_one() -> None:
    emergency, after = play(VO, ("noodsituatie_acuut", "help er staat een man met een mes aan het loket"),
                            parse("noodsituatie_acuut", "ok het is voorbij, de politie heeft hem meegenomen. "
                                  "bij wie kan ik terecht", 0.8, [("noodsituatie_acuut", 0.8)]))
    assert emergency.emergency and not after.emergency
    assert after.topic == "psychosociaal_welzijn" and after.actors[0] == "vertrouwenspersoon"
    still = play(VO, ("noodsituatie_acuut", "help"), ("noodsituatie_acuut", "hij staat hier nog met een mes, help"))
    assert still[1].emergency
