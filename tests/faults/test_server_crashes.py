"""Servers killed (SIGKILL) during a report, through the real web chat, Rasa, action server and PostgreSQL.

What every test checks: a receipt code the user was shown opens its report, no report is stored twice, and
while a server is down the channel answers with its Dutch text instead of an error or silence.
"""

from __future__ import annotations

import asyncio
import re
import threading
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from backoffice.app import create_app
from backoffice.settings import Settings
from bot.rasa_client import RasaClient, RasaUnavailable
from bot.texts import channel_texts
from tests.faults.conftest import WAIT, FaultStack, joined, sender

pytestmark = pytest.mark.rasa
CODE = re.compile(r"\b\d{4} \d{4} \d{4} \d{4}\b")
REFERENCE = re.compile(r"M-\d{4}-[0-9A-Z]+")
_TOKEN = re.compile(r'data-token="([^"]+)"')


def answers(marker: str) -> list[str]:
    return ["Fraude en corruptie", f"Mijn chef laat valse facturen betalen. {marker}", "sinds januari",
            "afdeling aankoop", "Overslaan", "Overslaan", "Anoniem blijven", "Audit Vlaanderen"]


class WebChat:
    """One browser tab of the web chat (/chat), talking to the fault stack's real Rasa server."""

    def __init__(self, client: TestClient, session: str) -> None:
        self.client, self.session = client, session
        match = _TOKEN.search(client.get("/chat").text)
        assert match
        self.token = match.group(1)

    def send(self, text: str) -> tuple[int, dict[str, Any]]:
        response = self.client.post("/chat/berichten", json={"session": self.session, "text": text},
                                    headers={"X-CSRF-Token": self.token})
        body = response.json()
        self.token = body.get("token", self.token)
        return response.status_code, body

    def say(self, text: str) -> str:
        status, body = self.send(text)
        assert status == 200, body
        return joined(body["messages"])

    def down(self, text: str) -> None:
        """While a server is down: the Dutch 'not reachable' text (503), not an error page or an empty answer."""
        status, body = self.send(text)
        assert status == 503 and body["error"] == channel_texts()["unavailable"], body
        assert "Probeer het zo opnieuw" in body["error"]


@pytest.fixture
def web(faults: FaultStack) -> Any:
    settings = replace(Settings.from_env(), purge=False, rasa_url=faults.stack.rasa_url, chat_session_limit=200,
                       chat_ip_limit=200)
    with TestClient(create_app(settings)) as client:
        yield lambda: WebChat(client, sender())


async def ask_rasa(url: str) -> None:
    client = RasaClient(url, timeout=10)
    try:
        await client.send(sender(), "hallo")
    finally:
        await client.aclose()


def fill_in(chat: WebChat, marker: str) -> str:
    chat.say("/melding_starten")
    reply = ""
    for text in answers(marker):
        reply = chat.say(text)
    assert marker in reply and "Klopt alles" in reply, reply
    return reply


def test_action_server_killed_mid_form_then_the_form_goes_on(faults: FaultStack, web: Any) -> None:
    chat = web()
    chat.say("/melding_starten")
    chat.say("Fraude en corruptie")
    assert "Wanneer" in chat.say("Mijn diensthoofd gunt opdrachten aan zijn broer. KILL-A1")
    faults.stack.services["actions"].kill()
    chat.down("sinds januari")
    faults.stack.restart("actions", kill=True)
    assert "Waar gebeurde het" in chat.say("sinds januari"), "the answer is asked again and taken"
    for text in answers("KILL-A1")[3:]:
        reply = chat.say(text)
    assert "KILL-A1" in reply and "sinds januari" in reply
    done = chat.say("Verzenden")
    code, reference = CODE.search(done).group(), REFERENCE.search(done).group()
    assert faults.opens(code) == reference
    [stored] = faults.reports_with("KILL-A1")
    assert stored["when"] == "sinds januari" and stored["where"] == "afdeling aankoop"


