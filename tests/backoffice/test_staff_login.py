"""Staff sign-in: password (which opens the private key), lock-out, second factor, CSRF, logout, own account."""

from __future__ import annotations

import re
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from integrity.staff import accounts, totp
from integrity.staff.models import AuditEntry, Role, StaffSession
from tests.backoffice.conftest import form_field, hidden

PASSWORD = "een lang wachtwoord 42"


@pytest.fixture
def coordinator(sessions: sessionmaker[Session]) -> str:
    with sessions.begin() as session:
        accounts.create_user(session, "coord", "Chris Coördinator", Role.COORDINATOR, PASSWORD,
                             profile_id="vlaamse-overheid")
    return "coord"


def login(client: TestClient, username: str, password: str = PASSWORD, **extra: str):  # type: ignore[no-untyped-def]
    page = client.get("/beheer/aanmelden")
    return client.post("/beheer/aanmelden", data={"csrf": hidden(page.text, "csrf"), "gebruiker": username,
                                                  "wachtwoord": password, "volgende": "", **extra},
                       follow_redirects=False)


def audit_actions(sessions: sessionmaker[Session]) -> list[str]:
    with sessions.begin() as session:
        return list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_pages_need_a_login_and_redirect_to_it(client: TestClient) -> None:
    response = client.get("/beheer/account", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/beheer/aanmelden?volgende=/beheer/account"
    refused = client.post("/beheer/account/wachtwoord", data={"csrf": "x", "huidig": "y"})
    assert refused.status_code == 401
    assert "niet (meer) aangemeld" in refused.text


def test_login_sets_a_locked_down_cookie_and_logout_ends_the_session(
        client: TestClient, coordinator: str, sessions: sessionmaker[Session]) -> None:
    response = login(client, coordinator)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/beheer" in cookie
    assert "Secure" not in cookie  # plain HTTP in the test; Secure behind TLS
    account = client.get("/beheer/account")
    assert account.status_code == 200 and "Chris Coördinator" in account.text
    with sessions.begin() as session:
        assert session.scalar(select(StaffSession.id)) is not None
    logout_csrf = form_field(account.text, "/beheer/afmelden")
    assert client.post("/beheer/afmelden", data={"csrf": logout_csrf}, follow_redirects=False).status_code == 303
    with sessions.begin() as session:
        assert session.scalar(select(StaffSession.id)) is None
    assert client.get("/beheer/account", follow_redirects=False).status_code == 303
    assert audit_actions(sessions)[-2:] == ["login", "logout"]


def test_wrong_password_and_unknown_user_get_the_same_answer(client: TestClient, coordinator: str) -> None:
    wrong = login(client, coordinator, "niet het wachtwoord")
    unknown = login(client, "niemand", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert "Gebruikersnaam of wachtwoord klopt niet." in wrong.text
    assert "Gebruikersnaam of wachtwoord klopt niet." in unknown.text
    assert "set-cookie" not in wrong.headers


def test_five_failures_lock_the_account_even_for_the_right_password(
        client: TestClient, coordinator: str, sessions: sessionmaker[Session]) -> None:
    for _ in range(accounts.MAX_FAILED_LOGINS):
        login(client, coordinator, "fout fout fout")
    locked = login(client, coordinator)
    assert locked.status_code == 401 and "tijdelijk vergrendeld" in locked.text
    assert "account_locked" in audit_actions(sessions)
    with sessions.begin() as session:
        accounts.unlock(session, accounts.get_user(session, coordinator))  # type: ignore[arg-type]
    assert login(client, coordinator).status_code == 303


def test_login_form_without_valid_csrf_is_refused(client: TestClient, coordinator: str) -> None:
    response = client.post("/beheer/aanmelden", data={"csrf": "c1.1.x.y", "gebruiker": coordinator,
                                                      "wachtwoord": PASSWORD}, follow_redirects=False)
    assert response.status_code == 400 and "set-cookie" not in response.headers


def test_staff_form_with_another_forms_token_or_from_another_site_is_refused(
        client: TestClient, coordinator: str) -> None:
    login(client, coordinator)
    page = client.get("/beheer/account")
    token = form_field(page.text, "/beheer/account/wachtwoord")
    logout_token = form_field(page.text, "/beheer/afmelden")
    data = {"huidig": PASSWORD, "nieuw": "een ander lang wachtwoord", "herhaal": "een ander lang wachtwoord"}
    assert client.post("/beheer/account/wachtwoord", data={"csrf": logout_token, **data}).status_code == 400
    cross = client.post("/beheer/account/wachtwoord", data={"csrf": token, **data},
                        headers={"sec-fetch-site": "cross-site"})
    assert cross.status_code == 400
    assert client.post("/beheer/account/wachtwoord", data={"csrf": token, **data},
                       follow_redirects=False).status_code == 303


def test_the_password_opens_the_key_at_login_and_the_recovery_key_is_shown_once(
        client: TestClient, coordinator: str, sessions: sessionmaker[Session]) -> None:
    first = login(client, coordinator)
    assert first.status_code == 303 and first.headers["location"] == "/beheer/herstelsleutel"
    with sessions.begin() as session:
        box = session.scalar(select(StaffSession.key_box))
        user = accounts.get_user(session, coordinator)
        assert user is not None and user.recovery_box is not None and user.private_key_box is not None
    assert box is not None and len(box) > 32
    shown = client.get("/beheer/herstelsleutel")
    recovery_key = re.search(r'<code id="herstelsleutel">([A-Z2-7-]+)</code>', shown.text)
    assert recovery_key and len(recovery_key.group(1)) == 39  # 32 characters in groups of four
    again = client.get("/beheer/herstelsleutel")
    assert recovery_key.group(1) not in again.text and "al getoond" in again.text
    with sessions.begin() as session:
        assert session.scalar(select(StaffSession.recovery_box)) is None
    assert "sleutel geopend" in client.get("/beheer/account").text
    assert "recovery_key_shown" in audit_actions(sessions)
    client.cookies.clear()
    assert login(client, coordinator).headers["location"] == "/beheer"  # shown at the first login only


def test_next_parameter_cannot_redirect_to_another_site(client: TestClient, coordinator: str) -> None:
    login(client, coordinator)  # the first login shows the recovery key first
    response = login(client, coordinator, volgende="https://evil.example/")
    assert response.headers["location"] == "/beheer"
    response = login(client, coordinator, volgende="//evil.example/beheer")
    assert response.headers["location"] == "/beheer"


def test_second_factor_set_up_and_required_at_the_next_login(
        client: TestClient, coordinator: str, sessions: sessionmaker[Session]) -> None:
    login(client, coordinator)
    page = client.get("/beheer/account")
    action = "/beheer/account/tweede-stap"
    started = client.post(action, data={"csrf": form_field(page.text, action), "stap": "begin"})
    secret = hidden(started.text, "geheim")
    wrong = client.post("/beheer/account/tweede-stap", data={
        "csrf": form_field(started.text, "/beheer/account/tweede-stap"), "stap": "bevestig", "geheim": secret,
        "code": "000000"})
    assert wrong.status_code == 400 and "Die code klopt niet" in wrong.text
    enabled = client.post("/beheer/account/tweede-stap", data={
        "csrf": form_field(started.text, "/beheer/account/tweede-stap"), "stap": "bevestig", "geheim": secret,
        "code": totp.code_at(secret, time.time())})
    assert enabled.status_code == 200 and "staat aan" in enabled.text

    client.cookies.clear()
    first = login(client, coordinator)
    assert first.headers["location"].startswith("/beheer/aanmelden/code")
    assert client.get("/beheer/account", follow_redirects=False).status_code == 303  # not in yet
    form = client.get(first.headers["location"])
    bad = client.post("/beheer/aanmelden/code", data={"csrf": hidden(form.text, "csrf"), "code": "123456"})
    assert bad.status_code == 401
    good = client.post("/beheer/aanmelden/code", data={"csrf": hidden(form.text, "csrf"),
                                                      "code": totp.code_at(secret, time.time())},
                       follow_redirects=False)
    assert good.status_code == 303
    assert client.get("/beheer/account").status_code == 200
    assert audit_actions(sessions).count("totp_enabled") == 1


def test_password_change_needs_the_current_one_and_ends_other_sessions(
        client: TestClient, coordinator: str, sessions: sessionmaker[Session]) -> None:
    login(client, coordinator)
    page = client.get("/beheer/account")
    token = form_field(page.text, "/beheer/account/wachtwoord")
    bad = client.post("/beheer/account/wachtwoord", data={"csrf": token, "huidig": "fout", "nieuw": "x" * 12,
                                                         "herhaal": "x" * 12})
    assert bad.status_code == 400 and "huidige wachtwoord klopt niet" in bad.text
    weak = client.post("/beheer/account/wachtwoord", data={"csrf": token, "huidig": PASSWORD, "nieuw": "kort",
                                                          "herhaal": "kort"})
    assert weak.status_code == 400 and "minstens 12" in weak.text
    new = "nog een veel langer wachtwoord"
    done = client.post("/beheer/account/wachtwoord", data={"csrf": token, "huidig": PASSWORD, "nieuw": new,
                                                          "herhaal": new}, follow_redirects=False)
    assert done.status_code == 303
    with sessions.begin() as session:
        assert len(list(session.scalars(select(StaffSession.id)))) == 1  # the old one ended, a new one started
    client.cookies.clear()
    assert login(client, coordinator, PASSWORD).status_code == 401
    assert login(client, coordinator, new).status_code == 303


def test_many_login_attempts_from_one_address_are_throttled(app, coordinator: str) -> None:  # type: ignore[no-untyped-def]
    app.state.login_limiter.limit = 3
    with TestClient(app, raise_server_exceptions=False) as client:
        for _ in range(3):
            assert login(client, "iemand-anders", "fout fout fout").status_code == 401
        throttled = login(client, coordinator)
        assert throttled.status_code == 429 and "Te veel aanmeldpogingen" in throttled.text
        assert throttled.headers["retry-after"] == "600" and "set-cookie" not in throttled.headers


def test_first_admin_is_created_once_and_can_log_in(client: TestClient, engine) -> None:  # type: ignore[no-untyped-def]
    from integrity.staff.__main__ import ensure_first_admin

    password = ensure_first_admin()
    assert password and len(password) >= 16
    assert ensure_first_admin() is None  # there are accounts now: nothing printed, nothing changed
    response = login(client, "admin", password)
    assert response.status_code == 303
    assert client.get("/beheer", follow_redirects=False).headers["location"] == "/beheer/gebruikers"
