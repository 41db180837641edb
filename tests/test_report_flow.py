"""The report questions and answers as plain logic (integrity.report_flow)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from integrity.errors import DataFileError
from integrity.profiles import PROFILES_DIR, Profile, get_profile, load_profile_file
from integrity.report_flow import (
    categories,
    form_categories,
    interpret,
    intro_text,
    previous_field,
    question_buttons,
    question_text,
    recipients,
    report_texts,
    required_fields,
    summary,
)

VO = get_profile("vlaamse-overheid")
FP = get_profile("federale-politie")
TEXTS = report_texts()


def ask(field: str, text: str, category: str | None = "fraude_corruptie", intent: str | None = None,
        profile: Profile = VO):
    return interpret(field, text, profile=profile, category=category, intent=intent, texts=TEXTS)


def test_required_fields_follow_the_choices() -> None:
    assert "report_contact" not in required_fields("ja", editing=False)
    assert required_fields("nee", editing=True)[-3:] == ["report_route", "report_edit", "report_confirm"]
    assert previous_field("report_when", None) == "report_what"
    assert previous_field("report_category", None) is None


def test_category_from_button_title_id_or_understood_intent() -> None:
    assert ask("report_category", "Fraude en corruptie").value == "fraude_corruptie"
    assert ask("report_category", "geschenken").value == "geschenken"
    assert ask("report_category", "mijn collega steelt", intent="fraude_corruptie").value == "fraude_corruptie"
    assert ask("report_category", "iets over het weer", intent="out_of_scope").error
    assert "integriteitsbeleid" not in categories() and "melden" not in categories()


def test_the_form_offers_integrity_violations_only_and_sends_psychosocial_topics_to_the_wellbeing_route() -> None:
    offered = form_categories()
    assert offered == ["belangenvermenging", "fraude_corruptie", "vertrouwelijkheid", "geschenken",
                       "nevenactiviteiten"]
    titles = [b.title for b in question_buttons("report_category", VO, None, TEXTS)]
    assert titles == ["Belangenvermenging", "Fraude en corruptie", "Vertrouwelijke informatie en datalekken",
                      "Geschenken en uitnodigingen", "Nevenactiviteiten"]
    assert "pesten" in categories() and "discriminatie" in categories(), "old reports and filters keep them"
    for typed, intent in (("Pesten", None), ("mijn chef pest me", "pesten"), ("discriminatie", None)):
        answer = ask("report_category", typed, intent=intent)
        assert answer.value is None and "procedure voor welzijn" in (answer.error or "")
        assert "de vertrouwenspersoon of de preventieadviseur psychosociale aspecten" in (answer.error or "")
    police = ask("report_category", "pesten", profile=FP).error or ""
    assert "de vertrouwenspersoon welzijn" in police


def test_a_bad_form_category_names_the_file_and_field() -> None:
    broken = type(TEXTS)({**TEXTS.data, "form_categories": ["fraude_corruptie", "melden"]})
    with pytest.raises(DataFileError, match=r"reporting\.yml.*form_categories\.melden"):
        form_categories(broken)


@pytest.mark.parametrize(("text", "control"), [("stop", "cancel"), ("Annuleren", "cancel"), ("  terug ", "back"),
                                                ("vorige vraag", "back")])
def test_cancel_and_back_work_at_every_question(text: str, control: str) -> None:
    for field in ("report_category", "report_what", "report_anonymous", "report_confirm"):
        assert ask(field, text).control == control


def test_commands_in_the_middle_of_the_form_are_not_taken_as_answers() -> None:
    for field in ("report_what", "report_category", "report_confirm", "report_people"):
        assert "bezig met een melding" in (ask(field, "/help").error or "")
    assert ask("report_what", "/ dat was raar").value == "/ dat was raar"


def test_free_text_checks() -> None:
    assert ask("report_what", "   ").error
    assert "6000" in (ask("report_what", "x" * 6000).error or "")
    assert ask("report_what", "<script>alert(1)</script> 😡").value == "<script>alert(1)</script> 😡"
    assert ask("report_people", "Overslaan").value == ""
    assert ask("report_contact", "geen idee").error
    assert ask("report_contact", "+32 470 12 34 56").value == "+32 470 12 34 56"
    assert ask("report_contact", "anoniem").control == "anonymous"


def test_route_offers_only_the_actors_that_receive_chat_reports() -> None:
    assert recipients(VO, "fraude_corruptie") == ["audit_vlaanderen", "contactpersoon_integriteit"]
    assert recipients(VO, "geschenken") == ["contactpersoon_integriteit", "audit_vlaanderen"], "topic's own first"
    assert recipients(FP, "fraude_corruptie") == ["vertrouwenspersoon_integriteit", "spoc_integriteit",
                                                  "cg_integrity"]
    titles = [b.title for b in question_buttons("report_route", VO, "fraude_corruptie", TEXTS)]
    assert titles == ["Audit Vlaanderen", "de contactpersoon integriteit"]
    assert ask("report_route", "Audit Vlaanderen").value == "audit_vlaanderen"
    assert ask("report_route", "contactpersoon integriteit", category="geschenken").value == \
        "contactpersoon_integriteit"
    assert ask("report_route", "je leidinggevende").error, "not a recipient of chat reports"
    assert ask("report_route", "de vertrouwenspersoon").error
    assert ask("report_route", "CG/Integrity", profile=FP).value == "cg_integrity"


def test_external_channels_are_named_under_the_question_and_refused_as_recipients() -> None:
    question = question_text("report_route", VO, TEXTS)
    first, note = question.split("\n")
    assert first == TEXTS["questions"]["report_route"]
    assert note == ("Een externe melding doe je niet via deze chat, maar rechtstreeks bij de Vlaamse Ombudsdienst "
                    "(www.vlaamseombudsdienst.be).")
    assert "het Comité P (www.comitep.be)" in question_text("report_route", FP, TEXTS)
    assert question_text("report_what", VO, TEXTS) == TEXTS["questions"]["report_what"]
    for profile, typed in ((VO, "Vlaamse Ombudsdienst"), (FP, "comité p")):
        answer = ask("report_route", typed, profile=profile)
        assert answer.value is None and "rechtstreeks contact" in (answer.error or "")
    assert ask("report_route", "ombudsdienst").error.startswith("De Vlaamse Ombudsdienst (www.vlaamseombudsdienst.be)")


def test_intro_names_the_organisation_and_mentions_telegram_only_on_telegram() -> None:
    web = intro_text(VO, "web", TEXTS)
    assert "integriteitscoördinatoren van je organisatie (Vlaamse overheid)" in web
    assert "Telegram" not in web and "Telegram" not in intro_text(VO, None, TEXTS)
    telegram = intro_text(FP, "telegram", TEXTS)
    assert "(Federale Politie)" in telegram and "Via Telegram weet Telegram zelf welk account" in telegram
    assert telegram.splitlines()[-1].startswith("Typ op elk moment"), "the controls stay last"
    generic = TEXTS["intro"]
    assert "van je organisatie." in generic and "{" not in generic and "Telegram" not in generic


def shipped(name: str) -> dict:
    return yaml.safe_load((PROFILES_DIR / f"{name}.yml").read_text(encoding="utf-8"))


def write(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / f"{data['id']}.yml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_profiles_list_report_recipients_and_external_channels() -> None:
    assert VO.report_recipients == ("audit_vlaanderen", "contactpersoon_integriteit")
    assert VO.external_channels == ("vlaamse_ombudsdienst",)
    assert FP.report_recipients == ("cg_integrity", "spoc_integriteit", "vertrouwenspersoon_integriteit")
    assert FP.external_channels == ("comite_p",)


@pytest.mark.parametrize(("change", "field", "problem"), [
    ({"report_recipients": None}, "report_recipients", "non-empty list"),
    ({"report_recipients": []}, "report_recipients", "non-empty list"),
    ({"report_recipients": "audit_vlaanderen"}, "report_recipients", "non-empty list"),
    ({"report_recipients": ["audit_vlaanderen", "bestaat_niet"]}, "report_recipients", "unknown actor"),
    ({"report_recipients": ["audit_vlaanderen", "audit_vlaanderen"]}, "report_recipients", "twice"),
    ({"external_channels": {"a": 1}}, "external_channels", "non-empty list"),
    ({"external_channels": ["comite_p"]}, "external_channels", "unknown actor"),
    ({"external_channels": ["audit_vlaanderen"]}, "external_channels", "also in report_recipients"),
])
def test_bad_report_fields_name_the_file_and_field(tmp_path: Path, change: dict, field: str, problem: str) -> None:
    data = {**shipped("vlaamse-overheid"), **change}
    path = write(tmp_path, data)
    with pytest.raises(DataFileError) as error:
        load_profile_file(path)
    assert str(path) in str(error.value) and f"'{field}'" in str(error.value) and problem in str(error.value)


def test_external_channels_are_optional(tmp_path: Path) -> None:
    data = shipped("vlaamse-overheid")
    del data["external_channels"]
    profile = load_profile_file(write(tmp_path, data))
    assert profile.external_channels == ()
    assert question_text("report_route", profile, TEXTS) == TEXTS["questions"]["report_route"]


def test_summary_lists_every_answer_and_hides_contact_when_anonymous() -> None:
    slots = {"report_category": "fraude_corruptie", "report_what": "facturen", "report_when": "",
             "report_anonymous": "ja", "report_contact": "x@y.be", "report_route": "audit_vlaanderen"}
    text = summary(slots, VO, TEXTS)
    assert "Fraude en corruptie" in text and "Audit Vlaanderen" in text and "(niet ingevuld)" in text
    assert "x@y.be" not in text
