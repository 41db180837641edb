"""The web chat endpoints with a fake Rasa: page, forwarding, pseudonyms, errors, limits, CSRF, logs."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from backoffice.deps import Tokens
from backoffice.routes.chat import TEXT_MAX
from backoffice.settings import Settings
from bot import pseudonym
from bot.texts import channel_texts
from devtools.stack import free_port
from tests.webchat.conftest import PROFILE, SESSION, FakeRasa, make_app, page_token, post

TEXTS = channel_texts()
SECRET_TEXT = "mijn collega Jan Peeters van dienst X pest me elke dag"


# --- the page --------------------------------------------------------------------------------------------------


def test_page_is_dutch_accessible_and_loads_only_its_own_script(client: TestClient) -> None:
    response = client.get("/chat")
    assert response.status_code == 200
    html = response.text
    assert '<html lang="nl">' in html
    assert re.search(r'role="log"[^>]*aria-live="polite"', html)
    assert '<label for="bericht">Je bericht</label>' in html and 'id="bericht"' in html
    assert "Bij nood: bel 112" in html
    assert "vraag niet naar je naam" in html  # the bot's privacy notice, in one line
    assert "Herlaad of sluit je de pagina, dan ben je het kwijt" in html
    assert '<script src="/static/chat.js" defer></script>' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script: the CSP would block it"
    assert not re.search(r"\son[a-z]+=", html), "inline event handler: the CSP would block it"
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp and "script-src" not in csp
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-frame-options"] == "DENY"
    assert TEXTS["unavailable"] in html  # shown by the script when the web app itself cannot be reached


def test_script_renders_text_only_and_keeps_nothing_in_the_browser(client: TestClient) -> None:
    response = client.get("/static/chat.js")
    assert response.status_code == 200
    script = response.text
    assert "textContent" in script
    for forbidden in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "localStorage",
                      "sessionStorage", "document.cookie", "indexedDB"):
        assert forbidden not in script, forbidden
    assert "crypto.getRandomValues" in script
    assert 'credentials: "omit"' in script


def test_each_page_gets_a_fresh_token(client: TestClient) -> None:
    assert page_token(client) != page_token(client)


# --- forwarding ------------------------------------------------------------------------------------------------


def test_message_is_forwarded_with_a_pseudonymous_sender_and_web_metadata(
        client: TestClient, fake_rasa: FakeRasa, chat_env: Path) -> None:
    fake_rasa.reply = [
        {"recipient_id": "x", "text": "Je kan naar de vertrouwenspersoon.\nOf naar de preventieadviseur."},
        {"recipient_id": "x", "text": "Wil je eerst informeel praten?",
         "buttons": [{"title": "Eerst informeel praten", "payload": "/kies_informeel"},
                     {"title": "Formele procedure", "payload": "/kies_formeel"}]},
    ]
    response = post(client, "  ik word gepest  ")
    assert response.status_code == 200
    assert response.json()["messages"] == [
        {"text": "Je kan naar de vertrouwenspersoon.\nOf naar de preventieadviseur.", "buttons": []},
        {"text": "Wil je eerst informeel praten?",
         "buttons": [{"title": "Eerst informeel praten", "payload": "/kies_informeel"},
                     {"title": "Formele procedure", "payload": "/kies_formeel"}]},
    ]
    [payload] = fake_rasa.payloads
    assert fake_rasa.urls == ["http://rasa.test:5005/webhooks/rest/webhook"]
    assert payload["message"] == "ik word gepest"
    secret = pseudonym.load_or_create_secret(chat_env)
    # `client`: the pseudonym of the client address, which the follow-up form's receipt-code throttle counts
    # against (the session id is the browser's choice); never the address itself.
    assert payload["metadata"] == {"channel": "web", "profile": PROFILE,
                                   "client": pseudonym.sender_id(secret, "web-ip", "testclient")}
    assert "testclient" not in str(payload)
    assert payload["sender"] == pseudonym.sender_id(secret, "web", SESSION)
    assert payload["sender"].startswith("web-")
    assert SESSION not in str(payload)


def test_same_session_same_sender_other_session_other_sender(client: TestClient, fake_rasa: FakeRasa) -> None:
    post(client, "eerste vraag")
    post(client, "tweede vraag")
    post(client, "andere chat", session="b" * 32)
    senders = [p["sender"] for p in fake_rasa.payloads]
    assert senders[0] == senders[1] != senders[2]


def test_profile_is_left_to_the_action_server_when_not_configured(
        settings: Settings, fake_rasa: FakeRasa, make_client: Callable[[FastAPI], TestClient]) -> None:
    client = make_client(make_app(replace(settings, profile=None), fake_rasa))
    assert post(client, "hallo").status_code == 200
    metadata = fake_rasa.payloads[0]["metadata"]
    assert "profile" not in metadata and metadata["channel"] == "web"


def test_unknown_profile_is_refused_at_start(settings: Settings) -> None:
    with pytest.raises(ValueError, match="bestaat-niet"):
        make_app(replace(settings, profile="bestaat-niet"))


def test_settings_read_rasa_url_and_profile(chat_env: Path) -> None:
    settings = Settings.from_env({"INTEGRITY_KEY_DIR": str(chat_env), "RASA_URL": "http://rasa:5005",
                                  "INTEGRITY_PROFILE": PROFILE})
    assert (settings.rasa_url, settings.profile) == ("http://rasa:5005", PROFILE)
    defaults = Settings.from_env({"INTEGRITY_KEY_DIR": str(chat_env)})
    assert (defaults.rasa_url, defaults.profile) == ("http://127.0.0.1:5005", None)


def test_bare_payloads_pass_but_entities_cannot_be_injected(client: TestClient, fake_rasa: FakeRasa) -> None:
    post(client, "/kies_formeel")
    post(client, '/kies_formeel{"actor": "audit"}')
    post(client, "/ hallo")
    assert [p["message"] for p in fake_rasa.payloads] == [
        "/kies_formeel", 'kies_formeel{"actor": "audit"}', "hallo"]


def test_line_breaks_are_kept_and_control_characters_dropped(client: TestClient, fake_rasa: FakeRasa) -> None:
    post(client, "eerste regel\r\ntweede\x00 regel\x1b")
    assert fake_rasa.payloads[0]["message"] == "eerste regel\ntweede regel"


def test_the_answer_carries_a_fresh_token_that_works(client: TestClient) -> None:
    first = post(client, "hallo")
    token = first.json()["token"]
    assert post(client, "nog een vraag", token=token).status_code == 200


# --- Rasa down or slow -----------------------------------------------------------------------------------------


def test_rasa_down_gives_503_with_the_dutch_message(
        settings: Settings, make_client: Callable[[FastAPI], TestClient], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    client = make_client(make_app(replace(settings, rasa_url=closed)))
    response = post(client, SECRET_TEXT)
    assert response.status_code == 503
    assert response.json() == {"error": TEXTS["unavailable"]}
    assert "bel 112" in response.json()["error"]
    assert "ConnectError" in caplog.text
    assert SECRET_TEXT not in caplog.text


@pytest.mark.parametrize("failure", [
    httpx.ReadTimeout("slow"),
    lambda payload: httpx.Response(500, json={"error": "boom"}),
    lambda payload: httpx.Response(200, text="<html>proxy error</html>"),
    lambda payload: httpx.Response(200, json=[]),  # Rasa answers nothing when the action server is down
], ids=["timeout", "http-500", "not-json", "no-messages"])
def test_slow_broken_or_silent_rasa_gives_503(client: TestClient, fake_rasa: FakeRasa, failure: object) -> None:
    fake_rasa.reply = failure  # type: ignore[assignment]
    response = post(client, "hallo")
    assert response.status_code == 503
    assert response.json() == {"error": TEXTS["unavailable"]}


# --- rate limits -----------------------------------------------------------------------------------------------


def test_rate_limit_per_session(client: TestClient, fake_rasa: FakeRasa) -> None:
    token = page_token(client)
    for number in range(5):
        assert post(client, f"vraag {number}", token=token).status_code == 200
    limited = post(client, "nog een", token=token)
    assert limited.status_code == 429
    assert limited.json() == {"error": TEXTS["rate_limited"]}
    assert limited.headers["retry-after"] == "60"
    assert len(fake_rasa.payloads) == 5
    assert post(client, "andere chat", session="c" * 20, token=token).status_code == 200


def test_rate_limit_per_client_address(client: TestClient) -> None:
    token = page_token(client)
    for number in range(8):
        assert post(client, "vraag", session=f"sessie{number:02d}abcdefghij", token=token).status_code == 200
    limited = post(client, "vraag", session="nog-een-andere-sessie", token=token)
    assert limited.status_code == 429
    assert limited.json() == {"error": TEXTS["rate_limited"]}


# --- validation ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("session", "text", "expected"), [
    ("kort", "hallo", "niet goed gestart"),
    ("x" * 65, "hallo", "niet goed gestart"),
    ("met spaties in de sessie", "hallo", "niet goed gestart"),
    ("<script>alert(1)</script>", "hallo", "niet goed gestart"),
    (SESSION, "   \n ", "leeg"),
    (SESSION, "", "leeg"),
    (SESSION, "a" * (TEXT_MAX + 1), f"te lang ({TEXT_MAX + 1} tekens)"),
])
def test_invalid_messages_get_422_with_a_dutch_reason(client: TestClient, fake_rasa: FakeRasa, session: str,
                                                       text: str, expected: str) -> None:
    response = post(client, text, session=session)
    assert response.status_code == 422
    assert expected in response.json()["error"]
    assert fake_rasa.payloads == []


def test_longest_allowed_message_passes(client: TestClient, fake_rasa: FakeRasa) -> None:
    assert post(client, "é" * TEXT_MAX).status_code == 200


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"session": "' + SESSION.encode() + b'"}',
                                  b'{"session": 12345678901234567, "text": "hallo"}', b'{"text": 5}'])
def test_malformed_bodies_get_422(client: TestClient, fake_rasa: FakeRasa, body: bytes) -> None:
    response = client.post("/chat/berichten", content=body,
                           headers={"X-CSRF-Token": page_token(client), "Content-Type": "application/json"})
    assert response.status_code == 422
    assert "error" in response.json()
    assert fake_rasa.payloads == []


def test_other_content_types_and_huge_bodies_are_refused(client: TestClient) -> None:
    token = page_token(client)
    form = client.post("/chat/berichten", data={"session": SESSION, "text": "hallo"}, headers={"X-CSRF-Token": token})
    assert form.status_code == 415
    huge = client.post("/chat/berichten", content=b'{"text": "' + b"a" * 70_000 + b'"}',
                       headers={"X-CSRF-Token": token, "Content-Type": "application/json"})
    assert huge.status_code == 413
    assert "te lang" in huge.json()["error"]


# --- CSRF ------------------------------------------------------------------------------------------------------


def test_missing_forged_or_foreign_tokens_are_refused(client: TestClient, fake_rasa: FakeRasa,
                                                      settings: Settings) -> None:
    missing = client.post("/chat/berichten", json={"session": SESSION, "text": "hallo"})
    assert missing.status_code == 403
    assert "Herlaad de pagina" in missing.json()["error"]
    assert post(client, "hallo", token="c1.1.abc.def").status_code == 403
    follow_up_form_token = Tokens(settings.secret, csrf_ttl=3600, report_ttl=900).csrf("opvolgen")
    assert post(client, "hallo", token=follow_up_form_token).status_code == 403
    other_secret = Tokens(b"x" * 32, csrf_ttl=3600, report_ttl=900).csrf("chat")
    assert post(client, "hallo", token=other_secret).status_code == 403
    expired = Tokens(settings.secret, csrf_ttl=3600, report_ttl=900).csrf("chat", now=1_000_000)
    assert post(client, "hallo", token=expired).status_code == 403
    assert fake_rasa.payloads == []


def test_cross_site_posts_are_refused_even_with_a_token(client: TestClient, fake_rasa: FakeRasa) -> None:
    assert post(client, "hallo", **{"Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert post(client, "hallo", **{"Sec-Fetch-Site": "same-origin"}).status_code == 200
    assert len(fake_rasa.payloads) == 1


def test_get_on_the_message_endpoint_is_not_allowed(client: TestClient) -> None:
    assert client.get("/chat/berichten").status_code == 405


# --- privacy ---------------------------------------------------------------------------------------------------


def test_no_message_text_session_id_or_address_in_the_logs(
        client: TestClient, fake_rasa: FakeRasa, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake_rasa.reply = [{"recipient_id": "x", "text": "Antwoord over " + SECRET_TEXT}]
    assert post(client, SECRET_TEXT).status_code == 200
    token = page_token(client)
    post(client, SECRET_TEXT, session="kort", token=token)  # 422
    post(client, SECRET_TEXT + "x" * TEXT_MAX, token=token)  # 422
    post(client, SECRET_TEXT, token="vals")  # 403
    fake_rasa.reply = httpx.ConnectError("down")
    assert post(client, SECRET_TEXT, token=token).status_code == 503
    assert "Web chat refused with 422" in caplog.text and "Web chat: " in caplog.text
    for secret in (SECRET_TEXT, "Jan Peeters", SESSION, "testclient"):
        assert secret not in caplog.text, secret


def test_no_cookies_on_any_chat_response(client: TestClient) -> None:
    # check_response (conftest) asserts no Set-Cookie on every response; this also sends one in.
    client.cookies.set("tracking", "1")
    response = post(client, "hallo")
    assert response.status_code == 200
    assert "set-cookie" not in response.headers
