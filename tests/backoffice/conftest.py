"""Fixtures for the back office web app: temp SQLite database and key directory, cheap Argon2, one report.

`keys` creates the readers `lezer` (vlaamse-overheid) and `lezer-fp` (federale-politie), coordinators with key
pairs, so that reports can be submitted; `keys.private` opens what `lezer` was granted.

Every response a test client receives is checked for the security headers and for the absence of Set-Cookie.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from nacl.public import PrivateKey
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from backoffice.app import create_app
from integrity.reports import db, schemas, submission
from integrity.reports.cli import upgrade
from integrity.reports.models import Report
from integrity.reports.report_keys import Reader
from integrity.settings import DomainSettings
from tests.plugins.report_store import READER_PASSWORD, make_reader

__all__ = ["READER_PASSWORD"]
WHAT_HAPPENED = "Het diensthoofd laat facturen van leverancier Kluisbouw NV dubbel betalen."
PEOPLE = "het diensthoofd aankoop en een accountmanager"
SECURITY_HEADERS = {
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
}
_HIDDEN = r'<input type="hidden" name="{name}" value="([^"]+)">'


@pytest.fixture(autouse=True)
def backoffice_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Temp key directory and SQLite file, test Argon2 profile, no ambient secrets."""
    key_dir = tmp_path / "keys"
    monkeypatch.setenv("INTEGRITY_ARGON2_PROFILE", "test")
    monkeypatch.setenv("INTEGRITY_KEY_DIR", str(key_dir))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'reports.db'}")
    for name in ("BACKOFFICE_SECRET", "INTEGRITY_KEY_PASSPHRASE", "INTEGRITY_NEW_KEY_PASSPHRASE"):
        monkeypatch.delenv(name, raising=False)
    return key_dir


@pytest.fixture
def engine(backoffice_env: Path) -> Iterator[Engine]:
    engine = db.make_engine(DomainSettings.from_env().database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return db.make_sessionmaker(engine)


@dataclass(frozen=True)
class Keys:
    user_id: int
    user_private: PrivateKey

    @property
    def private(self) -> Reader:
        return Reader(self.user_id, self.user_private)


@pytest.fixture
def keys(sessions: sessionmaker[Session]) -> Keys:
    with sessions.begin() as session:
        user, private = make_reader(session)
        make_reader(session, "lezer-fp", profile_id="federale-politie")
        user_id = user.id
    return Keys(user_id, private)


def make_draft(**changes: object) -> schemas.ReportDraft:
    fields: dict[str, object] = {
        "category": "fraude_corruptie",
        "what_happened": WHAT_HAPPENED,
        "when": "sinds maart",
        "where": "afdeling aankoop, gebouw B",
        "people_involved": PEOPLE,
        "evidence": "",
        "anonymous": True,
        "profile_id": "vlaamse-overheid",
        "channel": "web",
    }
    fields.update(changes)
    return schemas.ReportDraft(**fields)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Submitted:
    code: str  # formatted, "1234 5678 9012 3456"
    reference: str
    report_id: str
    ack_due: object
    feedback_due: object

    @property
    def digits(self) -> str:
        return self.code.replace(" ", "")


def submit(sessions: sessionmaker[Session], keys: Keys, **changes: object) -> Submitted:
    with sessions.begin() as session:
        result = submission.submit_report(session, make_draft(**changes))
        report_id = session.scalar(select(Report.id).where(Report.reference == result.reference))
    return Submitted(result.receipt_code, result.reference, str(report_id), result.ack_due, result.feedback_due)


@pytest.fixture
def submitted(sessions: sessionmaker[Session], keys: Keys) -> Submitted:
    """A report stored through the service layer, as the chat does."""
    return submit(sessions, keys)


def check_response(response: httpx.Response) -> None:
    if response.request.url.path.startswith("/beheer"):
        # only the staff session cookie and the login form's pre-session cookie, locked down
        for cookie in response.headers.get_list("set-cookie"):
            assert cookie.startswith(("bo_sessie=", "bo_aanmelden=")), cookie
            assert all(flag in cookie.lower() for flag in ("httponly", "samesite=strict", "path=/beheer")), cookie
    else:
        assert "set-cookie" not in response.headers, f"{response.request.url} set a cookie"
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, f"{name} missing on {response.request.url}"
    assert "default-src 'self'" in response.headers.get("content-security-policy", "")


@pytest.fixture
def app(engine: Engine) -> FastAPI:
    return create_app()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        test_client.event_hooks = {"request": [], "response": [check_response]}
        yield test_client


def hidden(html: str, name: str) -> str:
    match = re.search(_HIDDEN.format(name=name), html)
    assert match, f"no hidden field {name}"
    return match.group(1)


def csrf(client: TestClient) -> str:
    return hidden(client.get("/opvolgen").text, "csrf")


def enter_code(client: TestClient, code: str, **headers: str) -> httpx.Response:
    return client.post("/opvolgen", data={"csrf": csrf(client), "code": code}, headers=headers)


def send_message(client: TestClient, view: httpx.Response, text: str) -> httpx.Response:
    """Post a message with the tokens of a follow-up view page."""
    return client.post("/opvolgen/bericht", data={
        "csrf": hidden(view.text, "csrf"), "toegang": hidden(view.text, "toegang"), "bericht": text})


def form_field(html: str, action: str, name: str = "csrf", index: int = 0) -> str:
    """A hidden field of the `index`-th form posting to `action` (pages have several forms, e.g. logout in the nav)."""
    parts = html.split(f'action="{action}"')
    assert len(parts) > index + 1, f"no form posting to {action}"
    return hidden(parts[index + 1].split("</form>")[0], name)
