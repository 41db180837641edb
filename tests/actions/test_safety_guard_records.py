"""The action guard (actions/safety.py) to the letter: the exact log record an error leaves (action name,
exception class, file:line in function, and nothing else), what the user gets, and the fallback events.

The broader behaviour (secrets never logged, every action guarded) is in tests/test_report_actions.py; these
tests pin the details mutation testing found unchecked (`make mutate`, docs/testing.md).
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
from rasa_sdk import Action
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import safety
from tests.trackers import make_tracker

SECRET = "1234 5678 9012 3456 geheim"


def _records(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == safety.logger.name]


def _raise_here() -> None:
    raise KeyError(SECRET)


def _line_of_raise() -> int:
    return _raise_here.__code__.co_firstlineno + 1


class Broken(Action):
    def name(self) -> str:
        return "action_broken"

    @safety.guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Any, domain: Any) -> list[Any]:
        dispatcher.utter_message(text="half a reply")
        _raise_here()
        return []


class Nameless(Action):
    def name(self) -> str:
        raise RuntimeError("no name")

    @safety.guarded(fallback=lambda tracker: [SlotSet("a", tracker.sender_id)])
    async def run(self, dispatcher: CollectingDispatcher, tracker: Any, domain: Any) -> list[Any]:
        raise ValueError(SECRET)


async def test_the_log_record_is_exactly_name_class_and_origin(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    dispatcher = CollectingDispatcher()
    assert await Broken().run(dispatcher, make_tracker(text=SECRET), {}) == []
    assert _records(caplog) == [
        f"Action action_broken failed with KeyError at test_safety_guard_records.py:{_line_of_raise()} in "
        "_raise_here (details are not logged: they may hold what the user typed)"]
    assert [record.levelno for record in caplog.records if record.name == safety.logger.name] == [logging.ERROR]
    assert dispatcher.messages == [{"text": safety.apology(), "buttons": [], "elements": [], "custom": {},
                                    "template": None, "response": None, "image": None, "attachment": None}]


async def test_an_action_without_a_name_is_logged_under_its_class_and_gets_its_fallback(
        caplog: pytest.LogCaptureFixture) -> None:
    dispatcher = CollectingDispatcher()
    events = await Nameless().run(dispatcher, make_tracker(sender="s-1"), {})
    assert events == [SlotSet("a", "s-1")]
    assert _records(caplog)[0].startswith("Action Nameless failed with ValueError at test_safety_guard_records.py:")
    assert "RuntimeError" not in caplog.text and SECRET not in caplog.text
    assert Nameless.run.__wrapped__.__name__ == "run"  # type: ignore[attr-defined]
    assert getattr(Nameless.run, safety.GUARDED) is True
    assert getattr(Broken.run, safety.GUARDED) is True


async def test_a_failing_fallback_is_logged_and_returns_no_events(caplog: pytest.LogCaptureFixture) -> None:
    def bad_fallback(tracker: Any) -> list[Any]:
        raise LookupError(SECRET)

    class WithBadFallback(Broken):
        @safety.guarded(fallback=bad_fallback)
        async def run(self, dispatcher: CollectingDispatcher, tracker: Any, domain: Any) -> list[Any]:
            _raise_here()
            return []

    assert await WithBadFallback().run(CollectingDispatcher(), make_tracker(), {}) == []
    line = bad_fallback.__code__.co_firstlineno + 1
    assert _records(caplog)[1] == (f"The fallback of action action_broken failed with LookupError at "
                                   f"test_safety_guard_records.py:{line} in bad_fallback")
    assert SECRET not in caplog.text


def test_origin_is_the_innermost_frame_and_unknown_without_a_traceback() -> None:
    assert safety.origin(ValueError("never raised")) == "unknown"
    try:
        _raise_here()
    except KeyError as exc:
        assert safety.origin(exc) == f"test_safety_guard_records.py:{_line_of_raise()} in _raise_here"


def test_apology_is_the_dutch_text_and_none_when_the_content_is_broken(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    from integrity import report_flow

    assert safety.apology() == report_flow.report_texts()["errors"]["unexpected"]

    def broken() -> dict[str, Any]:
        raise FileNotFoundError(SECRET)

    monkeypatch.setattr(report_flow, "report_texts", broken)
    assert safety.apology() is None
    assert _records(caplog) == ["The apology text cannot be read (FileNotFoundError)"]
    dispatcher = CollectingDispatcher()
    dispatcher.utter_message(text="half")
    safety.report_failure("action_x", KeyError("k"), dispatcher)
    assert dispatcher.messages == [], "no apology to give: the half reply is dropped all the same"


def test_reject_unvalidated_clears_only_the_answers_being_validated() -> None:
    tracker = make_tracker(slots={"report_what": "iets", "report_when": "gisteren", "requested_slot": "report_when"},
                           events=[{"event": "slot", "name": "report_when", "value": "gisteren"},
                                   {"event": "slot", "name": "requested_slot", "value": "report_when"}],
                           latest_action="report_form")
    events = safety.reject_unvalidated(tracker)
    assert events == [SlotSet("report_when", None)]
    assert events[0]["value"] is None


async def test_guarded_run_returns_the_work_or_the_fallback(caplog: pytest.LogCaptureFixture) -> None:
    async def fine() -> list[Any]:
        return [SlotSet("ok", 1)]

    async def fails() -> list[Any]:
        _raise_here()
        return []

    dispatcher = CollectingDispatcher()
    assert await safety.guarded_run("action_y", dispatcher, fine()) == [SlotSet("ok", 1)]
    assert _records(caplog) == []
    assert await safety.guarded_run("action_y", dispatcher, fails()) == []
    assert _records(caplog)[0].startswith("Action action_y failed with KeyError at ")


async def test_the_decorator_is_applied_when_the_class_is_made(caplog: pytest.LogCaptureFixture) -> None:
    """`guarded` and `guarded(fallback=...)` both wrap the method (decorated here, at run time, not at import)."""

    class Plain(Action):
        def name(self) -> str:
            return "action_plain"

        @safety.guarded
        async def run(self, dispatcher: CollectingDispatcher, tracker: Any, domain: Any) -> list[Any]:
            raise KeyError(SECRET)

    class WithFallback(Plain):
        @safety.guarded(fallback=lambda tracker: [SlotSet("b", None)])
        async def run(self, dispatcher: CollectingDispatcher, tracker: Any, domain: Any) -> list[Any]:
            raise KeyError(SECRET)

    for cls, events in ((Plain, []), (WithFallback, [SlotSet("b", None)])):
        assert getattr(cls.run, safety.GUARDED) is True
        assert cls.run.__name__ == "run"
        assert await cls().run(CollectingDispatcher(), make_tracker(), {}) == events
    assert len(_records(caplog)) == 2
