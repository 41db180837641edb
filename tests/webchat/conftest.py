"""Fixtures for the web chat: the app with a fake Rasa behind an httpx MockTransport, and request helpers.

Every response a test client receives is checked for the absence of Set-Cookie.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from backoffice.app import create_app
from backoffice.settings import Settings

SESSION = "Zk3q9XwB2mPa7LrT_c-8uVnE4yHs0dQo"  # what chat.js makes: 24 random bytes, base64url
PROFILE = "federale-politie"
_TOKEN = re.compile(r'data-token="([^"]+)"')

Reply = list[dict[str, Any]] | Exception | Callable[[dict[str, Any]], httpx.Response]


@dataclass
class FakeRasa:
    """Rasa's REST channel as an httpx MockTransport: records each payload, answers with `reply`."""

    reply: Reply = field(default_factory=lambda: [{"recipient_id": "x", "text": "Hallo!"}])
    payloads: list[dict[str, Any]] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        payload = json.loads(request.content)
        self.payloads.append(payload)
        self.urls.append(str(request.url))
        if isinstance(self.reply, Exception):
            raise self.reply
        if callable(self.reply):
            return self.reply(payload)
        return httpx.Response(200, json=self.reply)


@pytest.fixture
def chat_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Temp key directory and SQLite file, no ambient secrets or profile."""
    key_dir = tmp_path / "keys"
    monkeypatch.setenv("INTEGRITY_KEY_DIR", str(key_dir))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'reports.db'}")
    for name in ("BACKOFFICE_SECRET", "SENDER_ID_SECRET", "INTEGRITY_PROFILE", "RASA_URL"):
        monkeypatch.delenv(name, raising=False)
    return key_dir


@pytest.fixture
def settings(chat_env: Path) -> Settings:
    return replace(Settings.from_env(), purge=False, profile=PROFILE, rasa_url="http://rasa.test:5005",
                   chat_session_limit=5, chat_ip_limit=8)


@pytest.fixture
def fake_rasa() -> FakeRasa:
    return FakeRasa()


def make_app(settings: Settings, fake: FakeRasa | None = None) -> FastAPI:
    app = create_app(settings)
    if fake is not None:
        app.state.chat.transport = httpx.MockTransport(fake.handle)
    return app


def check_response(response: httpx.Response) -> None:
    assert "set-cookie" not in response.headers, f"{response.request.url} set a cookie"


@pytest.fixture
def make_client() -> Iterator[Callable[[FastAPI], TestClient]]:
    clients: list[TestClient] = []

    def make(app: FastAPI) -> TestClient:
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()
        client.event_hooks = {"request": [], "response": [check_response]}
        clients.append(client)
        return client

    yield make
    for client in reversed(clients):
        client.__exit__(None, None, None)


@pytest.fixture
def client(settings: Settings, fake_rasa: FakeRasa, make_client: Callable[[FastAPI], TestClient]) -> TestClient:
    return make_client(make_app(settings, fake_rasa))


def page_token(client: TestClient) -> str:
    match = _TOKEN.search(client.get("/chat").text)
    assert match, "no data-token on the chat page"
    return match.group(1)


def post(client: TestClient, text: str, *, session: str = SESSION, token: str | None = None,
         **headers: str) -> httpx.Response:
    token = page_token(client) if token is None else token
    return client.post("/chat/berichten", json={"session": session, "text": text},
                       headers={"X-CSRF-Token": token, **headers})
