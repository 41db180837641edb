"""The report questions and answers as plain logic (integrity.report_flow)."""

from __future__ import annotations

import pytest

from integrity.profiles import get_profile
from integrity.report_flow import (
    categories,
    interpret,
    previous_field,
    question_buttons,
    report_texts,
    required_fields,
    summary,
)

VO = get_profile("vlaamse-overheid")
TEXTS = report_texts()


def ask(field: str, text: str, category: str | None = "fraude_corruptie", intent: str | None = None):
    return interpret(field, text, profile=VO, category=category, intent=intent, texts=TEXTS)


def test_required_fields_follow_the_choices() -> None:
    assert "report_contact" not in required_fields("ja", editing=False)
    assert required_fields("nee", editing=True)[-3:] == ["report_route", "report_edit", "report_confirm"]
    assert previous_field("report_when", None) == "report_what"
    assert previous_field("report_category", None) is None


def test_category_from_button_title_id_or_understood_intent() -> None:
    assert ask("report_category", "Fraude en corruptie").value == "fraude_corruptie"
    assert ask("report_category", "pesten").value == "pesten"
    assert ask("report_category", "mijn collega steelt", intent="fraude_corruptie").value == "fraude_corruptie"
    assert ask("report_category", "iets over het weer", intent="out_of_scope").error
    assert "integriteitsbeleid" not in categories() and "melden" not in categories()


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


def test_route_answers_are_limited_to_the_topics_actors() -> None:
    assert ask("report_route", "Audit Vlaanderen").value == "audit_vlaanderen"
    assert ask("report_route", "de vertrouwenspersoon").error
    buttons = question_buttons("report_route", VO, "pesten", TEXTS)
    assert buttons[0].title == "de vertrouwenspersoon"


def test_summary_lists_every_answer_and_hides_contact_when_anonymous() -> None:
    slots = {"report_category": "fraude_corruptie", "report_what": "facturen", "report_when": "",
             "report_anonymous": "ja", "report_contact": "x@y.be", "report_route": "audit_vlaanderen"}
    text = summary(slots, VO, TEXTS)
    assert "Fraude en corruptie" in text and "Audit Vlaanderen" in text and "(niet ingevuld)" in text
    assert "x@y.be" not in text
