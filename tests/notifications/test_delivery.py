"""Delivery through a real SMTP server process that goes down and comes back: back-off, no loss, no duplicate,
giving up with an operator alert, and the crash window (a claimed mail whose sender died)."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from integrity.notifications import jobs, outbox, sender
from integrity.notifications.models import MailStatus
from integrity.notifications.settings import MailSettings
from integrity.reports import db
from tests.notifications.helpers import NOW, clock, make_staff, outbox_rows, status_count, submit
from tests.notifications.mailserver import MailServer
from tests.plugins.report_store import Keys


def test_server_down_then_back_retries_with_back_off_and_delivers_once(
        sessions: sessionmaker[Session], keys: Keys, mail_server: MailServer, mail_settings: MailSettings) -> None:
    settings = replace(mail_settings, retry_seconds=60, retry_max_seconds=3600, max_attempts=8)
    make_staff(sessions)
    submit(sessions, keys, NOW)
    mail_server.stop()
    moment = NOW
    for attempt in range(1, 4):
        assert jobs.tick(sessions, settings, clock=clock(moment)) == 0
        rows = outbox_rows(sessions)
        assert {row.attempts for row in rows} == {attempt}
        assert {row.status for row in rows} == {MailStatus.PENDING}
        delay = 60 * 2 ** (attempt - 1)  # 60, 120, 240 s
        assert {row.next_attempt_at for row in rows} == {moment + timedelta(seconds=delay)}
        assert jobs.tick(sessions, settings, clock=clock(moment + timedelta(seconds=delay - 1))) == 0
        assert {row.attempts for row in outbox_rows(sessions)} == {attempt}  # not before the back-off is over
        moment += timedelta(seconds=delay)
    mail_server.start()
    assert jobs.tick(sessions, settings, clock=clock(moment)) == 2
    messages = mail_server.wait_for(2)
    assert len(messages) == 2
    assert {row.status for row in outbox_rows(sessions)} == {MailStatus.SENT}
    assert jobs.tick(sessions, settings, clock=clock(moment + timedelta(hours=1))) == 0
    assert len(mail_server.messages()) == 2


def test_gives_up_after_the_limit_with_an_operator_alert(sessions: sessionmaker[Session], keys: Keys,
                                                         mail_server: MailServer, mail_settings: MailSettings,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    make_staff(sessions)
    report = submit(sessions, keys, NOW)
    mail_server.stop()
    moment = NOW
    with caplog.at_level(logging.WARNING, logger="integrity.notifications"):
        for _ in range(mail_settings.max_attempts):
            jobs.tick(sessions, mail_settings, clock=clock(moment))
            moment += timedelta(minutes=1)
    assert status_count(sessions, MailStatus.FAILED) == 2
    alerts = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert len(alerts) == 2
    assert "NOT delivered after 4 attempt(s), giving up" in alerts[0].getMessage()
    assert "cannot reach SMTP server" in alerts[0].getMessage()
    with db.session_scope(sessions) as session:
        failed = outbox.failed(session)
        assert [mail.report_reference for mail, _ in failed] == [report.reference] * 2
        assert outbox.retry(session, failed[0][0].id, moment)  # the admin's "try again"
    mail_server.start()
    assert jobs.tick(sessions, mail_settings, clock=clock(moment)) == 1
    assert len(mail_server.wait_for(1)) == 1


def test_a_mail_claimed_by_a_sender_that_died_is_sent_after_its_lease_with_the_same_message_id(
        sessions: sessionmaker[Session], keys: Keys, mail_server: MailServer, mail_settings: MailSettings) -> None:
    make_staff(sessions)
    submit(sessions, keys, NOW)
    jobs.tick(sessions, mail_settings, clock=clock(NOW), send=False)
    with db.session_scope(sessions) as session:
        claimed = sender.claim(session, mail_settings, NOW)  # ... and the process dies before it sends
    assert len(claimed) == 2
    lease = timedelta(seconds=mail_settings.lease_seconds)
    assert sender.send_due(sessions, mail_settings, clock=clock(NOW + lease - timedelta(seconds=1))) == 0
    assert status_count(sessions, MailStatus.SENDING) == 2  # still reserved: no other sender takes it
    assert sender.send_due(sessions, mail_settings, clock=clock(NOW + lease + timedelta(seconds=1))) == 2
    messages = mail_server.wait_for(2)
    assert sorted(str(m["Message-ID"]) for m in messages) == sorted(row.message_id for row in outbox_rows(sessions))
    assert {row.attempts for row in outbox_rows(sessions)} == {2}


def test_a_late_finish_of_a_taken_over_mail_changes_nothing(sessions: sessionmaker[Session], keys: Keys,
                                                            mail_settings: MailSettings) -> None:
    make_staff(sessions)
    submit(sessions, keys, NOW)
    jobs.tick(sessions, mail_settings, clock=clock(NOW), send=False)
    with db.session_scope(sessions) as session:
        slow = sender.claim(session, mail_settings, NOW, limit=1)[0]
    later = NOW + timedelta(seconds=mail_settings.lease_seconds + 1)
    with db.session_scope(sessions) as session:
        again = sender.claim(session, mail_settings, later, limit=1)[0]
        assert again.id == slow.id and again.attempt == slow.attempt + 1
    with db.session_scope(sessions) as session:  # the first sender comes back with a failure: not its row any more
        sender.finish(session, slow, sender.SendError("late", permanent=True), mail_settings, later)
    with db.session_scope(sessions) as session:
        sender.finish(session, again, None, mail_settings, later)
    assert [row.status for row in outbox_rows(sessions) if row.id == slow.id] == [MailStatus.SENT]


def test_a_mail_whose_sender_dies_every_time_is_given_up(sessions: sessionmaker[Session], keys: Keys,
                                                         mail_settings: MailSettings,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    make_staff(sessions)
    submit(sessions, keys, NOW)
    jobs.tick(sessions, mail_settings, clock=clock(NOW), send=False)
    moment, lease = NOW, timedelta(seconds=mail_settings.lease_seconds + 1)
    for _ in range(mail_settings.max_attempts):
        with db.session_scope(sessions) as session:
            assert len(sender.claim(session, mail_settings, moment)) == 2  # ... and every time the sender dies
        moment += lease
    with caplog.at_level(logging.ERROR, logger="integrity.notifications"), db.session_scope(sessions) as session:
        assert sender.claim(session, mail_settings, moment) == []
    assert status_count(sessions, MailStatus.FAILED) == 2
    assert "the sender stopped while sending it" in caplog.records[0].getMessage()
