"""The report actions with a real rasa_sdk Tracker, for failures that are hard to cause through the servers."""

from __future__ import annotations

import inspect
import logging
from typing import Any

import pytest
import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from actions import answer, followup_form, forms, report_form, safety
from actions.followup_form import ActionAskFollowupAddition, ActionFollowupFinish, ValidateFollowupForm
from actions.report_form import ActionReportFinish, ActionReportIntro, ValidateReportForm
from devtools.stack import REPO
from integrity.reports import errors, evidence
from integrity.reports.models import Report
from tests.trackers import make_tracker

ANSWERS = {"report_category": "fraude_corruptie", "report_what": "valse facturen KX-1", "report_when": "gisteren",
           "report_where": "aankoop", "report_people": "", "report_evidence": "", "report_anonymous": "ja",
           "report_route": "audit_vlaanderen", "report_confirm": "send"}


def tracker(slots: dict[str, Any]) -> Tracker:
    return make_tracker(text="Verzenden", confidence=0.5, slots=slots, sender="pseudonymous-sender",
                        latest_action="report_form")


async def finish(slots: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await ActionReportFinish().run(dispatcher, tracker(slots), {})
    return dispatcher.messages, events


async def test_database_down_confirms_nothing_and_keeps_every_answer(monkeypatch: pytest.MonkeyPatch,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    class BrokenSessions:
        def __call__(self) -> Any:
            raise OperationalError("connect", {}, Exception("connection refused"))

    monkeypatch.setattr(forms, "sessions", lambda: BrokenSessions())
    messages, events = await finish(ANSWERS)
    assert "NIET verzonden" in messages[0]["text"] and "ontvangstcode" not in messages[0]["text"]
    assert {"event": "slot", "timestamp": None, "name": "report_confirm", "value": None} in events
    assert any(e["event"] == "followup" and e["name"] == "report_form" for e in events)
    assert not any(e.get("name") == "report_what" for e in events), "the answers are kept"
    assert not any(e.get("name") == "redact_conversation" for e in events)
    assert "could not be stored (OperationalError)" in caplog.text and "KX-1" not in caplog.text
    assert "connection refused" not in caplog.text, "the database error's text is not logged"


async def test_no_reader_with_a_key_is_reported_to_the_operator_in_english(monkeypatch: pytest.MonkeyPatch,
                                                                           caplog: pytest.LogCaptureFixture) -> None:
    def no_readers(session: Any, draft: Any, **kwargs: Any) -> Any:
        raise errors.NoReaders("No staff member of vlaamse-overheid who may read report M-1 has a key pair yet")

    monkeypatch.setattr(report_form.evidence.submission, "submit_report", no_readers)
    messages, _ = await finish(ANSWERS)
    assert "nog niet ingesteld" in messages[0]["text"]
    assert "Reports are not set up" in caplog.text


async def test_cancel_stores_nothing_and_forgets_the_conversation(
        monkeypatch: pytest.MonkeyPatch, sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:  # a file sent in this chat and one of another chat
        evidence.stage(session, "pseudonymous-sender", evidence.prepare(b"een bewijsstuk"))
        evidence.stage(session, "another-sender", evidence.prepare(b"iets anders"))
    monkeypatch.setattr(forms, "sessions", lambda: sessions)
    messages, events = await finish({**ANSWERS, "report_cancelled": True})
    assert "geannuleerd" in messages[0]["text"] and "Je bestanden zijn ook gewist." in messages[0]["text"]
    with sessions.begin() as session:
        assert session.scalars(select(Report)).all() == []
        assert evidence.pending(session, "pseudonymous-sender") == []
        assert len(evidence.pending(session, "another-sender")) == 1
    marker = events.index({"event": "slot", "timestamp": None, "name": "redact_conversation", "value": True})
    assert events[marker + 1] == {"event": "slot", "timestamp": None, "name": "redact_conversation", "value": None}, \
        "a marker in time, not a state: the slot is cleared again at once"


DOMAIN = yaml.safe_load((REPO / "domain.yml").read_text(encoding="utf-8"))  # what Rasa sends, near enough
SECRET_TEXT = "Mijn chef vervalst facturen GX-TEXT-5"
SECRET_CODE = "9876 5432 1098 7654"


def followup_tracker(text: str, slots: dict[str, Any], events: list[dict[str, Any]] | None = None,
                     requested: str = "followup_addition", metadata: dict[str, Any] | None = None) -> Tracker:
    message = {"text": text, "intent": {"name": "out_of_scope", "confidence": 0.4}, "entities": [],
               "metadata": metadata or {}}
    slots = {"requested_slot": requested, **slots}
    return Tracker("pseudonymous-sender", slots, message, events or [], False, None,
                   {"name": "followup_form"}, "followup_form")


async def validate_addition(text: str, slots: dict[str, Any]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    result = await ValidateFollowupForm().validate_followup_addition(text, dispatcher, followup_tracker(text, slots),
                                                                     {})
    return dispatcher.messages, result


def recorded_additions(monkeypatch: pytest.MonkeyPatch, error: Exception | None = None) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    def add(session: Any, code: str, text: str, *, throttle_key: str | None = None, **_: Any) -> None:
        calls.append({"code": code, "text": text, "throttle_key": throttle_key})
        if error is not None:
            raise error

    monkeypatch.setattr(forms, "sessions", lambda: lambda: _NoSession())
    monkeypatch.setattr(followup_form.reporter, "add_reporter_message", add)
    monkeypatch.setattr(followup_form, "attach_only", lambda *_: evidence.Attached(0, 0))  # no files here
    return calls


class _NoSession:
    def __enter__(self) -> _NoSession:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def commit(self) -> None:
        return None

    def rollback(self) -> None:
        return None


async def test_an_addition_is_stored_without_a_throttle_key_and_the_form_asks_for_more(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls = recorded_additions(monkeypatch)
    messages, result = await validate_addition("eerste aanvulling", {"followup_code": SECRET_CODE})
    assert calls == [{"code": SECRET_CODE, "text": "eerste aanvulling", "throttle_key": None}], \
        "a code accepted in this follow-up costs no throttle attempt"
    assert [m["text"] for m in messages] == ["Je bericht is toegevoegd aan je melding."]
    assert result == {"followup_addition": None}, "the form asks again: a second addition is possible"


@pytest.mark.parametrize("text", ["bedankt", "Nee, bedankt", "nee", "Overslaan", "stop", "dat is alles"])
async def test_thanks_no_skip_and_stop_end_the_follow_up(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    calls = recorded_additions(monkeypatch)
    messages, result = await validate_addition(text, {"followup_code": SECRET_CODE})
    assert result == {"followup_addition": ""} and not calls and not messages


async def test_a_command_is_not_stored_as_an_addition(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = recorded_additions(monkeypatch)
    messages, result = await validate_addition("/help", {"followup_code": SECRET_CODE})
    assert not calls and "bezig met een melding of opvolging" in messages[0]["text"]
    assert result == {"followup_addition": None}


async def test_an_accepted_code_that_no_longer_opens_the_report_is_told_not_raised(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    recorded_additions(monkeypatch, errors.UnknownReceipt("Unknown or malformed receipt code"))
    messages, result = await validate_addition(SECRET_TEXT, {"followup_code": SECRET_CODE})
    assert "NIET toegevoegd" in messages[0]["text"]
    assert result == {"followup_code": None, "followup_addition": None}, "asks the code again"
    assert SECRET_TEXT not in caplog.text and SECRET_CODE not in caplog.text


async def test_a_missing_code_is_not_sent_to_the_store(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = recorded_additions(monkeypatch)
    messages, result = await validate_addition(SECRET_TEXT, {"followup_code": None})
    assert not calls and "NIET toegevoegd" in messages[0]["text"]
    assert result == {"followup_code": None, "followup_addition": None}


@pytest.mark.parametrize(("error", "expected", "ends"), [
    (errors.ReportClosed("closed"), "afgesloten", True),
    (errors.ReportBusy("busy"), "over een minuut", False),
    (errors.ReportNotFound("gone"), "bestaat niet", True),
    (errors.WrongReporterKey("wrong key"), "niet (meer) geldig", True),
])
async def test_other_report_errors_get_their_dutch_message(monkeypatch: pytest.MonkeyPatch, error: Exception,
                                                           expected: str, ends: bool) -> None:
    recorded_additions(monkeypatch, error)
    messages, result = await validate_addition(SECRET_TEXT, {"followup_code": SECRET_CODE})
    assert expected in messages[0]["text"]
    assert (result.get("requested_slot", "asks again") is None) == ends


async def test_after_an_addition_the_question_is_whether_there_is_more() -> None:
    started = [{"event": "active_loop", "name": "followup_form"}, {"event": "bot", "text": "Melding M-1: nieuw"}]
    added_text = {"event": "bot", "text": "Je bericht is toegevoegd aan je melding."}
    added = [*started, {"event": "user", "text": "x"}, added_text]
    earlier = [added_text, *started]
    for events, question, button in ((started, "Wil je informatie toevoegen", "Overslaan"),
                                     (added, "Wil je nog iets toevoegen", "Nee, bedankt"),
                                     (earlier, "Wil je informatie toevoegen", "Overslaan")):
        dispatcher = CollectingDispatcher()
        await ActionAskFollowupAddition().run(dispatcher, followup_tracker("", {}, events), {})
        assert dispatcher.messages[0]["text"].startswith(question)
        assert [b["title"] for b in dispatcher.messages[0]["buttons"]] == [button]


async def test_the_follow_up_ends_with_a_redaction_marker_in_time() -> None:
    events = await ActionFollowupFinish().run(CollectingDispatcher(), followup_tracker("bedankt", {}), {})
    names = [(e["name"], e["value"]) for e in events if e["event"] == "slot"]
    assert names[-2:] == [("redact_conversation", True), ("redact_conversation", None)]
    assert ("followup_code", None) in names


@pytest.mark.parametrize(("channel", "telegram"), [("telegram", True), ("web", False), (None, False)])
async def test_the_intro_mentions_telegram_only_on_telegram(channel: str | None, telegram: bool) -> None:
    dispatcher = CollectingDispatcher()
    metadata = {"channel": channel} if channel else {}
    track = Tracker("pseudonymous-sender", {}, {"text": "/melding_starten", "intent": {"name": "melding_starten"},
                                                "entities": [], "metadata": metadata}, [], False, None, {}, None)
    await ActionReportIntro().run(dispatcher, track, {})
    intro = dispatcher.messages[0]["text"]
    assert ("Telegram weet Telegram zelf" in intro) is telegram
    assert "integriteitscoördinatoren van je organisatie (Vlaamse overheid)" in intro


# --- the guard (actions.safety) ----------------------------------------------------------------------------------


class Leaky(Exception):
    """An error whose text holds what a careless message would: the user's text and the code."""


async def test_a_failing_action_logs_its_name_and_error_class_but_nothing_the_user_typed(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def explode(session: Any, code: str, text: str, **_: Any) -> None:
        raise Leaky(f"could not store {text!r} for {code}")

    monkeypatch.setattr(forms, "sessions", lambda: lambda: _NoSession())
    monkeypatch.setattr(followup_form.reporter, "add_reporter_message", explode)
    caplog.set_level(logging.DEBUG)
    slots = {"followup_code": SECRET_CODE, "followup_addition": SECRET_TEXT, "report_what": "ZZ-SLOT-3"}
    track = followup_tracker(SECRET_TEXT, slots, [{"event": "user", "text": SECRET_TEXT},
                                                  {"event": "slot", "name": "followup_addition", "value": SECRET_TEXT}])
    dispatcher = CollectingDispatcher()
    events = await ValidateFollowupForm().run(dispatcher, track, DOMAIN)
    assert events == [{"event": "slot", "timestamp": None, "name": "followup_addition", "value": None}], \
        "only the answer being validated is cleared: the form keeps the code and asks its question again"
    assert [m["text"] for m in dispatcher.messages] == [safety.apology()]
    assert "Er ging iets mis aan mijn kant" in dispatcher.messages[0]["text"]
    assert "validate_followup_form" in caplog.text and "Leaky" in caplog.text
    for secret in (SECRET_TEXT, SECRET_CODE, "ZZ-SLOT-3", "could not store"):
        assert secret not in caplog.text


async def test_a_guarded_action_drops_its_half_reply_and_may_return_fallback_events(
        caplog: pytest.LogCaptureFixture) -> None:
    class Broken(Action):
        def name(self) -> str:
            return "action_broken"

        @safety.guarded(fallback=lambda tracker: [{"event": "slot", "name": "x", "value": tracker.sender_id}])
        async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any) -> list[Any]:
            dispatcher.utter_message(text="Je bericht is toegevoegd")
            raise KeyError(SECRET_CODE)

    dispatcher = CollectingDispatcher()
    events = await Broken().run(dispatcher, followup_tracker("x", {}), {})
    assert events == [{"event": "slot", "name": "x", "value": "pseudonymous-sender"}]
    assert [m["text"] for m in dispatcher.messages] == [safety.apology()]
    assert "action_broken failed with KeyError at test_report_actions.py" in caplog.text
    assert SECRET_CODE not in caplog.text

    async def work() -> list[Any]:
        raise ValueError(SECRET_TEXT)

    assert await safety.guarded_run("action_x", dispatcher, work(), fallback=[{"event": "restart"}]) == \
        [{"event": "restart"}]
    assert "action_x failed with ValueError" in caplog.text and SECRET_TEXT not in caplog.text


async def test_a_failing_report_finish_keeps_every_answer_and_goes_back_to_the_summary(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    def broken_draft(**fields: Any) -> Any:
        raise Leaky(fields["what_happened"])

    monkeypatch.setattr(report_form.schemas, "ReportDraft", broken_draft)
    messages, events = await finish(ANSWERS)
    assert [m["text"] for m in messages] == [safety.apology()]
    assert any(e["event"] == "followup" and e["name"] == "report_form" for e in events)
    assert not any(e.get("name") in ("report_what", "redact_conversation") for e in events)
    assert "action_report_finish failed with Leaky" in caplog.text and SECRET_TEXT not in caplog.text


def test_every_action_is_guarded() -> None:
    actions = [cls for module in (report_form, followup_form, answer)
               for _, cls in inspect.getmembers(module, inspect.isclass)
               if issubclass(cls, Action) and cls.__module__ == module.__name__]
    assert ValidateReportForm in actions and answer.ActionRoute in actions and len(actions) >= 20
    for cls in actions:
        assert getattr(cls.run, safety.GUARDED, False), f"{cls.__name__}.run is not guarded"


async def test_a_code_check_that_fails_leaves_no_unchecked_code_in_its_slot(monkeypatch: pytest.MonkeyPatch,
                                                                             caplog: pytest.LogCaptureFixture) -> None:
    """Otherwise the unchecked code would later be used for additions, which are not throttled."""
    def database_down(session: Any, code: str, throttle_key: str, **_: Any) -> Any:
        raise OperationalError("SELECT", {"code": code}, Exception("connection refused"))

    monkeypatch.setattr(forms, "sessions", lambda: lambda: _NoSession())
    monkeypatch.setattr(followup_form.reporter, "follow_up", database_down)
    track = followup_tracker(SECRET_CODE, {"followup_code": SECRET_CODE}, [
        {"event": "user", "text": SECRET_CODE}, {"event": "slot", "name": "followup_code", "value": SECRET_CODE}],
        requested="followup_code")
    dispatcher = CollectingDispatcher()
    events = await ValidateFollowupForm().run(dispatcher, track, DOMAIN)
    assert events == [{"event": "slot", "timestamp": None, "name": "followup_code", "value": None}]
    assert [m["text"] for m in dispatcher.messages] == [safety.apology()]
    assert "OperationalError" in caplog.text and SECRET_CODE not in caplog.text


@pytest.mark.parametrize(("answer", "number"), [("hij zei dat hij zich iets gaat aandoen", "1813"),
                                                ("help, hij slaat nu mijn collega aan de balie", "112")])
def test_an_answer_in_the_form_that_reads_like_an_emergency_gets_the_numbers(answer: str, number: str) -> None:
    dispatcher = CollectingDispatcher()
    result = ValidateReportForm().check("report_what", answer, dispatcher,
                                        tracker({"report_category": "fraude_corruptie"}))
    assert result == {"report_what": answer}  # the answer is kept: the form goes on
    first = dispatcher.messages[0]
    assert number in first["text"].splitlines()[0] and first["decision"]["emergency"] is True


def test_an_ordinary_form_answer_gets_no_emergency_numbers() -> None:
    dispatcher = CollectingDispatcher()
    ValidateReportForm().check("report_what", "hij vervalst al maanden facturen", dispatcher,
                               tracker({"report_category": "fraude_corruptie"}))
    assert dispatcher.messages == []


def test_every_question_of_the_report_form_has_its_ask_action_and_its_validator() -> None:
    slots = (*report_form.FIELDS, "report_confirm", "report_edit")
    asked = {cls().name() for _, cls in inspect.getmembers(report_form, inspect.isclass)
             if issubclass(cls, report_form.AskReportQuestion) and cls is not report_form.AskReportQuestion}
    assert asked == {f"action_ask_{slot}" for slot in slots}
    assert all(callable(getattr(ValidateReportForm, f"validate_{slot}", None)) for slot in slots)
