"""Staff sign-in: password (which opens the private key), lock-out, second factor, CSRF, logout, own account."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from argon2 import PasswordHasher
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


def comparable(response) -> tuple[int, str, list[str]]:  # type: ignore[no-untyped-def]
    """Status, page without its one-time token and the username typed, and the header names."""
    page = re.sub(r'name="csrf" value="[^"]+"', 'name="csrf" value=""', response.text)
    page = re.sub(r'name="gebruiker"(.*?)value="[^"]*"', r'name="gebruiker"\1value=""', page, flags=re.S)
    return response.status_code, page, sorted(name for name in response.headers if name != "content-length")


def test_unknown_known_and_locked_accounts_cannot_be_told_apart(
        client: TestClient, coordinator: str, sessions: sessionmaker[Session],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 13: a failed login pre-filled the username only for existing accounts and showed the lock-out message
    only for real ones. Now the same page, status, fields and Argon2 work for all three."""
    verified: list[str] = []
    original = PasswordHasher.verify

    def counting(self, hash, password):  # type: ignore[no-untyped-def]
        verified.append(hash)
        return original(self, hash, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    with sessions.begin() as session:
        accounts.create_user(session, "locked", "Vergrendeld", Role.HANDLER, PASSWORD, profile_id="vlaamse-overheid")
        user = accounts.get_user(session, "locked")
        assert user is not None
        user.locked_until = accounts.utcnow() + timedelta(minutes=10)  # as after five wrong second-factor codes
    answers = []
    for username in ("niemand", coordinator, "locked"):
        verified.clear()
        answer = login(client, username, "niet het wachtwoord")
        assert len(verified) == 1, f"{username}: one Argon2 verification, like every other failed login"
        assert f'value="{username}"' in answer.text, "the username typed is shown again, known or not"
        answers.append(comparable(answer))
    assert answers[0] == answers[1] == answers[2]
    assert "vergrendeld" not in answers[2][1]
    # Only whoever knows the password learns that the account is locked.
    assert "tijdelijk vergrendeld" in login(client, "locked", PASSWORD).text


def test_wrong_passwords_are_limited_per_username_and_address_without_locking_the_account(
        app, coordinator: str, sessions: sessionmaker[Session]) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app, client=("192.0.2.10", 50000)) as attacker:
        for _ in range(app.state.settings.login_user_limit):
            assert login(attacker, coordinator, "fout fout fout").status_code == 401
        refused = login(attacker, coordinator)  # even the right password, from this address
        assert refused.status_code == 429 and "Te veel aanmeldpogingen" in refused.text
        assert refused.headers["retry-after"] == "900"
        for _ in range(app.state.settings.login_user_limit):  # an unknown name: the very same limit
            assert login(attacker, "niemand", "fout fout fout").status_code == 401
        assert login(attacker, "niemand", "fout fout fout").text == login(attacker, coordinator).text
    with TestClient(app, client=("198.51.100.7", 50000)) as colleague:  # the account itself is not locked
        assert login(colleague, coordinator).status_code == 303
    with sessions.begin() as session:
        user = accounts.get_user(session, coordinator)
        assert user is not None and user.locked_until is None and user.failed_logins == 0


def test_the_login_token_is_bound_to_the_browsers_pre_session_cookie(app, coordinator: str) -> None:  # type: ignore[no-untyped-def]
    with TestClient(app) as ours, TestClient(app) as theirs:
        page = ours.get("/beheer/aanmelden")
        assert "bo_aanmelden=" in page.headers["set-cookie"]
        assert all(flag in page.headers["set-cookie"] for flag in ("HttpOnly", "SameSite=strict", "Path=/beheer"))
        token = hidden(page.text, "csrf")
        data = {"csrf": token, "gebruiker": coordinator, "wachtwoord": PASSWORD, "volgende": ""}
        theirs.get("/beheer/aanmelden")  # another browser with a cookie of its own
        assert theirs.post("/beheer/aanmelden", data=data, follow_redirects=False).status_code == 400
        theirs.cookies.clear()  # and without any cookie
        assert theirs.post("/beheer/aanmelden", data=data, follow_redirects=False).status_code == 400
        done = ours.post("/beheer/aanmelden", data=data, follow_redirects=False)
        assert done.status_code == 303
        assert any(c.startswith('bo_aanmelden=""') or "bo_aanmelden=;" in c or "Max-Age=0" in c
                   for c in done.headers.get_list("set-cookie") if c.startswith("bo_aanmelden"))
        assert "bo_aanmelden" not in ours.cookies
        ours.cookies.delete("bo_sessie")
        replay = ours.post("/beheer/aanmelden", data=data, follow_redirects=False)
        assert replay.status_code == 400, "the spent token does not log in again"


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
    # The set-up code's step is used up (replay guard): the app's next code logs in.
    code = totp.code_at(secret, time.time() + totp.STEP)
    good = client.post("/beheer/aanmelden/code", data={"csrf": hidden(form.text, "csrf"), "code": code},
                       follow_redirects=False)
    assert good.status_code == 303
    assert client.get("/beheer/account").status_code == 200
    assert audit_actions(sessions).count("totp_enabled") == 1

    # The same code, caught over a shoulder or by a phishing page, does not log in a second time.
    client.cookies.clear()
    again = login(client, coordinator)
    form = client.get(again.headers["location"])
    replay = client.post("/beheer/aanmelden/code", data={"csrf": hidden(form.text, "csrf"), "code": code},
                         follow_redirects=False)
    assert replay.status_code == 401 and "Die code klopt niet" in replay.text


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
