"""Fuzz the web chat's JSON API (`POST /chat/berichten`) with a local Rasa stub, and with Rasa unreachable.

Properties besides the common ones (tests.fuzz.checks): every answer is JSON, either `{"messages": [...],
"token": ...}` (200) or `{"error": <Dutch text>}`; what reaches Rasa has no control characters and starts with
"/" only as a bare intent payload (no entities typed by the user); with Rasa down the answer is 503 with the
Dutch "not available" text from bot/texts.yml.
"""

from __future__ import annotations

import json
import re
import socket
import unicodedata
from collections.abc import Iterator
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from backoffice.app import create_app
from backoffice.settings import Settings
from bot.texts import channel_texts
from tests.fuzz.checks import response_problems
from tests.fuzz.profile import fuzz_settings
from tests.fuzz.rasa_stub import RasaStub
from tests.fuzz.strategies import Body, chat_bodies
from tests.fuzz.targets import endpoint as find_endpoint
from tests.fuzz.world import ANONYMOUS, World

CHAT = "POST /chat/berichten"
TOKEN = re.compile(r'data-token="([^"]+)"')
BARE_PAYLOAD = re.compile(r"/[A-Za-z0-9_]{1,64}")


def page_token(client: TestClient) -> str:
    match = TOKEN.search(client.get("/chat").text)
    assert match, "no data-token on the chat page"
    return match.group(1)


# Mostly the page's real token, else none, forged, from the future, or random text.
tokens = st.one_of(st.sampled_from(["page"] * 6 + ["", "c1.0.x.y", "c1." + "9" * 12 + ".a.b"]),
                   st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=450))


def _check_answer(response_json: object, status: int) -> None:
    assert isinstance(response_json, dict), response_json
    if status == 200:
        assert set(response_json) == {"messages", "token"}, response_json
        assert response_json["messages"] and all(m["text"] or m["buttons"] for m in response_json["messages"])
    else:
        assert set(response_json) == {"error"}, response_json


def test_fuzz_chat_json(world: World, rasa_stub: RasaStub) -> None:
    endpoint = find_endpoint(CHAT)
    real_token = page_token(world.client)

    @fuzz_settings(200)
    @given(body=chat_bodies(), token=tokens)
    def run(body: Body, token: str) -> None:
        before = len(rasa_stub.payloads)
        headers = {"x-csrf-token": real_token if token == "page" else token}
        response = world.exchange(endpoint, "/chat/berichten", ANONYMOUS, body=body, extra_headers=headers)
        assert response.headers.get("content-type", "").startswith("application/json"), response.text[:300]
        _check_answer(response.json(), response.status_code)
        sent = rasa_stub.payloads[before:]
        assert len(sent) == (1 if response.status_code == 200 else 0), (response.status_code, sent)
        for payload in sent:
            text = payload["message"]
            assert text and len(text) <= 4000
            assert not any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in "\n\t" for ch in text), text
            assert not text.startswith("/") or BARE_PAYLOAD.fullmatch(text), text

    run()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the block ends: nothing listens there


@pytest.fixture
def client_without_rasa(world: World, app_settings: Settings) -> Iterator[TestClient]:
    app = create_app(replace(app_settings, rasa_url=f"http://127.0.0.1:{_closed_port()}", rasa_timeout=2.0))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_fuzz_chat_with_rasa_down_answers_dutch_unavailable(client_without_rasa: TestClient) -> None:
    token = page_token(client_without_rasa)
    unavailable = channel_texts()["unavailable"]

    @fuzz_settings(15)
    @given(text=st.text(st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"]), min_size=1, max_size=200)
           .filter(lambda t: t.strip()),
           session=st.from_regex(r"[A-Za-z0-9_-]{16,64}", fullmatch=True))
    def run(text: str, session: str) -> None:
        response = client_without_rasa.post("/chat/berichten", content=json.dumps({"session": session, "text": text}),
                                            headers={"x-csrf-token": token, "content-type": "application/json"})
        problems = response_problems(response, sent=text, allowed_5xx=frozenset({503}))
        assert not problems, problems
        if response.status_code == 422:  # text that is only a stray slash, for instance
            return
        assert response.status_code == 503, response.text[:300]
        assert response.json() == {"error": unavailable}
        assert response.headers.get("retry-after")

    run()
