"""The internal services refuse callers other than our own (issue 13, item 5): the action server wants the Rasa
server's token, the Rasa REST channel refuses messages over the channels' limit.

Runs against the real servers of `make run` (`servers`: devtools.stack.running_stack), so it also shows that the
stack hands the token to both and that Rasa sends it (every conversation test would fail otherwise).
"""

from __future__ import annotations

import sqlite3
import time

import httpx
import pytest

from actions import internal_token
from devtools.stack import Stack
from tests.conftest import ReportStore

FINISH_CALL = {  # what the security test posted: a report with made-up slots, straight to the action server
    "next_action": "action_report_finish", "sender_id": "made-up-sender", "version": "3.6.21", "domain": {},
    "tracker": {"sender_id": "made-up-sender", "slots": {"report_summary": "verzonnen melding"}, "events": [],
                "latest_message": {}, "paused": False, "followup_action": None, "active_loop": {},
                "latest_action_name": None},
}


def report_count(store: ReportStore) -> int:
    with sqlite3.connect(store.database_file) as connection:
        return int(connection.execute("SELECT count(*) FROM reports").fetchone()[0])


def log_has(stack: Stack, text: str, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in stack.actions_log.read_text(errors="replace"):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("headers, reason", [
    ({}, "no token"),
    ({"Authorization": "Bearer " + "x" * 43}, "a wrong token"),
    ({"Authorization": "Basic " + "x" * 43}, "a wrong token"),
])
def test_action_server_refuses_calls_without_the_rasa_token(servers: Stack, report_store: ReportStore,
                                                            headers: dict[str, str], reason: str) -> None:
    before = report_count(report_store)
    for path in ("/webhook", "/actions"):
        method = "POST" if path == "/webhook" else "GET"
        response = httpx.request(method, servers.actions_url + path, json=FINISH_CALL if method == "POST" else None,
                                 headers=headers, timeout=10)
        assert response.status_code == 401, response.text
        assert response.json() == {"error": "unauthorized"}
        assert log_has(servers, f"Refused a call to {method} {path} from 127.0.0.1: {reason}")
    assert report_count(report_store) == before


def test_action_server_answers_the_rasa_token_and_health_without(servers: Stack) -> None:
    assert servers.action_token
    good = {"Authorization": internal_token.header_value(servers.action_token)}
    listed = httpx.get(servers.actions_url + "/actions", headers=good, timeout=10)
    assert listed.status_code == 200 and any(item["name"] == "action_report_finish" for item in listed.json())
    assert httpx.get(servers.actions_url + "/health", timeout=10).status_code == 200
    # and Rasa itself sends it: a conversation turn runs action_route on the action server
    assert servers.say("token-check", "hallo")


def test_token_comparison_and_configuration(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    token = internal_token.new_token()
    assert internal_token.matches(f"Bearer {token}", token)
    assert not internal_token.matches(f"Bearer {token[:-1]}", token)
    assert not internal_token.matches(None, token)
    assert not internal_token.matches(f"bearer {token}", token)
    with pytest.raises(internal_token.TokenMissing, match="ACTION_SERVER_TOKEN"):
        internal_token.from_env({})
    with pytest.raises(internal_token.TokenMissing, match="too short"):
        internal_token.from_env({"ACTION_SERVER_TOKEN": "short"})
    secret_file = tmp_path / "action_server_token"
    secret_file.write_text(token + "\n")
    assert internal_token.from_env({"ACTION_SERVER_TOKEN_FILE": str(secret_file)}) == token
    created = internal_token.load_or_create(tmp_path / "var" / "action_server.token")
    assert (tmp_path / "var" / "action_server.token").stat().st_mode & 0o777 == 0o600
    assert internal_token.load_or_create(tmp_path / "var" / "action_server.token") == created


def test_rest_channel_refuses_messages_over_the_channel_limit(servers: Stack) -> None:
    too_long = httpx.post(servers.webhook, json={"sender": "size-check", "message": "a" * 4001}, timeout=30)
    assert too_long.status_code == 413
    started = time.monotonic()
    huge = httpx.post(servers.webhook, json={"sender": "size-check", "message": "a " * 500_000}, timeout=30)
    assert huge.status_code == 413 and time.monotonic() - started < 5
    not_text = httpx.post(servers.webhook, json={"sender": "size-check", "message": {"a": 1}}, timeout=30)
    assert not_text.status_code == 400
    at_limit = httpx.post(servers.webhook, json={"sender": "size-check", "message": "geschenk " * 444}, timeout=60)
    assert at_limit.status_code == 200 and at_limit.json()
