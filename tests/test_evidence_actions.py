"""The chat's waiting files go with the report, or with the follow-up message, in the same transaction."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from actions import forms
from actions.followup_form import ValidateFollowupForm
from actions.report_form import ActionReportFinish
from integrity.notifications.models import Kind, NotificationEvent
from integrity.reports import evidence, reporter
from integrity.reports.models import Report, ReportFile
from tests import evidence_samples as samples
from tests.plugins.report_store import Keys
from tests.test_report_actions import ANSWERS, followup_tracker, tracker

SENDER = "pseudonymous-sender"


@pytest.fixture
def store(sessions: sessionmaker[Session], keys: Keys, monkeypatch: pytest.MonkeyPatch) -> sessionmaker[Session]:
    monkeypatch.setattr(forms, "sessions", lambda: sessions)
    return sessions


async def test_the_files_sent_in_the_chat_are_stored_with_the_report(store: sessionmaker[Session]) -> None:
    with store.begin() as session:
        evidence.stage(session, SENDER, evidence.prepare(samples.photo_with_gps()))
        evidence.stage(session, SENDER, evidence.prepare(samples.docx_with_author()))
    dispatcher = CollectingDispatcher()
    await ActionReportFinish().run(dispatcher, tracker(dict(ANSWERS)), {})
    texts = [m["text"] for m in dispatcher.messages]
    assert "Je melding is verzonden" in texts[0] and texts[1] == "2 bestand(en) bij je melding gevoegd."
    with store.begin() as session:
        report = session.scalars(select(Report)).one()
        assert [f.label for f in evidence.list_files(session, report.id)] == ["foto (JPEG)", "Word-document"]
        assert evidence.pending(session, SENDER) == []


async def test_a_failed_submission_keeps_the_waiting_files(store: sessionmaker[Session],
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    with store.begin() as session:
        evidence.stage(session, SENDER, evidence.prepare(b"bewijs"))

    def broken(*_: Any, **__: Any) -> None:
        raise RuntimeError("database went away half-way")

    monkeypatch.setattr(evidence, "attach_pending", broken)
    dispatcher = CollectingDispatcher()
    await ActionReportFinish().run(dispatcher, tracker(dict(ANSWERS)), {})
    assert "Je melding is verzonden" not in dispatcher.messages[0]["text"]
    with store.begin() as session:
        assert session.scalars(select(Report)).all() == []  # the report and its files: together or not at all
        assert len(evidence.pending(session, SENDER)) == 1


async def test_files_go_with_a_follow_up_message_and_with_a_follow_up_that_ends(
        store: sessionmaker[Session], keys: Keys) -> None:
    from integrity.reports import submission
    from tests.plugins.report_store import make_draft

    with store.begin() as session:
        submitted = submission.submit_report(session, make_draft())
        evidence.stage(session, SENDER, evidence.prepare(samples.pdf_with_author()))
    slots = {"followup_code": submitted.receipt_code}
    dispatcher = CollectingDispatcher()
    await ValidateFollowupForm().validate_followup_addition("Zie de bijlage.", dispatcher,
                                                            followup_tracker("Zie de bijlage.", slots), {})
    assert [m["text"] for m in dispatcher.messages][-1] == "1 bestand(en) bij je melding gevoegd."
    with store.begin() as session:
        evidence.stage(session, SENDER, evidence.prepare(b"nog een verslag"))
    dispatcher = CollectingDispatcher()
    result = await ValidateFollowupForm().validate_followup_addition("nee bedankt", dispatcher,
                                                                     followup_tracker("nee bedankt", slots), {})
    assert result == {"followup_addition": ""}
    assert [m["text"] for m in dispatcher.messages] == ["1 bestand(en) bij je melding gevoegd."]
    with store.begin() as session:
        report_id, key = reporter.authenticate_reporter(session, submitted.receipt_code, None)
        assert len(session.scalars(select(ReportFile).where(ReportFile.report_id == report_id)).all()) == 2
        assert [m.text for m in reporter.reporter_view(session, report_id, key).messages] == ["Zie de bijlage."]
        # The message's event, then one for the files added without a message: the staff hear of both.
        assert session.scalars(select(NotificationEvent.kind).where(NotificationEvent.report_id == report_id)
                               .order_by(NotificationEvent.id)).all() == [
            Kind.NEW_REPORT, Kind.REPORTER_MESSAGE, Kind.REPORTER_MESSAGE]


async def test_the_summary_before_sending_lists_the_waiting_files(store: sessionmaker[Session]) -> None:
    from actions.report_form import AskReportConfirm

    with store.begin() as session:
        evidence.stage(session, SENDER, evidence.prepare(samples.photo_with_gps()))
    dispatcher = CollectingDispatcher()
    await AskReportConfirm().run(dispatcher, tracker(dict(ANSWERS)), {})
    summary = dispatcher.messages[0]["text"]
    assert summary.splitlines()[-1].startswith("- Bestanden: foto (JPEG) (verwijderd: GPS-locatie, cameramerk")


async def test_without_files_or_without_the_store_the_summary_has_no_file_line(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from actions.report_form import AskReportConfirm

    def down() -> Any:
        raise RuntimeError("database down")

    monkeypatch.setattr(forms, "sessions", down)
    dispatcher = CollectingDispatcher()
    await AskReportConfirm().run(dispatcher, tracker(dict(ANSWERS)), {})
    assert "Bestanden" not in dispatcher.messages[0]["text"] and len(dispatcher.messages) == 2
