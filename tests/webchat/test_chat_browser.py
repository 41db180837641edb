"""The web chat in a real browser (Debian's Chromium driven by Playwright) against the real Rasa and action server.

Screenshots go to `test-artifacts/` (git-ignored). Playwright never downloads a browser here: it launches
/usr/bin/chromium (`make test-deps` installs it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from devtools.stack import Stack, free_port, rasa_env
from tests.conftest import ReportStore
from tests.webchat.browser import ARTIFACTS, launched_chromium, require_browser, web_app_process

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

pytestmark = pytest.mark.rasa

TIMEOUT_MS = 60_000  # the first answers of a freshly started Rasa can take a few seconds
QUESTION = "ik word gepest door mijn collega's"
# Records what the busy indicator shows (it is usually too quick to catch with a screenshot).
BUSY_WATCH = """() => {
    const busy = document.getElementById("bezig");
    window.busySeen = [];
    new MutationObserver(() => window.busySeen.push(busy.textContent))
        .observe(busy, {childList: true, characterData: true, subtree: true});
}"""


@pytest.fixture(scope="module", autouse=True)
def browser_present() -> None:
    """Fail before the slow servers start when the browser or Playwright is missing."""
    require_browser()


@contextmanager
def web_app(log_dir: Path, env: dict[str, str], rasa_url: str) -> Iterator[str]:
    """`python -m backoffice` on a free port, talking to `rasa_url`; yields its base URL."""
    with web_app_process(log_dir / f"web-{free_port()}.log", rasa_env(**env, RASA_URL=rasa_url), "/chat") as url:
        yield url


@pytest.fixture(scope="module")
def web_url(servers: Stack, report_store: ReportStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with web_app(tmp_path_factory.mktemp("web-logs"), report_store.env, servers.rasa_url) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched_chromium(TIMEOUT_MS) as launched:
        yield launched


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Callable[..., tuple[Page, list[str]]]]:
    """A fresh context and page; checks afterwards that no cookie exists and the console had no error."""
    opened: list[tuple[BrowserContext, list[str]]] = []

    def make(**options: Any) -> tuple[Page, list[str]]:
        context = browser.new_context(locale="nl-BE", **options)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        problems: list[str] = []
        page.on("console", lambda message: problems.append(f"{message.text} ({message.location.get('url')})")
                if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico")
                else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        opened.append((context, problems))
        return page, problems

    yield make
    for context, _ in opened:
        cookies = context.cookies()
        context.close()
        assert cookies == [], f"the browser holds cookies: {[c['name'] for c in cookies]}"


def bot_messages(page: Page) -> Any:
    return page.locator("#gesprek .chat-message.from-bot")


def focused(page: Page) -> dict[str, str]:
    return page.evaluate("() => ({tag: document.activeElement.tagName, id: document.activeElement.id, "
                         "text: document.activeElement.textContent.trim()})")


def test_ask_click_a_quick_reply_and_see_the_actor(web_url: str, new_page: Callable[..., Any]) -> None:
    from playwright.sync_api import expect

    page, problems = new_page(viewport={"width": 1000, "height": 900})
    page.goto(f"{web_url}/chat")
    log = page.get_by_role("log")
    expect(log).to_contain_text("integriteitsassistent")
    expect(page.get_by_text("Bij nood: bel 112.")).to_be_visible()
    expect(page.get_by_text("vraag niet naar je naam")).to_be_visible()
    before = bot_messages(page).count()
    page.evaluate(BUSY_WATCH)

    message = page.get_by_label("Je bericht")
    message.fill(QUESTION)
    message.press("Enter")
    expect(page.locator("#gesprek .chat-message.from-user")).to_have_text([f"Jij{QUESTION}"])
    expect(bot_messages(page).nth(before)).to_be_visible()
    expect(log).to_contain_text("vertrouwenspersoon")
    formal = page.get_by_role("button", name="Formele procedure")
    expect(formal).to_be_enabled()
    expect(page.get_by_role("button", name="Eerst informeel praten")).to_be_enabled()
    expect(message).to_have_value("")
    assert "De assistent schrijft een antwoord…" in page.evaluate("() => window.busySeen")
    page.screenshot(path=ARTIFACTS / "chat-1-vraag.png", full_page=True)

    answered = bot_messages(page).count()
    formal.click()
    expect(page.locator("#gesprek .chat-message.from-user").last).to_have_text("JijFormele procedure")
    expect(bot_messages(page).nth(answered)).to_be_visible()
    expect(bot_messages(page).nth(answered)).to_contain_text("formeel verzoek")
    expect(log).to_contain_text("Je kan terecht bij de preventieadviseur")
    expect(formal).to_be_disabled()  # old quick replies cannot be sent twice
    expect(page.locator("#bezig")).to_have_text("")
    page.screenshot(path=ARTIFACTS / "chat-2-formele-procedure.png", full_page=True)
    assert problems == []


def test_keyboard_only_with_line_breaks(web_url: str, new_page: Callable[..., Any]) -> None:
    from playwright.sync_api import expect

    page, problems = new_page(viewport={"width": 1000, "height": 900})
    page.goto(f"{web_url}/chat")
    for _ in range(10):  # Tab from the top of the page to the message box
        page.keyboard.press("Tab")
        if focused(page)["id"] == "bericht":
            break
    assert focused(page)["id"] == "bericht", "the message box cannot be reached with Tab"
    page.keyboard.type("ik word gepest")
    page.keyboard.press("Shift+Enter")  # a new line, not sent
    page.keyboard.type("door mijn collega's")
    expect(page.get_by_label("Je bericht")).to_have_value("ik word gepest\ndoor mijn collega's")
    page.keyboard.press("Enter")
    user = page.locator("#gesprek .chat-message.from-user .chat-text")
    expect(user).to_have_text(["ik word gepest\ndoor mijn collega's"])
    informal = page.get_by_role("button", name="Eerst informeel praten")
    expect(informal).to_be_enabled()
    assert focused(page)["id"] == "bericht"  # typing goes on where it was

    page.focus("#inhoud")  # back to the top of the content (as after the skip link), then Tab forward
    visited = []
    for _ in range(10):
        page.keyboard.press("Tab")
        visited.append(focused(page)["id"] or focused(page)["text"])
        if focused(page)["text"] == "Eerst informeel praten":
            break
    assert focused(page) == {"tag": "BUTTON", "id": "", "text": "Eerst informeel praten"}, visited
    assert visited[0] == "gesprek"  # the scrollable log itself is reachable too
    page.screenshot(path=ARTIFACTS / "chat-3-toetsenbord-focus.png", full_page=True)
    answered = bot_messages(page).count()
    page.keyboard.press("Enter")
    expect(page.locator("#gesprek .chat-message.from-user").last).to_have_text("JijEerst informeel praten")
    expect(bot_messages(page).nth(answered)).to_contain_text("informeel")
    expect(page.get_by_role("log")).to_contain_text("Je kan terecht bij de vertrouwenspersoon")
    assert focused(page)["id"] == "bericht"  # the used button is disabled; focus went back to the message box
    page.screenshot(path=ARTIFACTS / "chat-4-toetsenbord-antwoord.png", full_page=True)
    assert problems == []


def test_unavailable_message_when_rasa_is_down(report_store: ReportStore, tmp_path: Path,
                                               new_page: Callable[..., Any]) -> None:
    """A web app whose Rasa does not answer: the user sees the Dutch message with 112, and keeps the text."""
    from playwright.sync_api import expect

    with web_app(tmp_path, report_store.env, f"http://127.0.0.1:{free_port()}") as url:
        page, problems = new_page(viewport={"width": 390, "height": 844})  # a phone
        page.goto(f"{url}/chat")
        message = page.get_by_label("Je bericht")
        message.fill(QUESTION)
        page.get_by_role("button", name="Versturen").click()
        error = page.locator("#gesprek .chat-message.from-error")
        expect(error).to_contain_text("Ik ben even niet bereikbaar. Probeer het zo opnieuw. Bij nood: bel 112")
        expect(error.locator(".chat-who")).to_have_text("Melding")
        expect(message).to_have_value(QUESTION)  # given back, to send again
        page.screenshot(path=ARTIFACTS / "chat-5-niet-bereikbaar-telefoon.png", full_page=True)
    # The browser logs the failed request (503) as a console error; nothing else may fail.
    assert [p for p in problems if "503" not in p] == []


def test_unavailable_message_when_the_action_server_is_down(web_url: str, servers: Stack,
                                                            new_page: Callable[..., Any]) -> None:
    """Rasa answers an empty list when its action server is down; the user must not get silence."""
    from playwright.sync_api import expect

    page, problems = new_page(viewport={"width": 1000, "height": 900})
    page.goto(f"{web_url}/chat")
    servers.services["actions"].stop()
    try:
        page.get_by_label("Je bericht").fill(QUESTION)
        page.get_by_label("Je bericht").press("Enter")
        expect(page.locator("#gesprek .chat-message.from-error")).to_contain_text("Bij nood: bel 112")
    finally:
        servers.restart("actions")
    page.get_by_role("button", name="Versturen").click()  # the text was given back: send it again
    expect(page.get_by_role("log")).to_contain_text("vertrouwenspersoon")
    assert [p for p in problems if "503" not in p] == []
