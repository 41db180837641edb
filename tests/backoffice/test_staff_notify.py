"""Notification mails in the back office: the user's own preference, the admin's e-mail settings of an account,
and the admins' page of mails that could not be delivered (with "try again"). Real app, SQLite, real login."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from integrity.notifications.models import Kind, MailStatus, OutboxMail
from integrity.reports.deadlines import utcnow
from integrity.staff.models import AuditEntry, NotifyMode
from tests.backoffice.conftest import form_field
from tests.backoffice.test_staff_admin import as_user, signed_in, user_row, users

__all__ = ["as_user", "users"]  # fixtures used by the tests below


def test_a_user_chooses_how_often_they_get_mails(app: FastAPI, sessions: sessionmaker[Session],
                                                 users: dict[str, int]) -> None:
    client = signed_in(app, "coord-a")
    page = client.get("/beheer/account")
    assert "E-mails over meldingen" in page.text and 'value="immediate" checked' in page.text  # the default
    response = client.post("/beheer/account/meldingen", data={
        "csrf": form_field(page.text, "/beheer/account/meldingen"), "meldingen": "daily"})
    assert response.status_code == 200 and "één overzicht per dag" in response.text
    assert user_row(sessions, "coord-a").notify_mode == NotifyMode.DAILY
    refused = client.post("/beheer/account/meldingen", data={
        "csrf": form_field(response.text, "/beheer/account/meldingen"), "meldingen": "elk-uur"})
    assert refused.status_code == 400 and "Kies hoe vaak" in refused.text
    assert user_row(sessions, "coord-a").notify_mode == NotifyMode.DAILY
    with sessions() as session:
        details = list(session.scalars(select(AuditEntry.detail).where(AuditEntry.username == "coord-a",
                                                                       AuditEntry.action == "user_changed")))
    assert details == ["own notification mails: daily"]


def test_the_admin_sets_the_address_and_a_bad_one_is_refused_and_shown_again(
        app: FastAPI, sessions: sessionmaker[Session], users: dict[str, int]) -> None:
    client = signed_in(app, "beheer-a")
    target = users["behandel-a"]
    page = client.get(f"/beheer/gebruikers/{target}")
    action = f"/beheer/gebruikers/{target}/e-mail"
    bad = client.post(action, data={"csrf": form_field(page.text, action), "e-mail": "behandelaar@", "meldingen":
                                    "off"})
    assert bad.status_code == 400 and "Dit e-mailadres klopt niet" in bad.text
    assert 'value="behandelaar@" aria-invalid="true"' in bad.text  # what was typed is still there
    assert user_row(sessions, "behandel-a").email is None
    assert user_row(sessions, "behandel-a").notify_mode == NotifyMode.IMMEDIATE
    good = client.post(action, data={"csrf": form_field(bad.text, action), "e-mail": "behandelaar@org.test",
                                     "meldingen": "daily"}, follow_redirects=True)
    assert good.status_code == 200 and "behandelaar@org.test" in good.text
    assert (user_row(sessions, "behandel-a").email, user_row(sessions, "behandel-a").notify_mode) == \
        ("behandelaar@org.test", NotifyMode.DAILY)
    outside = client.get(f"/beheer/gebruikers/{users['coord-b']}")  # another organisation's account
    assert outside.status_code == 404


def test_a_new_account_can_get_an_address(app: FastAPI, sessions: sessionmaker[Session],
                                          users: dict[str, int]) -> None:
    client = signed_in(app, "beheer-a")
    page = client.get("/beheer/gebruikers")
    response = client.post("/beheer/gebruikers", data={
        "csrf": form_field(page.text, "/beheer/gebruikers"), "gebruikersnaam": "nieuw-a", "naam": "Nieuw",
        "rol": "coordinator", "organisatie": "vlaamse-overheid", "actor": "", "e-mail": "nieuw@org.test"})
    assert response.status_code == 200
    assert user_row(sessions, "nieuw-a").email == "nieuw@org.test"


def test_admins_see_undelivered_mails_of_their_organisation_and_can_retry(
        app: FastAPI, sessions: sessionmaker[Session], users: dict[str, int]) -> None:
    now = utcnow()
    with sessions.begin() as session:
        for name, reference in (("coord-a", "M-2026-AAAAAA"), ("coord-b", "M-2026-BBBBBB")):
            session.add(OutboxMail(user_id=users[name], kind=Kind.NEW_REPORT, report_reference=reference,
                                   dedup_key=f"event:{reference}", message_id=f"<{reference}@test>",
                                   status=MailStatus.FAILED, created_at=now - timedelta(hours=2), attempts=8,
                                   last_error="cannot reach SMTP server mail.test:587 (ConnectionRefusedError)"))
    client = signed_in(app, "beheer-a")
    assert "1 e-mail aan medewerkers kon niet verstuurd worden" in client.get("/beheer/gebruikers").text
    page = client.get("/beheer/e-mail")
    assert "M-2026-AAAAAA" in page.text and "ConnectionRefusedError" in page.text
    assert "M-2026-BBBBBB" not in page.text  # another organisation's
    with sessions() as session:
        mine, theirs = (session.scalar(select(OutboxMail.id).where(OutboxMail.report_reference == reference))
                        for reference in ("M-2026-AAAAAA", "M-2026-BBBBBB"))
    action = f"/beheer/e-mail/{theirs}/opnieuw"
    assert client.post(action, data={"csrf": form_field(page.text, f"/beheer/e-mail/{mine}/opnieuw")}).status_code \
        == 404
    response = client.post(f"/beheer/e-mail/{mine}/opnieuw",
                           data={"csrf": form_field(page.text, f"/beheer/e-mail/{mine}/opnieuw")},
                           follow_redirects=True)
    assert response.status_code == 200 and "opnieuw in de wachtrij" in response.text
    with sessions() as session:
        assert session.get(OutboxMail, mine).status == MailStatus.PENDING  # type: ignore[union-attr]
        assert session.get(OutboxMail, theirs).status == MailStatus.FAILED  # type: ignore[union-attr]
        assert session.scalar(select(AuditEntry.action).where(AuditEntry.username == "beheer-a")
                              .order_by(AuditEntry.id.desc())) == "mail_retried"
