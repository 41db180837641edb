"""From the event to the mail that arrives at a real SMTP server, on SQLite and PostgreSQL: who gets it, what it
says (and never says), the preferences, the hourly cap and the digest."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from integrity.notifications import events, jobs, outbox
from integrity.notifications.models import Kind, MailStatus, NotificationEvent, OutboxMail
from integrity.notifications.settings import MailSettings
from integrity.reports import db, reporter, submission
from integrity.reports.models import Report
from integrity.staff.models import NotifyMode, StaffUser
from tests.notifications.helpers import NOW, clock, make_staff, outbox_rows, set_mode, status_count, submit
from tests.notifications.mailserver import MailServer
from tests.plugins.report_store import Keys, make_draft

SECRET_WORDS = ("fraude", "corruptie", "factur", "diensthoofd", "leverancier", "aankoop", "audit_vlaanderen")


def recipients(messages: list) -> list[str]:
    return sorted(str(message["To"]) for message in messages)


def test_a_new_report_mails_its_readers_without_content(sessions: sessionmaker[Session], keys: Keys,
                                                        mail_server: MailServer,
                                                        mail_settings: MailSettings) -> None:
    make_staff(sessions)
    report = submit(sessions, keys, NOW)
    assert jobs.tick(sessions, mail_settings, clock=clock(NOW)) == 2
    messages = mail_server.wait_for(2)
    # readers with an address and mails on: the coordinator and the handler of the report's actor; not the other
    # organisation, the admin, the handler of another actor, the user who turned mails off or has no address
    assert recipients(messages) == ["audit@org.test", "coord@org.test"]
    rows = {row.message_id: row for row in outbox_rows(sessions)}
    for message in messages:
        body = message.get_content()
        assert report.reference in str(message["Subject"]) and report.reference in body
        assert f"https://integriteit.test/beheer/meldingen/{report.reference}" in body
        assert "nieuwe melding" in body.lower()
        for word in SECRET_WORDS:
            assert word not in body.lower() and word not in str(message["Subject"]).lower()
        assert rows[str(message["Message-ID"])].status == MailStatus.SENT
        assert str(message["From"]) == "integriteit@test.example"
    assert jobs.tick(sessions, mail_settings, clock=clock(NOW + timedelta(minutes=5))) == 0  # nothing twice
    assert len(mail_server.messages()) == 2


def test_the_event_is_stored_with_the_report_or_not_at_all(sessions: sessionmaker[Session], keys: Keys) -> None:
    make_staff(sessions)
    with pytest.raises(RuntimeError), db.session_scope(sessions) as session:
        submission.submit_report(session, make_draft(), now=NOW)
        assert session.scalar(select(func.count(NotificationEvent.id))) == 1
        raise RuntimeError("crash before the commit")
    with sessions() as session:
        assert session.scalar(select(func.count(Report.id))) == 0
        assert session.scalar(select(func.count(NotificationEvent.id))) == 0


def test_a_reporter_message_is_notified(sessions: sessionmaker[Session], keys: Keys, mail_server: MailServer,
                                        mail_settings: MailSettings) -> None:
    make_staff(sessions)
    with db.session_scope(sessions) as session:
        submitted = submission.submit_report(session, make_draft(), now=NOW)
    jobs.tick(sessions, mail_settings, clock=clock(NOW))
    with db.session_scope(sessions) as session:
        reporter.add_reporter_message(session, submitted.receipt_code, "Ik heb nog een factuur gevonden.",
                                      now=NOW + timedelta(hours=2))
    jobs.tick(sessions, mail_settings, clock=clock(NOW + timedelta(hours=2)))
    messages = mail_server.wait_for(4)
    news = [m for m in messages if "Nieuw bericht" in str(m["Subject"])]
    assert recipients(news) == ["audit@org.test", "coord@org.test"]
    for message in news:
        body = message.get_content()
        assert "factuur" not in body and submitted.receipt_code not in body
        assert submitted.reference in body


def test_access_granted_mails_only_that_user(sessions: sessionmaker[Session], keys: Keys, mail_server: MailServer,
                                             mail_settings: MailSettings) -> None:
    ids = make_staff(sessions)
    report = submit(sessions, keys, NOW)
    jobs.tick(sessions, mail_settings, clock=clock(NOW))
    with db.session_scope(sessions) as session:
        events.enqueue_access_granted(session, session.get(Report, report.id), session.get(StaffUser, ids["ombuds"]),
                                      now=NOW)
    jobs.tick(sessions, mail_settings, clock=clock(NOW))
    granted = [m for m in mail_server.wait_for(3) if "toegang" in str(m["Subject"]).lower()]
    assert recipients(granted) == ["ombuds@org.test"]


def test_daily_preference_gets_one_digest_at_the_digest_hour(sessions: sessionmaker[Session], keys: Keys,
                                                             mail_server: MailServer,
                                                             mail_settings: MailSettings) -> None:
    make_staff(sessions)
    set_mode(sessions, "coord", NotifyMode.DAILY)
    first, second = submit(sessions, keys, NOW), submit(sessions, keys, NOW + timedelta(minutes=1))
    jobs.tick(sessions, mail_settings, clock=clock(NOW + timedelta(minutes=1)))
    assert recipients(mail_server.wait_for(2)) == ["audit@org.test", "audit@org.test"]
    assert status_count(sessions, MailStatus.HELD) == 2
    next_morning = NOW.replace(hour=5, minute=0) + timedelta(days=1)  # 07:00 in Brussels
    jobs.tick(sessions, mail_settings, clock=clock(next_morning - timedelta(minutes=1)))
    assert len(mail_server.messages()) == 2  # not yet
    jobs.tick(sessions, mail_settings, clock=clock(next_morning))
    messages = mail_server.wait_for(3)
    digest = [m for m in messages if str(m["To"]) == "coord@org.test"]
    assert len(digest) == 1
    body = digest[0].get_content()
    assert first.reference in body and second.reference in body and "(2 punten)" in str(digest[0]["Subject"])
    assert status_count(sessions, MailStatus.HELD) == 0 and status_count(sessions, MailStatus.DIGESTED) == 2


def test_over_the_hourly_cap_the_rest_goes_into_the_next_digest(sessions: sessionmaker[Session], keys: Keys,
                                                                mail_server: MailServer,
                                                                mail_settings: MailSettings) -> None:
    make_staff(sessions)
    set_mode(sessions, "audit", NotifyMode.OFF)
    references = [submit(sessions, keys, NOW + timedelta(minutes=i)).reference for i in range(5)]
    jobs.tick(sessions, mail_settings, clock=clock(NOW + timedelta(minutes=5)))
    assert len(mail_server.wait_for(3)) == 3 and mail_settings.hourly_cap == 3
    assert status_count(sessions, MailStatus.HELD) == 2
    jobs.tick(sessions, mail_settings, clock=clock(NOW + timedelta(minutes=64)))
    assert len(mail_server.messages()) == 3  # an hour after the first of the three (dispatched at +5) is not over
    jobs.tick(sessions, mail_settings, clock=clock(NOW + timedelta(minutes=66)))
    messages = mail_server.wait_for(4)
    assert len(messages) == 4
    digest_body = messages[-1].get_content()
    assert references[3] in digest_body and references[4] in digest_body
    # every notification went out, once: three on their own, two in the digest
    sent_alone = [m for m in messages[:3] if any(ref in str(m["Subject"]) for ref in references[:3])]
    assert len(sent_alone) == 3


def test_outbox_add_is_once_per_user_and_key(sessions: sessionmaker[Session], mail_settings: MailSettings) -> None:
    ids = make_staff(sessions)
    with db.session_scope(sessions) as session:
        user = session.get(StaffUser, ids["coord"])
        assert user is not None
        assert outbox.add(session, user, Kind.ACK_OVERDUE, "M-2026-AAAAAA", "ack_overdue:x", settings=mail_settings,
                          now=NOW) is not None
        assert outbox.add(session, user, Kind.ACK_OVERDUE, "M-2026-AAAAAA", "ack_overdue:x", settings=mail_settings,
                          now=NOW) is None
    with sessions() as session:
        assert session.scalar(select(func.count(OutboxMail.id))) == 1


def test_a_retried_submission_stores_one_event(sessions: sessionmaker[Session], keys: Keys) -> None:
    make_staff(sessions)
    for _ in range(2):  # the channel crashed before showing the code, and sends the same submission again
        with db.session_scope(sessions) as session:
            submission.submit_report(session, make_draft(), submission_id="retry-0123456789abcdef",
                                     now=NOW)
    with sessions() as session:
        assert session.scalar(select(func.count(Report.id))) == 1
        assert session.scalar(select(func.count(NotificationEvent.id))) == 1