def test_action_server_killed_after_storing_before_replying_stores_one_report(faults: FaultStack,
                                                                              web: Any) -> None:
    """The crash the submission id is for: the report is stored, its code never reaches the user, who sends again."""
    chat = web()
    fill_in(chat, "KILL-A2")
    faults.proxy.drop, faults.proxy.on_drop = True, faults.stack.services["actions"].kill
    chat.down("Verzenden")
    assert faults.proxy.answered.wait(WAIT)
    [first] = faults.reports_with("KILL-A2")  # stored, but its code was never shown
    faults.proxy.reset()
    faults.stack.restart("actions", kill=True)
    # Rasa's rules do not run the failed action again on "Verzenden"; starting the report again shows the kept
    # answers, and sending them re-uses the submission id.
    again = chat.say("/melding_starten")
    assert "KILL-A2" in again and "afdeling aankoop" in again and "Klopt alles" in again, again
    done = chat.say("Verzenden")
    assert "ontvangstcode" in done, done
    code, reference = CODE.search(done).group(), REFERENCE.search(done).group()
    assert reference == first["reference"] and len(faults.reports_with("KILL-A2")) == 1, "no second report"
    assert faults.opens(code) == reference
    fresh = chat.say("/melding_starten")
    assert "Waarover gaat je melding" in fresh and "KILL-A2" not in fresh, "the next report starts empty"


def test_postgresql_down_confirms_nothing_and_a_retry_stores_once(faults: FaultStack, web: Any) -> None:
    chat = web()
    fill_in(chat, "PG-DOWN-3")
    faults.stop_postgres()
    failed = chat.say("Verzenden")
    assert "NIET verzonden" in failed and "Klopt alles" in failed and "PG-DOWN-3" in failed, failed
    assert not CODE.search(failed) and "Je ontvangstcode is" not in failed
    faults.start_postgres()
    assert faults.reports_with("PG-DOWN-3") == []
    done = chat.say("Verzenden")
    code, reference = CODE.search(done).group(), REFERENCE.search(done).group()
    assert faults.opens(code) == reference and len(faults.reports_with("PG-DOWN-3")) == 1


def test_rasa_killed_while_a_report_is_being_stored(faults: FaultStack, web: Any) -> None:
    """Rasa dies while the action server stores the report. Rasa keeps conversations in memory, so the user has to
    start again; the report stored meanwhile was never confirmed to them (its code was never shown)."""
    chat = web()
    fill_in(chat, "KILL-R4")
    before = faults.count()
    faults.proxy.hold = True
    result: dict[str, tuple[int, dict[str, Any]]] = {}
    thread = threading.Thread(target=lambda: result.setdefault("sent", chat.send("Verzenden")))
    thread.start()
    try:
        assert faults.proxy.arrived.wait(WAIT), "the submission reached the action server"
        faults.stack.services["rasa"].kill()
    finally:
        faults.proxy.release.set()
        thread.join(WAIT)
    status, body = result["sent"]
    assert status == 503 and body["error"] == channel_texts()["unavailable"]
    assert faults.proxy.answered.wait(WAIT)
    assert faults.count() == before + 1 and len(faults.reports_with("KILL-R4")) == 1
    chat.down("Verzenden")
    with pytest.raises(RasaUnavailable):  # what the Telegram gateway gets: it then sends the same Dutch text
        asyncio.run(ask_rasa(faults.stack.rasa_url))
    faults.proxy.reset()
    faults.stack.restart("rasa", kill=True, timeout=180)

    assert "Waarover gaat je melding" in chat.say("/melding_starten"), "after the restart the user starts again"
    for text in answers("KILL-R4-AGAIN"):
        chat.say(text)
    done = chat.say("Verzenden")
    code, reference = CODE.search(done).group(), REFERENCE.search(done).group()
    assert faults.opens(code) == reference
