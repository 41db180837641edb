"""The report actions with a real rasa_sdk Tracker, for failures that are hard to cause through the servers."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import OperationalError

from actions import reporting
from actions.reporting import ActionReportFinish

ANSWERS = {"report_category": "fraude_corruptie", "report_what": "valse facturen KX-1", "report_when": "gisteren",
           "report_where": "aankoop", "report_people": "", "report_evidence": "", "report_anonymous": "ja",
           "report_route": "audit_vlaanderen", "report_confirm": "send"}


def tracker(slots: dict[str, Any]) -> Tracker:
    message = {"text": "Verzenden", "intent": {"name": "out_of_scope", "confidence": 0.5}, "entities": [],
               "metadata": {}}
    return Tracker("pseudonymous-sender", slots, message, [], False, None, {}, "report_form")


async def finish(slots: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await ActionReportFinish().run(dispatcher, tracker(slots), {})
    return dispatcher.messages, events


async def test_database_down_confirms_nothing_and_keeps_every_answer(monkeypatch: pytest.MonkeyPatch,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    class BrokenSessions:
        def __call__(self) -> Any:
            raise OperationalError("connect", {}, Exception("connection refused"))

    monkeypatch.setattr(reporting, "sessions", lambda: BrokenSessions())
    monkeypatch.setattr(reporting.crypto, "load_public_key", lambda: b"\x00" * 32)
    messages, events = await finish(ANSWERS)
    assert "NIET verzonden" in messages[0]["text"] and "ontvangstcode" not in messages[0]["text"]
    assert {"event": "slot", "timestamp": None, "name": "report_confirm", "value": None} in events
    assert any(e["event"] == "followup" and e["name"] == "report_form" for e in events)
    assert not any(e.get("name") == "report_what" for e in events), "the answers are kept"
    assert not any(e.get("name") == "redact_conversation" for e in events)
    assert "could not be stored" in caplog.text and "KX-1" not in caplog.text


async def test_missing_keys_are_reported_to_the_operator_in_english(monkeypatch: pytest.MonkeyPatch,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    def no_keys() -> bytes:
        raise reporting.crypto.KeyFileError("no key file in var/keys")

    monkeypatch.setattr(reporting.crypto, "load_public_key", no_keys)
    messages, _ = await finish(ANSWERS)
    assert "nog niet ingesteld" in messages[0]["text"]
    assert "Reports are not set up" in caplog.text


async def test_cancel_stores_nothing_and_forgets_the_conversation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reporting, "sessions", lambda: pytest.fail("nothing may be stored"))
    messages, events = await finish({**ANSWERS, "report_cancelled": True})
    assert "geannuleerd" in messages[0]["text"]
    assert {"event": "slot", "timestamp": None, "name": "redact_conversation", "value": True} in events
