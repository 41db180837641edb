"""Conversation counts from the real custom actions (rasa_sdk Tracker and dispatcher) into a real SQLite file.

What is proven: the action counts the right event and topic; no message text or sender id reaches the database;
the answer does not wait for the database and still comes when the database is down or hangs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from actions import forms
from actions.answer import ActionRoute
from actions.followup_form import ValidateFollowupForm
from actions.report_form import ActionReportFinish, ActionReportIntro
from integrity.reports import casework, db
from integrity.reports.cli import upgrade
from integrity.staff import analytics
from integrity.staff.models import ConversationCount
from tests.plugins.report_store import make_reader
from tests.trackers import make_tracker

SENTENCE = "Mijn teamleider Griet Vandersteen vraagt steeds cadeaubonnen van leverancier Zwaluwstaart"
SENDER = "telegram:5550123987"


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    monkeypatch.setenv("INTEGRITY_ARGON2_PROFILE", "test")
    monkeypatch.setenv("INTEGRITY_KEY_DIR", str(tmp_path / "keys"))
    engine = db.make_engine(f"sqlite:///{tmp_path / 'reports.db'}")
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> sessionmaker[Session]:
    """The actions' counters and reports go to the temporary database."""
    factory = db.make_sessionmaker(engine)
    monkeypatch.setattr(analytics, "recorder", analytics.Recorder(lambda: factory))
    monkeypatch.setattr(forms, "sessions", lambda: factory)
    return factory


def tracker(intent: str, text: str = SENTENCE, *, slots: dict[str, Any] | None = None,
            ranking: list[dict[str, Any]] | None = None) -> Tracker:
    return make_tracker(text=text, intent=intent, ranking=ranking, slots=slots, sender=SENDER)


async def route(t: Tracker) -> list[dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    await ActionRoute().run(dispatcher, t, {})
    return dispatcher.messages


def counts(sessions: sessionmaker[Session]) -> dict[tuple[str, str, str], int]:
    assert analytics.recorder.flush(), "the background writer did not finish"
    with sessions.begin() as session:
        return {(r.profile_id, r.event, r.topic): r.count for r in session.scalars(select(ConversationCount))}


def raw_database(engine: Engine) -> bytes:
    path = Path(str(engine.url.database))
    return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())


async def test_route_decisions_become_counts_per_event_and_topic(sessions: sessionmaker[Session]) -> None:
    await route(tracker("geschenken"))
    await route(tracker("geschenken"))
    await route(tracker("pesten"))
    await route(tracker("kies_formeel", slots={"pending_route": "pesten"}))  # the same question: not counted again
    await route(tracker("nlu_fallback", ranking=[{"name": "nlu_fallback", "confidence": 0.6},
                                                 {"name": "nevenactiviteiten", "confidence": 0.2}]))
    await route(tracker("mens_spreken", "ik wil met een mens praten"))
    await route(tracker("out_of_scope", "ik wil mezelf iets aandoen"))  # the safety net: emergency
    await route(tracker("greet", "hallo"))  # small talk is not counted
    assert counts(sessions) == {
        ("vlaamse-overheid", "topic", "geschenken"): 2,
        ("vlaamse-overheid", "topic", "pesten"): 1,
        ("vlaamse-overheid", "fallback", "nevenactiviteiten"): 1,
        ("vlaamse-overheid", "handover", ""): 1,
        ("vlaamse-overheid", "emergency", "noodsituatie"): 1,
    }


async def test_no_message_text_or_sender_reaches_the_database(sessions: sessionmaker[Session], engine: Engine,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for intent in ("geschenken", "nlu_fallback", "mens_spreken", "noodsituatie_acuut"):
        await route(tracker(intent))
    assert sum(counts(sessions).values()) == 4
    stored = raw_database(engine)
    assert b"conversation_counts" in stored  # the scan reads the real file
    for secret in (SENTENCE, "Vandersteen", "Zwaluwstaart", SENDER, "5550123987"):
        assert secret.encode() not in stored
        assert secret not in caplog.text
    with engine.connect() as connection:
        columns = list(connection.exec_driver_sql("SELECT * FROM conversation_counts").keys())
    assert columns == ["id", "day", "profile_id", "event", "topic", "count"]


async def test_report_actions_count_started_submitted_and_followup(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:  # a reader with a key pair: reports nobody could read are refused
        make_reader(session)
    await ActionReportIntro().run(CollectingDispatcher(), tracker("melding_starten"), {})
    slots = {"report_category": "fraude_corruptie", "report_what": SENTENCE, "report_when": "", "report_where": "",
             "report_people": "", "report_evidence": "", "report_anonymous": "ja", "report_route": None,
             "report_confirm": "send"}
    dispatcher = CollectingDispatcher()
    await ActionReportFinish().run(dispatcher, tracker("out_of_scope", "Verzenden", slots=slots), {})
    assert "ontvangstcode" in dispatcher.messages[0]["text"].lower()
    with sessions.begin() as session:
        [summary] = casework.list_reports(session)
    code = next(word for word in dispatcher.messages[0]["text"].split("\n") if sum(c.isdigit() for c in word) >= 16)
    digits = "".join(c for c in code if c.isdigit())[:16]
    result = await ValidateFollowupForm().validate_followup_code(digits, CollectingDispatcher(),
                                                                 tracker("opvolgen", digits), {})
    assert result == {"followup_code": digits}, summary.reference
    assert counts(sessions) == {("vlaamse-overheid", "report_started", ""): 1,
                                ("vlaamse-overheid", "report_submitted", ""): 1,
                                ("vlaamse-overheid", "followup", ""): 1}


async def test_the_action_answers_at_once_when_the_database_is_down(monkeypatch: pytest.MonkeyPatch,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    class Down:
        def __call__(self) -> Any:
            raise OperationalError("connect", {}, Exception("connection refused"))

    recorder = analytics.Recorder(lambda: Down())  # type: ignore[arg-type, return-value]
    monkeypatch.setattr(analytics, "recorder", recorder)
    messages = await route(tracker("geschenken"))
    assert "geschenk" in messages[0]["text"].lower()
    assert recorder.flush()
    assert "Conversation counts not recorded (OperationalError)" in caplog.text
    assert SENTENCE not in caplog.text and "connection refused" not in caplog.text
    # While paused after the failure, further events are dropped without touching the database.
    await route(tracker("geschenken"))
    assert recorder.flush() and recorder.dropped == 2


async def test_a_hanging_database_does_not_slow_the_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    def slow() -> sessionmaker[Session]:
        time.sleep(2)
        raise OperationalError("connect", {}, Exception("timeout"))

    recorder = analytics.Recorder(slow)
    monkeypatch.setattr(analytics, "recorder", recorder)
    started = time.monotonic()
    for _ in range(5):
        messages = await route(tracker("geschenken"))
        assert messages
    assert time.monotonic() - started < 1.0
    assert recorder.flush(timeout=5)


async def test_an_unreachable_postgresql_server_does_not_break_the_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = db.make_engine("postgresql+psycopg://nobody@127.0.0.1:9/none", connect_args={"connect_timeout": 2})
    recorder = analytics.Recorder(lambda: db.make_sessionmaker(engine))
    monkeypatch.setattr(analytics, "recorder", recorder)
    started = time.monotonic()
    messages = await route(tracker("pesten"))
    assert messages and time.monotonic() - started < 0.5
    assert recorder.flush(timeout=10) and recorder.dropped == 1
    engine.dispose()
