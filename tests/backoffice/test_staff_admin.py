"""Administration pages: accounts (/beheer/gebruikers), profiles (/beheer/profielen) and the audit log (/beheer/audit).

Real app, real SQLite database, real login through the sign-in form.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from backoffice.routes.staff_admin import AUDIT_LABELS
from integrity.reports.deadlines import utcnow
from integrity.staff import accounts, audit, passwords
from integrity.staff import sessions as staff_sessions
from integrity.staff.models import AuditEntry, Role, StaffSession, StaffUser
from tests.backoffice.conftest import check_response, form_field, hidden

PASSWORD = "een lang wachtwoord 42"
ORG_A, ORG_B = "vlaamse-overheid", "federale-politie"
USERS = {  # username -> (role, profile, actor)
    "root": (Role.ADMIN, None, None),
    "beheer-a": (Role.ADMIN, ORG_A, None),
    "coord-a": (Role.COORDINATOR, ORG_A, None),
    "behandel-a": (Role.HANDLER, ORG_A, "audit_vlaanderen"),
    "coord-b": (Role.COORDINATOR, ORG_B, None),
}
GET_PAGES = ("/beheer/gebruikers", "/beheer/profielen", "/beheer/audit")


@pytest.fixture
def users(sessions: sessionmaker[Session]) -> dict[str, int]:
    ids = {}
    with sessions.begin() as session:
        for name, (role, profile, actor) in USERS.items():
            ids[name] = accounts.create_user(session, name, name.title(), role, PASSWORD, profile_id=profile,
                                             actor=actor).id
    return ids


def signed_in(app: FastAPI, username: str) -> TestClient:
    client = TestClient(app, raise_server_exceptions=False)
    client.event_hooks = {"request": [], "response": [check_response]}
    page = client.get("/beheer/aanmelden")
    response = client.post("/beheer/aanmelden", data={"csrf": hidden(page.text, "csrf"), "gebruiker": username,
                                                      "wachtwoord": PASSWORD, "volgende": ""},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    return client


@pytest.fixture
def as_user(app: FastAPI, users: dict[str, int]) -> Iterator[dict[str, TestClient]]:
    clients: dict[str, TestClient] = {}

    class Clients(dict[str, TestClient]):
        def __missing__(self, name: str) -> TestClient:
            clients[name] = self[name] = signed_in(app, name)
            return clients[name]

    yield Clients()
    for client in clients.values():
        client.close()


def user_row(sessions: sessionmaker[Session], username: str) -> StaffUser:
    with sessions.begin() as session:
        user = accounts.get_user(session, username)
        assert user is not None
        return user


def count_users(sessions: sessionmaker[Session]) -> int:
    with sessions.begin() as session:
        return accounts.count_users(session)


def last_audit(sessions: sessionmaker[Session]) -> AuditEntry:
    with sessions.begin() as session:
        entry = session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
        assert entry is not None
        return entry


def create(client: TestClient, **fields: str) -> httpx.Response:
    page = client.get("/beheer/gebruikers")
    data = {"csrf": form_field(page.text, "/beheer/gebruikers"), "gebruikersnaam": "nieuw", "naam": "Nieuwe Collega",
            "rol": "coordinator", "organisatie": ORG_A, "actor": "", "wachtwoord": ""}
    data.update(fields)
    return client.post("/beheer/gebruikers", data=data)


def act(client: TestClient, user_id: int, action: str, token_from: int | None = None) -> httpx.Response:
    """Post an account action; the token comes from the page of `token_from` (own page has no such form)."""
    source = token_from or user_id
    token = form_field(client.get(f"/beheer/gebruikers/{source}").text, f"/beheer/gebruikers/{source}")
    return client.post(f"/beheer/gebruikers/{user_id}", data={"csrf": token, "actie": action}, follow_redirects=False)


# --- permissions -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", GET_PAGES)
def test_admin_pages_are_for_admins_only(path: str, client: TestClient, as_user: dict[str, TestClient],
                                         users: dict[str, int]) -> None:
    anonymous = client.get(path, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/beheer/aanmelden")
    for name in ("coord-a", "behandel-a"):
        refused = as_user[name].get(path)
        assert refused.status_code == 403 and "geen toegang" in refused.text
    for name in ("root", "beheer-a"):
        assert as_user[name].get(path).status_code == 200
    detail = f"/beheer/gebruikers/{users['coord-a']}"
    assert as_user["coord-a"].get(detail).status_code == 403
    assert client.get(detail, follow_redirects=False).status_code == 303


def test_posts_need_a_login_an_admin_and_the_right_csrf_token(client: TestClient, as_user: dict[str, TestClient],
                                                              users: dict[str, int],
                                                              sessions: sessionmaker[Session]) -> None:
    target = users["coord-a"]
    form = {"gebruikersnaam": "sluiper", "naam": "X", "rol": "admin", "organisatie": "", "wachtwoord": ""}
    assert client.post("/beheer/gebruikers", data={"csrf": "x", **form}).status_code == 401
    assert client.post(f"/beheer/gebruikers/{target}", data={"csrf": "x", "actie": "deactiveren"}).status_code == 401
    for name in ("coord-a", "behandel-a"):  # a valid token of their own session: refused for the role
        other = as_user[name]
        with sessions.begin() as session:
            loaded = staff_sessions.load(session, other.cookies.get("bo_sessie"))
            assert loaded is not None
            tokens = {form_name: loaded.csrf_token(form_name) for form_name in ("gebruiker-nieuw", "gebruiker-actie")}
        assert other.post("/beheer/gebruikers", data={"csrf": tokens["gebruiker-nieuw"], **form}).status_code == 403
        assert other.post(f"/beheer/gebruikers/{target}", data={"csrf": tokens["gebruiker-actie"],
                                                                "actie": "deactiveren"}).status_code == 403
    admin = as_user["root"]
    create_token = form_field(admin.get("/beheer/gebruikers").text, "/beheer/gebruikers")
    action_token = form_field(admin.get(f"/beheer/gebruikers/{target}").text, f"/beheer/gebruikers/{target}")
    for path, data in (("/beheer/gebruikers", form), (f"/beheer/gebruikers/{target}", {"actie": "deactiveren"})):
        assert admin.post(path, data={"csrf": "verzonnen", **data}).status_code == 400
        wrong_form = create_token if path != "/beheer/gebruikers" else action_token
        assert admin.post(path, data={"csrf": wrong_form, **data}).status_code == 400
        right = create_token if path == "/beheer/gebruikers" else action_token
        cross = admin.post(path, data={"csrf": right, **data}, headers={"sec-fetch-site": "cross-site"})
        assert cross.status_code == 400
    assert user_row(sessions, "coord-a").active
    assert count_users(sessions) == len(USERS)


# --- listing and scope -----------------------------------------------------------------------------------------


def test_installation_admin_sees_everyone_org_admin_only_their_organisation(
        as_user: dict[str, TestClient], users: dict[str, int]) -> None:
    everyone = as_user["root"].get("/beheer/gebruikers").text
    assert all(f">{name.title()}</a>" in everyone for name in USERS)
    own = as_user["beheer-a"].get("/beheer/gebruikers").text
    assert ">Coord-A</a>" in own and ">Behandel-A</a>" in own
    assert "Coord-B" not in own and ">Root</a>" not in own
    assert as_user["beheer-a"].get(f"/beheer/gebruikers/{users['coord-b']}").status_code == 404
    assert as_user["beheer-a"].get(f"/beheer/gebruikers/{users['root']}").status_code == 404
    page = as_user["beheer-a"].get(f"/beheer/gebruikers/{users['root']}")
    assert "Root" not in page.text
    blocked = as_user["beheer-a"]
    token = form_field(blocked.get(f"/beheer/gebruikers/{users['coord-a']}").text,
                       f"/beheer/gebruikers/{users['coord-a']}")
    assert blocked.post(f"/beheer/gebruikers/{users['coord-b']}",
                        data={"csrf": token, "actie": "deactiveren"}).status_code == 404


# --- creating accounts -----------------------------------------------------------------------------------------


def test_create_with_generated_password_shows_it_once_and_it_works(
        app: FastAPI, as_user: dict[str, TestClient], sessions: sessionmaker[Session]) -> None:
    response = create(as_user["root"], gebruikersnaam="Nieuw.Collega", rol="handler", actor="audit_vlaanderen")
    assert response.status_code == 200 and "maar één keer" in response.text
    password = re.search(r'<code id="nieuw-wachtwoord">([^<]+)</code>', response.text)
    assert password
    user = user_row(sessions, "nieuw.collega")
    assert (user.role, user.profile_id, user.actor) == (Role.HANDLER, ORG_A, "audit_vlaanderen")
    assert password.group(1) not in user.password_hash
    assert passwords.verify_password(user.password_hash, password.group(1))
    entry = last_audit(sessions)
    assert entry.action == "user_created" and entry.username == "root" and entry.profile_id == ORG_A
    assert password.group(1) not in entry.detail and "password generated" in entry.detail
    page = as_user["root"].get(f"/beheer/gebruikers/{user.id}")
    assert password.group(1) not in page.text  # shown once
    new = TestClient(app, raise_server_exceptions=False)
    login = new.get("/beheer/aanmelden")
    assert new.post("/beheer/aanmelden", data={"csrf": hidden(login.text, "csrf"), "gebruiker": "nieuw.collega",
                                               "wachtwoord": password.group(1), "volgende": ""},
                    follow_redirects=False).status_code == 303


def test_create_with_typed_password_shows_no_password(as_user: dict[str, TestClient],
                                                      sessions: sessionmaker[Session]) -> None:
    response = create(as_user["beheer-a"], wachtwoord="zelf gekozen wachtwoord 7")
    assert response.status_code == 200 and 'id="nieuw-wachtwoord"' not in response.text
    assert passwords.verify_password(user_row(sessions, "nieuw").password_hash, "zelf gekozen wachtwoord 7")


@pytest.mark.parametrize(("who", "fields", "message"), [
    ("root", {"gebruikersnaam": "coord-a"}, "Deze gebruikersnaam bestaat al."),
    ("root", {"gebruikersnaam": "Jan Peeters!"}, "Gebruik 2 tot 64 kleine letters"),
    ("root", {"rol": "superuser"}, "Kies een rol"),
    ("root", {"organisatie": "bestaat-niet"}, "Deze organisatie bestaat niet"),
    ("root", {"organisatie": "", "rol": "coordinator"}, "Kies een organisatie"),
    ("root", {"rol": "handler", "actor": "comite_p"}, "Deze actor hoort niet bij die organisatie"),
    ("root", {"rol": "handler", "actor": "iemand"}, "Deze actor hoort niet bij die organisatie"),
    ("root", {"wachtwoord": "kort"}, "minstens 12 tekens"),
    ("root", {"wachtwoord": "aaaaaaaaaaaaaaaa"}, "te eenvoudig"),
    ("beheer-a", {"organisatie": ORG_B}, "Deze organisatie bestaat niet, of je mag er geen"),
    ("beheer-a", {"organisatie": "", "rol": "admin"}, "Kies een organisatie"),
])
def test_bad_input_gets_a_dutch_error_and_stores_nothing(who: str, fields: dict[str, str], message: str,
                                                         as_user: dict[str, TestClient],
                                                         sessions: sessionmaker[Session]) -> None:
    client = as_user[who]  # signs in (audited) before counting
    with sessions.begin() as session:
        audit_before = len(audit.entries(session, limit=1000))
    response = create(client, **fields)
    assert response.status_code == 400
    assert message in response.text and "Niet aangemaakt" in response.text
    assert count_users(sessions) == len(USERS)
    with sessions.begin() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == "user_created")) == 0
        assert len(audit.entries(session, limit=1000)) == audit_before
    if "gebruikersnaam" not in fields:  # what the admin typed is kept, except the password
        assert 'value="nieuw"' in response.text
    if "wachtwoord" in fields:
        assert fields["wachtwoord"] not in response.text


# --- changing accounts -----------------------------------------------------------------------------------------


def test_deactivate_ends_sessions_and_reactivate(app: FastAPI, as_user: dict[str, TestClient],
                                                 users: dict[str, int], sessions: sessionmaker[Session]) -> None:
    victim = as_user["coord-a"]
    assert victim.get("/beheer/account").status_code == 200
    response = act(as_user["beheer-a"], users["coord-a"], "deactiveren")
    assert response.status_code == 303
    assert "uitgeschakeld" in as_user["beheer-a"].get(response.headers["location"]).text
    assert not user_row(sessions, "coord-a").active
    with sessions.begin() as session:
        assert staff_sessions.active_sessions(session, users["coord-a"]) == []
    assert victim.get("/beheer/account", follow_redirects=False).status_code == 303
    entry = last_audit(sessions)
    assert (entry.action, entry.username, entry.profile_id) == ("user_changed", "beheer-a", ORG_A)
    assert "deactivated 'coord-a'" in entry.detail
    assert act(as_user["beheer-a"], users["coord-a"], "activeren").status_code == 303
    assert user_row(sessions, "coord-a").active
    signed_in(app, "coord-a").close()


def test_an_admin_cannot_deactivate_themselves(as_user: dict[str, TestClient], users: dict[str, int],
                                               sessions: sessionmaker[Session]) -> None:
    admin = as_user["root"]
    page = admin.get(f"/beheer/gebruikers/{users['root']}").text
    assert 'value="deactiveren"' not in page and "Dit is je eigen account" in page
    refused = act(admin, users["root"], "deactiveren", token_from=users["coord-a"])
    assert refused.status_code == 400 and "eigen account niet uitschakelen" in refused.text
    assert user_row(sessions, "root").active
    assert admin.get("/beheer/gebruikers").status_code == 200


def test_unlock_after_lock_out(app: FastAPI, as_user: dict[str, TestClient], users: dict[str, int],
                               sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        user = session.get(StaffUser, users["coord-b"])
        assert user is not None
        user.locked_until = utcnow() + timedelta(minutes=10)
        session.commit()
    page = as_user["root"].get(f"/beheer/gebruikers/{users['coord-b']}").text
    assert "vergrendeld tot" in page
    assert act(as_user["root"], users["coord-b"], "ontgrendelen").status_code == 303
    assert user_row(sessions, "coord-b").locked_until is None
    assert last_audit(sessions).detail.startswith("unlocked 'coord-b'")
    signed_in(app, "coord-b").close()


def test_reset_second_factor(as_user: dict[str, TestClient], users: dict[str, int],
                             sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        user = session.get(StaffUser, users["behandel-a"])
        assert user is not None
        user.totp_secret_box = b"sealed secret"
        session.commit()
    assert act(as_user["beheer-a"], users["behandel-a"], "tweede-stap-resetten").status_code == 303
    assert user_row(sessions, "behandel-a").totp_secret_box is None
    entry = last_audit(sessions)
    assert entry.action == "totp_disabled" and entry.username == "beheer-a"


def test_reset_password_shows_it_once_and_ends_sessions(app: FastAPI, as_user: dict[str, TestClient],
                                                         users: dict[str, int],
                                                         sessions: sessionmaker[Session]) -> None:
    victim = as_user["coord-a"]
    response = act(as_user["root"], users["coord-a"], "wachtwoord-resetten")
    assert response.status_code == 200
    found = re.search(r'<code id="nieuw-wachtwoord">([^<]+)</code>', response.text)
    assert found
    user = user_row(sessions, "coord-a")
    assert passwords.verify_password(user.password_hash, found.group(1))
    assert not passwords.verify_password(user.password_hash, PASSWORD)
    with sessions.begin() as session:
        assert session.scalar(select(func.count()).select_from(StaffSession)
                              .where(StaffSession.user_id == user.id)) == 0
    assert victim.get("/beheer/account", follow_redirects=False).status_code == 303
    entry = last_audit(sessions)
    assert entry.action == "password_changed" and found.group(1) not in entry.detail


def test_own_password_is_not_reset_here(as_user: dict[str, TestClient], users: dict[str, int],
                                        sessions: sessionmaker[Session]) -> None:
    before = user_row(sessions, "beheer-a").password_hash
    refused = act(as_user["beheer-a"], users["beheer-a"], "wachtwoord-resetten", token_from=users["coord-a"])
    assert refused.status_code == 400 and "Mijn account" in refused.text
    assert user_row(sessions, "beheer-a").password_hash == before


def test_unknown_action_is_refused(as_user: dict[str, TestClient], users: dict[str, int]) -> None:
    assert act(as_user["root"], users["coord-a"], "verwijderen").status_code == 400


# --- profiles --------------------------------------------------------------------------------------------------


def test_profiles_page_flags_unverified_contact_data(as_user: dict[str, TestClient]) -> None:
    everything = as_user["root"].get("/beheer/profielen").text
    assert "Vlaamse overheid" in everything or ORG_A in everything
    assert ORG_B in everything
    assert "nee, nog te controleren" in everything and "Nog te controleren" in everything
    own = as_user["beheer-a"].get("/beheer/profielen").text
    assert f"({ORG_A})" in own and f"({ORG_B})" not in own


# --- audit log -------------------------------------------------------------------------------------------------


def test_every_audit_action_has_a_dutch_label() -> None:
    assert set(audit.ACTIONS) <= set(AUDIT_LABELS)


def test_audit_log_newest_first_with_filters_and_pages(as_user: dict[str, TestClient],
                                                       sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        for number in range(60):
            audit.record(session, "report_viewed", username="coord-a", profile_id=ORG_A,
                         report_reference=f"M-2026-{number:04d}")
        audit.record(session, "report_viewed", username="coord-b", profile_id=ORG_B, report_reference="M-2026-BBBB")
    admin = as_user["root"]
    page = admin.get("/beheer/audit").text
    assert page.index("M-2026-BBBB") < page.index("M-2026-0059") < page.index("M-2026-0058")
    assert "melding geopend" in page and "report_viewed" not in page.split("<tbody>")[1].split("</tbody>")[0]
    older = re.search(r'href="(/beheer/audit\?voor=\d+)"', page)
    assert older
    second = admin.get(older.group(1).replace("&amp;", "&")).text
    assert "M-2026-0000" in second and "M-2026-0059" not in second
    filtered = admin.get("/beheer/audit", params={"melding": "m-2026-0007"}).text
    assert "M-2026-0007" in filtered and "M-2026-0008" not in filtered
    by_user = admin.get("/beheer/audit", params={"gebruiker": "coord-b", "actie": "report_viewed"}).text
    assert "M-2026-BBBB" in by_user and "M-2026-0001" not in by_user
    assert admin.get("/beheer/audit", params={"actie": "alles_wissen"}).status_code == 400
    assert admin.get("/beheer/audit", params={"voor": "1 OR 1=1"}).status_code == 400


def test_org_admin_reads_only_their_organisations_audit_entries(as_user: dict[str, TestClient],
                                                                sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        audit.record(session, "report_viewed", username="coord-b", profile_id=ORG_B, report_reference="M-2026-BBBB")
        audit.record(session, "report_viewed", username="coord-a", profile_id=ORG_A, report_reference="M-2026-AAAA")
    own = as_user["beheer-a"].get("/beheer/audit").text
    assert "M-2026-AAAA" in own and "M-2026-BBBB" not in own
    assert "M-2026-BBBB" not in as_user["beheer-a"].get("/beheer/audit", params={"gebruiker": "coord-b"}).text
    everything = as_user["root"].get("/beheer/audit").text
    assert "M-2026-AAAA" in everything and "M-2026-BBBB" in everything
