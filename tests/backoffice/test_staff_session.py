"""The idle logout made visible: the seconds left, "Sessie verlengen", and the settings that shorten it."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backoffice.app import create_app
from backoffice.routes.staff_session import draft_key
from backoffice.settings import Settings
from integrity.staff import accounts
from integrity.staff.models import Role, StaffSession
from tests.backoffice.conftest import form_field
from tests.backoffice.test_staff_login import PASSWORD, login


@pytest.fixture
def coordinator(sessions: sessionmaker[Session]) -> str:
    with sessions.begin() as session:
        accounts.create_user(session, "coord", "Chris Coördinator", Role.COORDINATOR, PASSWORD,
                             profile_id="vlaamse-overheid")
    return "coord"


def age_session(sessions: sessionmaker[Session], seconds: int) -> None:
    """Move the session's clocks back, as if `seconds` passed without activity."""
    with sessions.begin() as session:
        record = session.scalars(select(StaffSession)).one()
        record.last_seen_at -= timedelta(seconds=seconds)
        record.created_at -= timedelta(seconds=seconds)


def seconds_left(client: TestClient) -> int:
    response = client.get("/beheer/sessie")
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    value = response.json()["seconds_left"]
    assert isinstance(value, int)
    return value


def test_every_staff_page_carries_the_clock_and_asking_is_not_activity(
        client: TestClient, coordinator: str, sessions: sessionmaker[Session]) -> None:
    assert seconds_left(client) == 0  # no session
    login(client, coordinator)
    page = client.get("/beheer/account").text
    assert 'role="alertdialog"' in page and 'data-warn-seconds="120"' in page
    shown = int(re.search(r'data-seconds-left="(\d+)"', page).group(1))  # type: ignore[union-attr]
    assert 1790 <= shown <= 1800
    age_session(sessions, 600)
    assert 1190 <= seconds_left(client) <= 1200
    assert 1190 <= seconds_left(client) <= 1200  # asking twice did not restart the idle clock
    client.get("/beheer/account")  # a page is activity
    assert seconds_left(client) >= 1790


def test_extend_needs_the_csrf_token_and_restarts_the_idle_clock(
        client: TestClient, coordinator: str, sessions: sessionmaker[Session]) -> None:
    login(client, coordinator)
    token = form_field(client.get("/beheer/account").text, "/beheer/sessie/verlengen")
    assert client.post("/beheer/sessie/verlengen", data={"csrf": "x"},
                       headers={"Accept": "application/json"}).status_code == 400
    age_session(sessions, 1700)
    assert seconds_left(client) <= 100
    extended = client.post("/beheer/sessie/verlengen", data={"csrf": token}, headers={"Accept": "application/json"})
    assert extended.status_code == 200 and extended.json()["seconds_left"] >= 1795
    assert seconds_left(client) >= 1795
    without_script = client.post("/beheer/sessie/verlengen", data={"csrf": token, "volgende": "/beheer/account"},
                                 follow_redirects=False)
    assert without_script.status_code == 303 and without_script.headers["location"] == "/beheer/account"
    away = client.post("/beheer/sessie/verlengen", data={"csrf": token, "volgende": "https://example.org/"},
                       follow_redirects=False)
    assert away.headers["location"] == "/beheer"


def test_after_the_idle_time_the_session_is_gone_and_cannot_be_extended(
        client: TestClient, coordinator: str, sessions: sessionmaker[Session]) -> None:
    login(client, coordinator)
    token = form_field(client.get("/beheer/account").text, "/beheer/sessie/verlengen")
    age_session(sessions, 1801)
    assert seconds_left(client) == 0
    refused = client.post("/beheer/sessie/verlengen", data={"csrf": token}, headers={"Accept": "application/json"})
    assert refused.status_code == 401
    assert client.get("/beheer/account", follow_redirects=False).status_code == 303


def test_a_shorter_idle_time_from_the_settings(app: FastAPI, coordinator: str,
                                               sessions: sessionmaker[Session]) -> None:
    short = create_app(replace(app.state.settings, staff_idle=60, staff_idle_warning=20))
    with TestClient(short) as client:
        login(client, coordinator)
        page = client.get("/beheer/account").text
        assert 'data-warn-seconds="20"' in page and 'data-idle-minutes="1"' in page
        assert 55 <= seconds_left(client) <= 60
        age_session(sessions, 61)  # the row still says 30 minutes; the app's idle limit decides
        assert seconds_left(client) == 0
        assert client.get("/beheer/account", follow_redirects=False).status_code == 303


def test_idle_settings_are_checked(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    for idle, warning in ((120, 120), (3600, 120), (60, 0)):
        with pytest.raises(ValueError, match="staff idle settings"):
            replace(settings, staff_idle=idle, staff_idle_warning=warning)
    env = {"BACKOFFICE_SECRET": "s" * 40, "BACKOFFICE_IDLE_SECONDS": "90", "BACKOFFICE_IDLE_WARNING_SECONDS": "30"}
    from_env = Settings.from_env(env)
    assert (from_env.staff_idle, from_env.staff_idle_warning) == (90, 30)
    with pytest.raises(ValueError, match="whole number"):
        Settings.from_env({**env, "BACKOFFICE_IDLE_SECONDS": "1e3"})


def test_the_draft_key_differs_per_staff_member() -> None:
    assert draft_key(b"k" * 32, 1) != draft_key(b"k" * 32, 2) != draft_key(b"j" * 32, 2)
    assert len(draft_key(b"k" * 32, 1)) == 43  # 32 bytes, base64url without padding
