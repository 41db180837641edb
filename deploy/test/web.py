"""The web through nginx as a person uses it: the web chat, the back office and the reporter's follow-up page."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

import httpx
from stack import ACCOUNT, BASE, SECRETS, DeployTestError, check, lock_keys

CODE = re.compile(r"\b\d{4} \d{4} \d{4} \d{4}\b")
REFERENCE = re.compile(r"M-\d{4}-[0-9A-Z]+")
TOKEN = re.compile(r'data-token="([^"]+)"')
HIDDEN = r'<input type="hidden" name="{name}" value="([^"]+)">'


def client() -> httpx.Client:
    return httpx.Client(base_url=BASE, verify=str(SECRETS / "tls_certificate"), timeout=90, trust_env=False)


def joined(messages: list[dict[str, Any]]) -> str:
    parts = []
    for message in messages:
        parts.append(message.get("text", ""))
        parts.extend(f"[{b['title']} {b['payload']}]" for b in message.get("buttons", []))
    return "\n".join(parts)


RESENT: list[str] = []  # every message WebChat.say had to send again


class WebChat:
    """One browser tab of the web chat at https://.../chat."""

    def __init__(self, http: httpx.Client) -> None:
        self.http, self.session = http, secrets.token_urlsafe(24)
        page = http.get("/chat")
        check(page.status_code == 200, f"GET /chat answered {page.status_code}")
        match = TOKEN.search(page.text)
        check(match, "no CSRF token on /chat")
        assert match
        self.token = match.group(1)

    def send(self, text: str) -> tuple[int, dict[str, Any]]:
        response = self.http.post("/chat/berichten", json={"session": self.session, "text": text},
                                  headers={"X-CSRF-Token": self.token})
        body = response.json()
        self.token = body.get("token", self.token)
        return response.status_code, body

    def say(self, text: str) -> str:
        """Send and expect an answer. A 503 ("Probeer het zo opnieuw") is resent after 5 s, as a person would, at
        most twice, and recorded in RESENT: Debian's aardvark-dns drops lookups while it reloads on any container
        start or stop (docs/deployment.md), which can fail a message sent in that moment."""
        for attempt in range(3):
            status, body = self.send(text)
            if status != 503 or attempt == 2:
                break
            RESENT.append(f"{time.strftime('%H:%M:%S')} {text[:40]!r}: 503, resent")
            time.sleep(5)
        check(status == 200, f"web chat answered {status} to {text!r}: {body}")
        return joined(body["messages"])

    def say_until_answered(self, text: str, notes: list[str], tries: int = 4, pause: float = 10) -> str:
        """What a person does when the chat says it is unreachable ("Probeer het zo opnieuw"): send it again."""
        for attempt in range(1, tries + 1):
            status, body = self.send(text)
            if status == 200:
                return joined(body["messages"])
            notes.append(f"{text!r}: HTTP {status} on try {attempt}; {lock_keys()}")
            time.sleep(pause)
        raise DeployTestError(f"no answer to {text!r} after {tries} tries: {notes}")


REPORT_ANSWERS = ["Fraude en corruptie", "Mijn chef laat valse facturen betalen. {marker}", "sinds januari",
                  "afdeling aankoop", "Overslaan", "Overslaan", "Anoniem blijven", "Audit Vlaanderen"]


def fill_in_report(chat: WebChat, marker: str) -> None:
    check("Waarover gaat je melding" in chat.say("/melding_starten"), "the report form did not start")
    reply = ""
    for answer in REPORT_ANSWERS:
        reply = chat.say(answer.format(marker=marker))
    check(marker in reply and "Klopt alles" in reply, f"no summary with the report text: {reply[:300]}")


def confirmed(reply: str) -> tuple[str, str] | None:
    code, reference = CODE.search(reply), REFERENCE.search(reply)
    return (code.group(), reference.group()) if code and reference else None


class BackOffice:
    """A coordinator in the back office through nginx: logged in, key unlocked."""

    def __init__(self) -> None:
        self.http = client()
        for attempt in range(3):  # a person logs in again after an error page (e.g. just after a database restart)
            page = self.http.get("/beheer/aanmelden")
            response = self.http.post("/beheer/aanmelden", data={
                "csrf": hidden(page.text, "csrf", "/beheer/aanmelden"), "gebruiker": ACCOUNT.staff_user,
                "wachtwoord": ACCOUNT.staff_password, "volgende": ""})
            if response.status_code < 500 or attempt == 2:
                break
            RESENT.append(f"{time.strftime('%H:%M:%S')} back office login: {response.status_code}, tried again")
            time.sleep(10)
        check(response.status_code == 303, f"login answered {response.status_code}")

    def references(self) -> list[str]:
        page = self.http.get("/beheer/meldingen")
        check(page.status_code == 200, f"/beheer/meldingen answered {page.status_code}")
        return sorted(set(re.findall(r'href="/beheer/meldingen/(M-[0-9A-Z-]+)"', page.text)))

    def open(self, reference: str) -> str:
        page = self.http.get(f"/beheer/meldingen/{reference}")
        check(page.status_code == 200, f"opening {reference} answered {page.status_code}")
        return page.text

    def reports_with(self, marker: str) -> list[str]:
        return [ref for ref in self.references() if marker in self.open(ref)]


def hidden(html: str, name: str, action: str | None = None) -> str:
    """A hidden field; with `action`, of the form posting there (pages also have the logout form)."""
    if action:
        parts = html.split(f'action="{action}"')
        check(len(parts) > 1, f"no form posting to {action}")
        html = parts[1].split("</form>")[0]
    match = re.search(HIDDEN.format(name=name), html)
    check(match, f"no hidden field {name!r} in the page")
    assert match
    return match.group(1)


def follow_up(code: str) -> str:
    """The reference the follow-up page shows for `code`."""
    with client() as http:
        form = http.get("/opvolgen")
        page = http.post("/opvolgen", data={"csrf": hidden(form.text, "csrf"), "code": code})
        check(page.status_code == 200, f"follow-up with the receipt code answered {page.status_code}")
        match = re.search(r"<h1>Je melding (M-[0-9A-Z-]+)</h1>", page.text)
        check(match, "the follow-up page does not show the report")
        assert match
        return match.group(1)

