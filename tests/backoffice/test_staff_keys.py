"""The key pages through the real app: after an admin's password reset the recovery key re-opens the staff
member's key (and a new one is shown once); without it they start over and wait for a colleague's grant."""

from __future__ import annotations

import re

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from integrity.staff import accounts
from integrity.staff.models import AuditEntry, Role
from tests.backoffice.conftest import WHAT_HAPPENED, Keys, form_field, hidden, submit

PASSWORD = "een lang wachtwoord 42"
RESET = "wachtwoord van de beheerder 7"


def invalid_fields(html: str) -> list[str]:
    """The ids of the fields marked aria-invalid (and described by the error)."""
    return re.findall(r'<input id="([a-z-]+)"[^>]*aria-describedby="herstel-fout" aria-invalid="true" autofocus', html)


def login(client: TestClient, username: str, password: str) -> httpx.Response:
    client.cookies.clear()
    page = client.get("/beheer/aanmelden")
    return client.post("/beheer/aanmelden", data={"csrf": hidden(page.text, "csrf"), "gebruiker": username,
                                                  "wachtwoord": password, "volgende": ""}, follow_redirects=False)


def recovery_key(client: TestClient) -> str:
    found = re.search(r'<code id="herstelsleutel">([A-Z2-7-]+)</code>', client.get("/beheer/herstelsleutel").text)
    assert found, "no recovery key on the page"
    return found.group(1)


def setup(sessions: sessionmaker[Session], keys: Keys, client: TestClient) -> tuple[str, str]:
    """Coordinator `coord` (first login done, recovery key kept) and a report they can read; then an admin reset."""
    with sessions.begin() as session:
        accounts.create_user(session, "coord", "Chris Coördinator", Role.COORDINATOR, PASSWORD,
                             profile_id="vlaamse-overheid")
    case = submit(sessions, keys)
    assert login(client, "coord", PASSWORD).headers["location"] == "/beheer/herstelsleutel"
    kept = recovery_key(client)
    assert WHAT_HAPPENED in client.get(f"/beheer/meldingen/{case.reference}").text
    with sessions.begin() as session:
        user = accounts.get_user(session, "coord")
        assert user is not None
        accounts.set_password(session, user, RESET)  # what the admin page and the CLI do
    return case.reference, kept


def test_the_recovery_key_reopens_the_key_after_a_reset(client: TestClient, sessions: sessionmaker[Session],
                                                        keys: Keys) -> None:
    reference, kept = setup(sessions, keys, client)
    after_reset = login(client, "coord", RESET)
    assert after_reset.headers["location"] == "/beheer/herstel"
    locked = client.get(f"/beheer/meldingen/{reference}")
    assert WHAT_HAPPENED not in locked.text and "Herstel je sleutel" in locked.text
    form = client.get("/beheer/herstel")
    token = form_field(form.text, "/beheer/herstel")
    wrong = client.post("/beheer/herstel", data={"csrf": token, "stap": "sleutel", "wachtwoord": RESET,
                                                 "herstelsleutel": "AAAA-" * 7 + "AAAA"})
    assert wrong.status_code == 400 and "Die herstelsleutel klopt niet" in wrong.text
    assert invalid_fields(wrong.text) == ["herstelsleutel"] and invalid_fields(form.text) == []
    bad_password = client.post("/beheer/herstel", data={"csrf": token, "stap": "sleutel", "wachtwoord": "fout",
                                                        "herstelsleutel": kept})
    assert bad_password.status_code == 400 and "Je wachtwoord klopt niet" in bad_password.text
    assert invalid_fields(bad_password.text) == ["herstel-wachtwoord"]
    done = client.post("/beheer/herstel", data={"csrf": token, "stap": "sleutel", "wachtwoord": RESET,
                                                "herstelsleutel": kept}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/beheer/herstelsleutel"
    assert recovery_key(client) != kept  # a new one, shown once
    assert WHAT_HAPPENED in client.get(f"/beheer/meldingen/{reference}").text
    assert login(client, "coord", RESET).headers["location"] == "/beheer"  # the new password opens it now


def test_without_the_recovery_key_a_colleague_grants_access_again(client: TestClient,
                                                                  sessions: sessionmaker[Session],
                                                                  keys: Keys) -> None:
    reference, _ = setup(sessions, keys, client)
    login(client, "coord", RESET)
    token = form_field(client.get("/beheer/herstel").text, "/beheer/herstel")
    unconfirmed = client.post("/beheer/herstel", data={"csrf": token, "stap": "opnieuw", "wachtwoord": RESET})
    assert unconfirmed.status_code == 400 and "Vink aan" in unconfirmed.text
    assert invalid_fields(unconfirmed.text) == ["begrepen"]
    wrong_password = client.post("/beheer/herstel", data={"csrf": token, "stap": "opnieuw", "wachtwoord": "fout",
                                                          "begrepen": "ja"})
    assert invalid_fields(wrong_password.text) == ["opnieuw-wachtwoord"]
    fresh = client.post("/beheer/herstel", data={"csrf": token, "stap": "opnieuw", "wachtwoord": RESET,
                                                 "begrepen": "ja"}, follow_redirects=False)
    assert fresh.headers["location"] == "/beheer/herstelsleutel"
    assert "Wacht op toegang" in client.get("/beheer/meldingen").text
    assert WHAT_HAPPENED not in client.get(f"/beheer/meldingen/{reference}").text

    login(client, "lezer", "lezer wachtwoord 2026")  # the colleague who has access
    page = client.get("/beheer/toegang")
    with sessions.begin() as session:
        coord = accounts.get_user(session, "coord")
        assert coord is not None
        coord_id = coord.id
    granted = client.post("/beheer/toegang", data={"csrf": form_field(page.text, "/beheer/toegang"),
                                                   "collega": str(coord_id)})
    assert "Chris Coördinator kan nu 1 melding(en) openen." in granted.text
    login(client, "coord", RESET)
    assert WHAT_HAPPENED in client.get(f"/beheer/meldingen/{reference}").text
    with sessions.begin() as session:
        actions = set(session.scalars(select(AuditEntry.action).where(AuditEntry.username.in_(["coord", "lezer"]))))
    assert {"keys_replaced", "recovery_key_shown", "access_granted", "key_unlocked"} <= actions
