"""Shared by the browser tests of accessibility and the idle logout: a web app with data, a fake Rasa, pages.

`running_site(base, **env)` creates a migrated SQLite database with a coordinator (who has seen their recovery
key), an admin and one report sealed for that coordinator, then two more coordinators without a key for it: a
colleague who has not logged in yet (first login: the recovery key page; the case "wacht op toegang") and one whose
password an admin reset (login goes to the recovery form, /beheer/herstel). It starts a small fake Rasa REST
channel (a thread on a free port, so the web chat needs no Rasa server) and `python -m backoffice` with `env` added
(e.g. a shorter idle time), and yields a `Site`. `open_pages(browser)` makes fresh contexts (CSP bypassed, so that
axe can be injected) and fails on console errors other than the expected 4xx answers.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from devtools.stack import rasa_env
from integrity.reports import db, schemas, submission
from integrity.reports.cli import upgrade
from integrity.staff import accounts, user_keys
from integrity.staff.models import Role
from tests.webchat.browser import web_app_process

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

TIMEOUT_MS = 20_000
PASSWORD = "een lang wachtwoord 42"
COORDINATOR, ADMIN = "coordinator", "beheerder"
COLLEAGUE, COLLEAGUE_NAME = "collega", "Carla Collega"  # no key for the report, never logged in
RESET_USER = "hersteller"  # password reset by an admin: the key awaits the recovery key
WHAT_HAPPENED = "Een collega van de aankoopdienst laat zich door Kluisbouw NV op reis sturen."
BOT_TEXT = "Hallo, ik ben de integriteitsassistent. Waarover gaat je vraag?"


@dataclass(frozen=True)
class Site:
    url: str
    reference: str
    code: str
    database_url: str


class FakeRasa(BaseHTTPRequestHandler):
    """Rasa's REST channel: one answer with two quick replies, after a short pause (so 'busy' can be seen)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        time.sleep(0.3)
        body = json.dumps([{"recipient_id": "x", "text": BOT_TEXT, "buttons": [
            {"title": "Een melding maken", "payload": "/melden"}, {"title": "Ik heb een vraag", "payload": "/vraag"}]}])
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode("utf-8"))

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def fake_rasa() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeRasa)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def web_app(log: Path, env: dict[str, str], secrets: tuple[str, ...]) -> Iterator[str]:
    child_env = {name: value for name, value in rasa_env(**env).items()
                 if name not in ("BACKOFFICE_SECRET", "INTEGRITY_KEY_PASSPHRASE")}
    with web_app_process(log, child_env, "/beheer/aanmelden") as url:
        yield url
    text = log.read_text(encoding="utf-8", errors="replace")
    for secret in (WHAT_HAPPENED, PASSWORD, *secrets):
        assert secret not in text, f"the web app logged report content or a secret ({log})"


@contextmanager
def running_site(base: Path, *, secrets: tuple[str, ...] = (), **extra_env: str) -> Iterator[Site]:
    """The data and the web app (with `extra_env`); `secrets` must never appear in its log."""
    env = {"DATABASE_URL": f"sqlite:///{base / 'reports.db'}", "INTEGRITY_KEY_DIR": str(base / "keys"),
           "INTEGRITY_ARGON2_PROFILE": "test", "INTEGRITY_PROFILE": "vlaamse-overheid"}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        for name in ("BACKOFFICE_SECRET", "INTEGRITY_KEY_PASSPHRASE"):
            patch.delenv(name, raising=False)
        engine = db.make_engine(env["DATABASE_URL"])
        upgrade(engine)
        with db.make_sessionmaker(engine).begin() as session:
            coordinator = accounts.create_user(session, COORDINATOR, "Chris Coördinator", Role.COORDINATOR, PASSWORD,
                                               profile_id="vlaamse-overheid")
            private = user_keys.unlock(coordinator, PASSWORD)
            assert private is not None
            user_keys.new_recovery_key(coordinator, private)  # seen already: their logins go straight on
            accounts.create_user(session, ADMIN, "Bea Beheerder", Role.ADMIN, PASSWORD, profile_id="vlaamse-overheid")
            draft = schemas.ReportDraft(category="geschenken", what_happened=WHAT_HAPPENED, when="in mei",
                                        profile_id="vlaamse-overheid", channel="web",
                                        preferred_route="audit_vlaanderen")
            submitted = submission.submit_report(session, draft)  # sealed for the coordinator only
            accounts.create_user(session, COLLEAGUE, COLLEAGUE_NAME, Role.COORDINATOR, PASSWORD,
                                 profile_id="vlaamse-overheid")
            reset = accounts.create_user(session, RESET_USER, "Ruben Reset", Role.COORDINATOR, "een ander wachtwoord 7",
                                         profile_id="vlaamse-overheid")
            accounts.set_password(session, reset, PASSWORD)
        engine.dispose()
    with fake_rasa() as rasa_url, web_app(base / "web.log", {**env, "RASA_URL": rasa_url, **extra_env}, secrets) as url:
        yield Site(url, submitted.reference, submitted.receipt_code, env["DATABASE_URL"])


@contextmanager
def open_pages(browser: Browser) -> Iterator[Callable[..., Page]]:
    opened: list[tuple[BrowserContext, list[str]]] = []

    def make(width: int = 1280, height: int = 900) -> Page:
        context = browser.new_context(locale="nl-BE", bypass_csp=True, viewport={"width": width, "height": height})
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        problems: list[str] = []
        page.on("console", lambda message: problems.append(f"{message.text} ({message.location.get('url')})")
                if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico")
                else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        opened.append((context, problems))
        return page

    yield make
    for context, problems in opened:
        context.close()
        # Refused submissions answer 4xx on purpose; the browser logs those. Nothing else may fail.
        unexpected = [p for p in problems if "status of 40" not in p]
        assert unexpected == [], unexpected


def log_in(page: Page, url: str, username: str, *, next_path: str = "") -> None:
    from playwright.sync_api import expect

    page.goto(f"{url}/beheer/aanmelden" + (f"?volgende={next_path}" if next_path else ""))
    page.get_by_label("Gebruikersnaam").fill(username)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Aanmelden").click()
    expect(page.get_by_role("link", name="Mijn account")).to_be_visible()


def focused_id(page: Page) -> str:
    return str(page.evaluate("() => document.activeElement ? document.activeElement.id : ''"))


def sideways_scroll(page: Page) -> int:
    """How many CSS pixels the page is wider than the window (0: no horizontal scroll)."""
    return int(page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth"))
