"""The conversation counts' background writer (integrity/staff/analytics.py `Recorder`): refused events are
logged and not queued, a full queue drops and counts, a database failure pauses the writer, one daemon thread."""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from integrity.staff import analytics
from integrity.staff.models import ConversationCount

ORG = "vlaamse-overheid"


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == analytics.log.name and r.levelno == logging.WARNING]


def rows(sessions: sessionmaker[Session]) -> list[tuple[Any, ...]]:
    with sessions.begin() as session:
        return [(r.day, r.profile_id, r.event, r.topic, r.count) for r in session.scalars(select(ConversationCount))]


def test_refused_events_are_logged_and_never_queued(sessions: sessionmaker[Session],
                                                    caplog: pytest.LogCaptureFixture) -> None:
    recorder = analytics.Recorder(lambda: sessions)
    recorder.submit(ORG, "topic", "onzin")
    recorder.submit(ORG, "geen_gebeurtenis")
    recorder.submit("Geen Profiel", "fallback")
    assert warnings(caplog) == ["Conversation event not counted: ValueError"] * 3
    assert recorder._queue.unfinished_tasks == 0 and recorder.dropped == 0
    recorder.submit(ORG, "fallback")  # the topic may be left out
    assert recorder.flush()
    assert rows(sessions) == [(analytics.today(), ORG, "fallback", "", 1)]
    assert len(warnings(caplog)) == 3


def test_one_daemon_thread_writes_and_a_full_queue_drops(sessions: sessionmaker[Session]) -> None:
    release = threading.Event()

    def slow() -> sessionmaker[Session]:
        release.wait(10)
        return sessions

    recorder = analytics.Recorder(slow, _queue=queue.Queue(1))
    recorder.submit(ORG, "topic", "pesten")
    thread = recorder._thread
    assert thread is not None and thread.daemon and thread.name == "conversation-counts"
    deadline = time.monotonic() + 5
    while recorder._queue.qsize() and time.monotonic() < deadline:  # the writer took the first event
        time.sleep(0.01)
    recorder.submit(ORG, "topic", "pesten")  # waits in the queue
    recorder.submit(ORG, "topic", "pesten")
    recorder.submit(ORG, "topic", "pesten")
    assert recorder.dropped == 2 and recorder._thread is thread
    assert recorder.flush(timeout=0.05) is False, "still writing"
    release.set()
    assert recorder.flush()
    assert rows(sessions) == [(analytics.today(), ORG, "topic", "pesten", 2)]


def test_a_database_failure_pauses_the_writer(caplog: pytest.LogCaptureFixture) -> None:
    calls: list[int] = []

    def down() -> sessionmaker[Session]:
        calls.append(1)
        raise RuntimeError("database down: geheime details")

    recorder = analytics.Recorder(down)
    recorder.submit(ORG, "topic", "pesten")
    assert recorder.flush()
    assert (len(calls), recorder.dropped) == (1, 1)
    assert warnings(caplog) == ["Conversation counts not recorded (RuntimeError); pausing for 30 s"]
    assert recorder._paused_until > time.monotonic() + 25
    recorder.submit(ORG, "topic", "pesten")
    assert recorder.flush()
    assert (len(calls), recorder.dropped) == (1, 2), "paused: not even tried"
    recorder._paused_until = 0.0
    recorder.submit(ORG, "topic", "pesten")
    assert recorder.flush()
    assert (len(calls), recorder.dropped) == (2, 3)
    assert "geheime" not in caplog.text


def test_a_dead_writer_is_replaced(sessions: sessionmaker[Session]) -> None:
    recorder = analytics.Recorder(lambda: sessions)
    recorder._thread = threading.Thread(target=lambda: None)
    recorder._thread.start()
    recorder._thread.join()
    recorder.submit(ORG, "handover")
    assert recorder._thread.is_alive() and recorder.flush()
    assert rows(sessions) == [(analytics.today(), ORG, "handover", "", 1)]
