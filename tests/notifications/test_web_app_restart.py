"""The quality bar: the SMTP server is down for the first three attempts, the web app (which runs the sender) is
killed and started again in between, and in the end every notification has arrived, exactly once."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from devtools.stack import Service, free_port, rasa_env
from integrity.notifications.models import MailStatus, OutboxMail
from integrity.reports import db, reporter, submission
from tests.notifications.helpers import make_staff
from tests.notifications.mailserver import MailServer
from tests.plugins.report_store import Keys, make_draft

MAILS = 4  # a new report and a reporter's message, each to the coordinator and the actor's handler


def wait_until(check: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def web_app(tmp_path: Path, empty_db_url: str, keys: Keys) -> Iterator[Callable[[MailServer], Service]]:
    started: list[Service] = []

    def make(mail: MailServer) -> Service:
        port = free_port()
        env = rasa_env(DATABASE_URL=empty_db_url, INTEGRITY_KEY_DIR=str(keys.directory),
                       INTEGRITY_ARGON2_PROFILE="test", SMTP_HOST="127.0.0.1", SMTP_PORT=str(mail.port),
                       SMTP_SECURITY="none", SMTP_FROM="integriteit@test.example", NOTIFY_POLL_SECONDS="0.2",
                       NOTIFY_RETRY_SECONDS="0.6", NOTIFY_RETRY_MAX_SECONDS="0.6", NOTIFY_LEASE_SECONDS="2",
                       NOTIFY_MAX_ATTEMPTS="50", SMTP_TIMEOUT="2", RASA_URL="http://127.0.0.1:9")
        service = Service([sys.executable, "-m", "backoffice", "--port", str(port)], env, tmp_path / "web.log",
                          f"http://127.0.0.1:{port}/opvolgen")
        started.append(service)
        return service

    yield make
    for service in started:
        service.stop()


def test_no_notification_lost_or_doubled_when_smtp_is_down_and_the_web_app_restarts(
        tmp_path: Path, sessions: sessionmaker[Session], keys: Keys,
        web_app: Callable[[MailServer], Service]) -> None:
    from bot.wait_ready import wait_ready

    make_staff(sessions)
    with db.session_scope(sessions) as session:
        code = submission.submit_report(session, make_draft()).receipt_code
    with db.session_scope(sessions) as session:
        reporter.add_reporter_message(session, code, "Nog een detail.")

    def attempts() -> list[int]:
        with sessions() as session:
            return list(session.scalars(select(OutboxMail.attempts)))

    mail = MailServer(tmp_path / "mail")  # not started: the SMTP server is down
    first = web_app(mail)
    first.start()
    assert not wait_ready([str(first.ready_url)], timeout=60)
    wait_until(lambda: len(attempts()) == MAILS and min(attempts()) >= 2, "two failed attempts per mail")
    first.kill()  # a crash: whatever it had claimed stays claimed until the lease runs out

    second = web_app(mail)
    second.start()
    wait_until(lambda: min(attempts()) >= 3, "the third failed attempt, by the restarted web app")
    second.kill()
    assert mail.messages() == []

    mail.start()  # the SMTP server is back for the fourth attempt
    try:
        third = web_app(mail)
        third.start()
        messages = mail.wait_for(MAILS, timeout=60)
        wait_until(lambda: all(a >= 4 for a in attempts()), "the fourth attempts")
        with sessions() as session:
            assert session.scalar(select(func.count(OutboxMail.id)).where(OutboxMail.status == MailStatus.SENT)) \
                == MAILS
        third.stop()  # and once more: a restart after delivery sends nothing again
        fourth = web_app(mail)
        fourth.start()
        assert not wait_ready([str(fourth.ready_url)], timeout=60)
        time.sleep(2)  # ten rounds of the sender
        fourth.stop()
        messages = mail.messages()
    finally:
        mail.stop()
    assert len(messages) == MAILS
    assert len({str(message["Message-ID"]) for message in messages}) == MAILS
    assert sorted(str(message["To"]) for message in messages) == ["audit@org.test"] * 2 + ["coord@org.test"] * 2
