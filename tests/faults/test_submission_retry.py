"""The report action's side of idempotent submission, with rasa_sdk Trackers and a real SQLite report store.

Covers what is hard to cause through the servers: a commit that reached the database while the action got an
error, and which conversations share a submission id.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from actions import forms, report_form
from actions.report_form import ActionReportFinish, ActionReportIntro, submission_id
from integrity.reports import db, errors, reporter
from integrity.reports.cli import upgrade
from integrity.reports.models import Report
from tests.plugins.report_store import make_reader
from tests.trackers import make_tracker

ANSWERS = {"report_category": "fraude_corruptie", "report_what": "valse facturen RT-1", "report_when": "gisteren",
           "report_where": "aankoop", "report_people": "", "report_evidence": "", "report_anonymous": "ja",
           "report_route": "audit_vlaanderen", "report_confirm": "send"}


def started(message_id: str = "9f1c2a", at: float = 1700000000.25) -> list[dict[str, Any]]:
    return [{"event": "user", "text": "/melding_starten", "message_id": message_id, "timestamp": at - 0.1},
            {"event": "action", "name": "action_report_intro", "timestamp": at}]


def tracker(events: list[dict[str, Any]], slots: dict[str, Any] | None = None, who: str = "pseudonym-1") -> Tracker:
    return make_tracker(text="Verzenden", slots=ANSWERS if slots is None else slots, events=events, sender=who,
                        latest_action="report_form")


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[sessionmaker[Session]]:
    monkeypatch.setenv("INTEGRITY_ARGON2_PROFILE", "test")
    monkeypatch.setenv("INTEGRITY_KEY_DIR", str(tmp_path / "keys"))
    engine = db.make_engine(f"sqlite:///{tmp_path / 'reports.db'}")
    upgrade(engine)
    factory = db.make_sessionmaker(engine)
    with factory.begin() as session:  # a reader with a key pair: reports nobody could read are refused
        make_reader(session)
    monkeypatch.setattr(forms, "sessions", lambda: factory)
    yield factory
    engine.dispose()


async def finish(track: Tracker) -> str:
    dispatcher = CollectingDispatcher()
    await ActionReportFinish().run(dispatcher, track, {})
    return "\n".join(m.get("text") or "" for m in dispatcher.messages)


def count(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return session.scalar(select(func.count(Report.id))) or 0


def code_in(text: str) -> str:
    match = re.search(r"\d{4} \d{4} \d{4} \d{4}", text)
    assert match, text
    return match.group()


def test_one_report_gets_one_id_and_other_reports_get_others(store: sessionmaker[Session]) -> None:
    first = submission_id(tracker(started()))
    assert first and len(first) == 64 and "pseudonym" not in first
    assert submission_id(tracker([{"event": "user", "text": "hallo"}, *started()])) == first
    assert submission_id(tracker(started(message_id="other"))) != first
    assert submission_id(tracker(started(at=1700000099.0))) != first
    assert submission_id(tracker(started(), who="pseudonym-2")) != first
    assert submission_id(tracker([])) is None
    resumed = [*started(), {"event": "action", "name": "action_report_intro", "timestamp": 1700000500.0}]
    assert submission_id(tracker(resumed)) == first, "an intro that resumes the unconfirmed report keeps the id"
    done = [*started(), {"event": "slot", "name": "redact_conversation", "value": True},
            *started(message_id="next", at=1700000600.0)]
    assert submission_id(tracker(done)) == submission_id(tracker(started(message_id="next", at=1700000600.0)))


async def test_a_reply_lost_after_storing_and_a_resend_make_one_report(store: sessionmaker[Session]) -> None:
    events = started()
    lost = await finish(tracker(events))  # the action server died before Rasa got this answer
    assert count(store) == 1 and "ontvangstcode" in lost
    shown = await finish(tracker(events))
    assert count(store) == 1
    with store() as session:
        assert reporter.follow_up(session, code_in(shown), "t").report["what_happened"] == "valse facturen RT-1"
        with pytest.raises(errors.UnknownReceipt):
            reporter.follow_up(session, code_in(lost), "t")
    await finish(tracker(started(message_id="a-new-report")))
    assert count(store) == 2, "a new report is not taken for a retry"


async def test_a_commit_whose_answer_was_lost_is_not_stored_twice(store: sessionmaker[Session],
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The database stored the report but the connection broke before it said so: the action says NOT sent and
    keeps the answers; the user's "verzenden" then gets the one report with a working code."""
    real = store

    def broken_after_commit() -> Session:
        session = real()
        commit = session.commit

        def commit_then_fail() -> None:
            commit()
            raise OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))

        session.commit = commit_then_fail  # type: ignore[method-assign]
        return session

    monkeypatch.setattr(forms, "sessions", lambda: broken_after_commit)
    failed = await finish(tracker(started()))
    assert "NIET verzonden" in failed and count(real) == 1
    monkeypatch.setattr(forms, "sessions", lambda: real)
    shown = await finish(tracker(started()))
    assert count(real) == 1
    with real() as session:
        assert reporter.follow_up(session, code_in(shown), "t").reference


async def test_the_intro_resumes_a_report_whose_sending_never_finished(store: sessionmaker[Session]) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionReportIntro().run(dispatcher, tracker(started()), {})
    names = {e["name"] for e in events if e["event"] == "slot"}
    assert names == {"report_confirm", "report_edit", "report_editing"}, "the answers are kept"
    fresh = await ActionReportIntro().run(CollectingDispatcher(), tracker(started(), {**ANSWERS,
                                                                                       "report_confirm": None}), {})
    assert {"report_what", "report_category"} <= {e["name"] for e in fresh if e["event"] == "slot"}


async def test_a_skipped_optional_answer_survives_the_form_resuming() -> None:
    result = await report_form.ValidateReportForm().validate_report_people("", CollectingDispatcher(),
                                                                           tracker(started()), {})
    assert result == {"report_people": ""}
