"""The receipt-code throttle of the chat follow-up form (issue 13: the form's throttle could be switched off
without a failing test, and a new sender id per try escaped it).

Runs the form's validator with real rasa-sdk Trackers against the real report store: wrong codes are counted
against the client the channel saw (metadata `client`, bot/webchat.py), not the sender id the browser chose, and
against one counter shared by every chat sender.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from actions import forms
from actions.followup_form import CHAT_THROTTLE, ValidateFollowupForm, throttle_key
from integrity.report_flow import report_texts
from integrity.reports import db, receipts, reporter
from integrity.reports.models import FollowUpAttempt
from tests.conftest import ReportStore
from tests.trackers import make_tracker

WRONG = "1111 2222 3333 4444"
FOLLOWUP = report_texts()["followup"]


@pytest.fixture
def store(report_store: ReportStore, monkeypatch: pytest.MonkeyPatch) -> Iterator[sessionmaker[Session]]:
    for name, value in report_store.env.items():
        monkeypatch.setenv(name, value)
    factory = db.session_factory(report_store.database_url)
    monkeypatch.setattr(forms, "sessions", lambda: factory)
    yield factory
    with factory() as session:  # the shared chat counter must not throttle the other tests' conversations
        session.execute(delete(FollowUpAttempt))
        session.commit()


def pseudonym(channel: str = "web-ip") -> str:
    return f"{channel}-{uuid.uuid4().hex}"


async def try_code(sender: str, client: str | None, code: str = WRONG) -> list[str]:
    dispatcher = CollectingDispatcher()
    metadata: dict[str, Any] = {"channel": "web", **({"client": client} if client else {})}
    track = make_tracker(text=code, sender=sender, metadata=metadata, latest_action="followup_form",
                         slots={"requested_slot": "followup_code"})
    await ValidateFollowupForm().validate_followup_code(code, dispatcher, track, {})
    return [message.get("text") or "" for message in dispatcher.messages]


async def test_a_new_sender_id_per_try_does_not_escape_the_throttle(store: sessionmaker[Session]) -> None:
    client = pseudonym()
    for _ in range(reporter.FOLLOW_UP_MAX_FAILURES):
        assert await try_code(pseudonym("web"), client) == [FOLLOWUP["unknown"]]
    assert await try_code(pseudonym("web"), client) == [FOLLOWUP["throttled"]]
    # Another client is not affected.
    assert await try_code(pseudonym("web"), pseudonym()) == [FOLLOWUP["unknown"]]


async def test_without_channel_metadata_the_sender_is_throttled(store: sessionmaker[Session]) -> None:
    sender = pseudonym("telegram")
    for _ in range(reporter.FOLLOW_UP_MAX_FAILURES):
        assert await try_code(sender, None) == [FOLLOWUP["unknown"]]
    assert await try_code(sender, None) == [FOLLOWUP["throttled"]]


async def test_one_counter_for_every_chat_sender_limits_guessing_from_many_clients(
        store: sessionmaker[Session]) -> None:
    for _ in range(reporter.SHARED_MAX_FAILURES):
        assert await try_code(pseudonym("web"), pseudonym()) == [FOLLOWUP["unknown"]]
    assert await try_code(pseudonym("web"), pseudonym()) == [FOLLOWUP["throttled"]]
    with store() as session:  # stored as keyed hashes only
        hashes = set(session.scalars(FollowUpAttempt.__table__.select().with_only_columns(FollowUpAttempt.key_hash)))
    assert receipts.throttle_hash("shared:" + CHAT_THROTTLE) in hashes and CHAT_THROTTLE not in hashes


def test_the_throttle_key_is_the_channel_client_or_the_sender() -> None:
    client = pseudonym()
    assert throttle_key(make_tracker(sender="web-x", metadata={"client": client})) == client
    # Anything that is not one of our pseudonyms is ignored: the sender id counts.
    assert throttle_key(make_tracker(sender="web-x", metadata={"client": "1.2.3.4"})) == "web-x"
    assert throttle_key(make_tracker(sender="telegram-y")) == "telegram-y"
