"""Accessibility (WCAG 2.1 AA) of the back office, the follow-up pages and the web chat, in a real browser.

Debian's Chromium driven by Playwright against `python -m backoffice` over a temporary SQLite database, with a
fake Rasa REST channel behind the web chat (tests/webchat/a11y_site.py).
- axe-core (tests/webchat/axe.py) on every page and state a user meets: 0 violations of wcag2a/2aa/21a/21aa.
- At 320 px wide no page scrolls sideways, and the stacked case list and history keep their column labels.
- Password fields look like the other inputs; an invalid receipt code gets its red border; focus goes to the error.
- The chat's answers are added to a polite live region that is never marked aria-busy.
The idle-logout warning is in test_idle_logout_browser.py.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from integrity.staff import totp
from tests.webchat.a11y_site import (
    ADMIN,
    BOT_TEXT,
    COLLEAGUE,
    COLLEAGUE_NAME,
    COORDINATOR,
    PASSWORD,
    RESET_USER,
    TIMEOUT_MS,
    WHAT_HAPPENED,
    Site,
    focused_id,
    log_in,
    open_pages,
    running_site,
    sideways_scroll,
)
from tests.webchat.axe import Audit, require_axe
from tests.webchat.browser import ARTIFACTS, launched_chromium, require_browser

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

REPLY = "Dank je voor je melding. Wanneer was die reis precies?"
RED = "rgb(179, 38, 30)"  # --alert-line
WRONG_RECOVERY_KEY = "-".join(["AAAA"] * 8)  # well-formed, but not this account's


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    require_browser()
    require_axe()
    with running_site(tmp_path_factory.mktemp("a11y"), secrets=(REPLY,)) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched_chromium(TIMEOUT_MS) as launched:
        yield launched


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Any]:
    with open_pages(browser) as make:
        yield make


# The outermost elements that stick out on the right (not counting what scrolls inside its own box).
WIDEST = """() => {
    const limit = document.documentElement.clientWidth + 1;
    const scrolls = e => ["auto", "scroll", "hidden"].includes(getComputedStyle(e).overflowX);
    const inside = e => { for (let p = e.parentElement; p; p = p.parentElement) { if (scrolls(p)) return true; }
                          return false; };
    return Array.from(document.querySelectorAll("body *"))
        .filter(e => e.getBoundingClientRect().right > limit && !inside(e)
                     && !(e.parentElement && e.parentElement.getBoundingClientRect().right > limit))
        .slice(0, 3).map(e => e.outerHTML.slice(0, 120));
}"""


class Crawl:
    """axe on each page as it is, plus the same page at 320 px wide: it must not scroll sideways."""

    def __init__(self) -> None:
        self.audit = Audit()
        self.too_wide: list[str] = []

    def check(self, page: Page, where: str) -> None:
        self.audit.check(page, where)
        size = page.viewport_size
        page.set_viewport_size({"width": 320, "height": 640})
        if (extra := sideways_scroll(page)) > 0:
            culprits = page.evaluate(WIDEST)
            self.too_wide.append(f"{where}: {extra}px wider than 320px, e.g. {culprits}")
        assert size is not None
        page.set_viewport_size(size)

    def assert_clean(self) -> None:
        self.audit.assert_clean()
        assert self.too_wide == [], self.too_wide


def test_axe_finds_no_violations_on_any_page(site: Site, new_page: Any) -> None:
    from playwright.sync_api import expect

    crawl = Crawl()
    reporter = new_page()
    reporter.goto(f"{site.url}/opvolgen")
    crawl.check(reporter, "follow-up: code form")
    reporter.locator("#code").fill("1111 2222 3333 4444")
    reporter.get_by_role("button", name="Bekijk mijn melding").click()
    expect(reporter.get_by_role("alert")).to_be_visible()
    crawl.check(reporter, "follow-up: wrong code")
    reporter.goto(f"{site.url}/deze-pagina-bestaat-niet")
    crawl.check(reporter, "error page (404)")

    chat = new_page()
    chat.goto(f"{site.url}/chat")
    crawl.check(chat, "web chat: start")
    chat.get_by_label("Je bericht").fill("ik heb een vraag over geschenken")
    chat.get_by_label("Je bericht").press("Enter")
    expect(chat.get_by_role("button", name="Een melding maken")).to_be_visible()
    crawl.check(chat, "web chat: answer with quick replies")

    staff = new_page()
    staff.goto(f"{site.url}/beheer/aanmelden")
    crawl.check(staff, "login")
    staff.get_by_label("Gebruikersnaam").fill(COORDINATOR)
    staff.get_by_label("Wachtwoord").fill("niet het wachtwoord")
    staff.get_by_role("button", name="Aanmelden").click()
    expect(staff.get_by_role("alert")).to_be_visible()
    crawl.check(staff, "login: refused")
    log_in(staff, site.url, COORDINATOR)
    crawl.check(staff, "case list")
    staff.get_by_role("link", name=site.reference).click()
    expect(staff.locator("main")).to_contain_text(WHAT_HAPPENED)  # opened with the key from the login
    staff.get_by_role("button", name="Ontvangst bevestigen").click()
    expect(staff.get_by_role("status").first).to_contain_text("De ontvangst is bevestigd.")
    staff.get_by_label("Bericht aan de melder").fill(REPLY)
    staff.get_by_role("button", name="Bericht versturen").click()
    expect(staff.get_by_role("status").first).to_contain_text("Je bericht is verstuurd.")
    crawl.check(staff, "case, after a reply")
    staff.get_by_label("Nieuwe status").select_option("afgesloten")
    staff.get_by_role("button", name="Status wijzigen").click()
    expect(staff.get_by_role("alert").first).to_contain_text("Geef een reden")
    crawl.check(staff, "case: refused status change")
    for path, where in (("/beheer/meldingen?status=open&te_laat=1", "case list, filtered, empty"),
                        ("/beheer/account", "own account"), ("/beheer/statistieken", "statistics"),
                        ("/beheer/gesprekken", "conversations")):
        staff.goto(site.url + path)
        crawl.check(staff, where)

    colleague = new_page()  # first login: the recovery key, once; the report has no key for them yet
    colleague.goto(f"{site.url}/beheer/aanmelden")
    colleague.get_by_label("Gebruikersnaam").fill(COLLEAGUE)
    colleague.get_by_label("Wachtwoord").fill(PASSWORD)
    colleague.get_by_role("button", name="Aanmelden").click()
    expect(colleague).to_have_url(f"{site.url}/beheer/herstelsleutel")
    expect(colleague.locator("#herstelsleutel")).to_have_text(re.compile(r"^[A-Z2-7]{4}(-[A-Z2-7]{4}){7}$"))
    crawl.check(colleague, "first login: recovery key shown once")
    colleague.get_by_role("link", name="Verder naar het back office").click()
    colleague.get_by_role("link", name=site.reference).click()
    expect(colleague.locator("main")).to_contain_text("wacht op toegang")
    expect(colleague.locator("main")).not_to_contain_text(WHAT_HAPPENED)
    crawl.check(colleague, "case: waiting for access")
    staff.goto(f"{site.url}/beheer/toegang")
    grant = staff.get_by_role("button", name=f"Toegang geven aan {COLLEAGUE_NAME}")
    expect(grant).to_be_visible()
    crawl.check(staff, "access: a colleague waits")
    grant.click()
    expect(staff.get_by_role("status").first).to_contain_text(f"{COLLEAGUE_NAME} kan nu 1 melding(en) openen.")
    crawl.check(staff, "access: granted")
    colleague.reload()
    expect(colleague.locator("main")).to_contain_text(WHAT_HAPPENED)

    after_reset = new_page()  # an admin reset the password: the recovery form
    after_reset.goto(f"{site.url}/beheer/aanmelden")
    after_reset.get_by_label("Gebruikersnaam").fill(RESET_USER)
    after_reset.get_by_label("Wachtwoord").fill(PASSWORD)
    after_reset.get_by_role("button", name="Aanmelden").click()
    expect(after_reset).to_have_url(f"{site.url}/beheer/herstel")
    crawl.check(after_reset, "recovery after a reset")
    after_reset.get_by_label("Herstelsleutel").fill(WRONG_RECOVERY_KEY)
    after_reset.locator("#herstel-wachtwoord").fill(PASSWORD)
    after_reset.get_by_role("button", name="Sleutel herstellen").click()
    expect(after_reset.get_by_role("alert")).to_contain_text("Die herstelsleutel klopt niet")
    crawl.check(after_reset, "recovery: wrong recovery key")

    reporter.goto(f"{site.url}/opvolgen")
    reporter.locator("#code").fill(site.code)
    reporter.get_by_role("button", name="Bekijk mijn melding").click()
    expect(reporter.locator("main")).to_contain_text(REPLY)
    crawl.check(reporter, "follow-up: the report with a reply")

    admin = new_page()
    log_in(admin, site.url, ADMIN)
    crawl.check(admin, "admin: users")
    admin.get_by_label("Gebruikersnaam").fill("nieuwe-behandelaar")
    admin.get_by_label("Naam", exact=True).fill("Nina Nieuw")
    admin.get_by_role("button", name="Gebruiker aanmaken").click()
    expect(admin.locator("#nieuw-wachtwoord")).to_be_visible()
    crawl.check(admin, "admin: new password shown once")
    admin.goto(f"{site.url}/beheer/gebruikers")
    admin.get_by_role("link", name="Nina Nieuw").click()
    crawl.check(admin, "admin: one user")
    for path, where in (("/beheer/profielen", "admin: organisations"), ("/beheer/audit", "admin: audit log")):
        admin.goto(site.url + path)
        crawl.check(admin, where)
    admin.goto(f"{site.url}/beheer/account")
    admin.get_by_role("button", name="Tweede stap instellen").click()
    secret = admin.locator("#totp-geheim").inner_text().strip()
    crawl.check(admin, "account: second factor set-up")
    admin.get_by_label("Code uit je app").fill(totp.code_at(secret, time.time()))
    admin.get_by_role("button", name="Tweede stap aanzetten").click()
    expect(admin.get_by_role("status").first).to_contain_text("De tweede stap staat aan")
    admin.get_by_role("button", name="Afmelden").click()
    admin.get_by_label("Gebruikersnaam").fill(ADMIN)
    admin.get_by_label("Wachtwoord").fill(PASSWORD)
    admin.get_by_role("button", name="Aanmelden").click()
    expect(admin).to_have_url(f"{site.url}/beheer/aanmelden/code?volgende=/beheer")
    crawl.check(admin, "login: second factor")
    admin.get_by_label("Code").fill("000000" if totp.code_at(secret, time.time()) != "000000" else "111111")
    admin.get_by_role("button").last.click()
    expect(admin.get_by_role("alert")).to_be_visible()
    crawl.check(admin, "login: wrong second-factor code")

    crawl.assert_clean()
    assert len(crawl.audit.checked) == 29, crawl.audit.checked


def test_case_tables_keep_their_labels_and_fit_at_320px(site: Site, new_page: Any) -> None:
    from playwright.sync_api import expect

    page = new_page(320, 640)
    log_in(page, site.url, COORDINATOR, next_path="/beheer/meldingen")
    labels_js = """(selector) => Array.from(document.querySelectorAll(selector + " tbody td")).map(td => {
        const rect = td.getBoundingClientRect();
        return {label: td.dataset.label || "", before: getComputedStyle(td, "::before").content,
                right: rect.right, display: getComputedStyle(td).display};
    })"""
    headers = ["Melding", "Onderwerp", "Status", "Ontvangen", "Termijnen en berichten", "Behandelaar"]
    expect(page.get_by_role("columnheader")).to_have_text(headers)  # still there for screen readers
    cells = page.evaluate(labels_js, "table.cases")
    assert cells and len(cells) % len(headers) == 0
    for index, cell in enumerate(cells):
        assert cell["display"] == "block"  # stacked
        assert cell["label"] == headers[index % len(headers)] and cell["label"] in cell["before"], cell
        assert cell["right"] <= 320, cell
    assert sideways_scroll(page) == 0
    page.screenshot(path=str(ARTIFACTS / "a11y-case-list-320.png"), full_page=True)

    page.get_by_role("link", name=site.reference).click()
    expect(page.get_by_role("heading", name="Geschiedenis")).to_be_visible()
    history = page.evaluate(labels_js, "table.history")
    assert len(history) >= 3 and len(history) % 3 == 0
    for index, cell in enumerate(history):
        assert cell["label"] == ["Wanneer", "Wie", "Wat"][index % 3] and cell["label"] in cell["before"], cell
        assert cell["right"] <= 320, cell
    expect(page.get_by_role("table", name="Geschiedenis").get_by_role("columnheader")).to_have_text(
        ["Wanneer", "Wie", "Wat"])
    assert sideways_scroll(page) == 0
    page.screenshot(path=str(ARTIFACTS / "a11y-case-detail-320.png"), full_page=True)


def test_password_fields_look_like_the_other_inputs(site: Site, new_page: Any) -> None:
    page = new_page()
    page.goto(f"{site.url}/beheer/aanmelden")
    style_js = """(selector) => {
        const element = document.querySelector(selector), style = getComputedStyle(element);
        return {font: style.fontSize, border: style.borderTopWidth + " " + style.borderTopStyle,
                height: element.getBoundingClientRect().height, width: element.getBoundingClientRect().width};
    }"""
    text, password = page.evaluate(style_js, "#gebruiker"), page.evaluate(style_js, "#wachtwoord")
    assert password["font"] == text["font"] == "18px", (text, password)
    assert password["border"] == text["border"] and password["height"] == text["height"], (text, password)
    assert password["height"] >= 44 and password["width"] == text["width"], password


def test_invalid_receipt_code_shows_its_red_border_and_gets_the_focus(site: Site, new_page: Any) -> None:
    from playwright.sync_api import expect

    page = new_page()
    page.goto(f"{site.url}/opvolgen")
    code = page.locator("#code")
    assert code.evaluate("e => getComputedStyle(e).borderTopColor") != RED
    code.fill("1234 5678 9012 3456")
    page.get_by_role("button", name="Bekijk mijn melding").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(code).to_have_attribute("aria-invalid", "true")
    style = code.evaluate("e => [getComputedStyle(e).borderTopColor, getComputedStyle(e).borderTopWidth]")
    assert style == [RED, "3px"], style
    assert focused_id(page) == "code"  # the field, described by the error message


def test_focus_moves_to_the_error_after_a_failed_submission(site: Site, new_page: Any) -> None:
    from playwright.sync_api import expect

    page = new_page()
    page.goto(f"{site.url}/beheer/aanmelden")
    page.get_by_label("Gebruikersnaam").fill(COORDINATOR)
    page.get_by_label("Wachtwoord").fill("fout wachtwoord")
    page.get_by_role("button", name="Aanmelden").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert focused_id(page) == "gebruiker"
    assert page.locator("#gebruiker").get_attribute("aria-describedby") == "aanmelden-fout"
    log_in(page, site.url, COORDINATOR, next_path=f"/beheer/meldingen/{site.reference}")
    page.get_by_label("Nieuwe status").select_option("afgesloten")
    page.get_by_role("button", name="Status wijzigen").click()
    expect(page.get_by_role("alert").first).to_contain_text("Geef een reden")
    assert focused_id(page) == "foutmelding"  # the error summary, which links to the form

    page = new_page()  # the recovery form after a reset: a wrong recovery key, then a wrong password
    page.goto(f"{site.url}/beheer/aanmelden")
    page.get_by_label("Gebruikersnaam").fill(RESET_USER)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Aanmelden").click()
    expect(page).to_have_url(f"{site.url}/beheer/herstel")
    assert focused_id(page) == ""  # no error yet: nothing takes the focus
    page.get_by_label("Herstelsleutel").fill(WRONG_RECOVERY_KEY)
    page.locator("#herstel-wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Sleutel herstellen").click()
    expect(page.get_by_role("alert")).to_contain_text("Die herstelsleutel klopt niet")
    assert focused_id(page) == "herstelsleutel"
    key_field = page.locator("#herstelsleutel")
    expect(key_field).to_have_attribute("aria-invalid", "true")
    expect(key_field).to_have_attribute("aria-describedby", "herstel-fout")
    page.get_by_label("Herstelsleutel").fill(WRONG_RECOVERY_KEY)
    page.locator("#herstel-wachtwoord").fill("niet mijn wachtwoord")
    page.get_by_role("button", name="Sleutel herstellen").click()
    expect(page.get_by_role("alert")).to_contain_text("Je wachtwoord klopt niet")
    assert focused_id(page) == "herstel-wachtwoord"
    expect(page.locator("#herstel-wachtwoord")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#herstelsleutel")).not_to_have_attribute("aria-invalid", "true")


def test_chat_answers_go_to_a_polite_live_region_never_marked_busy(site: Site, new_page: Any) -> None:
    from playwright.sync_api import expect

    page = new_page(390, 844)
    page.goto(f"{site.url}/chat")
    log = page.get_by_role("log")
    expect(log).to_have_attribute("aria-live", "polite")
    page.evaluate("""() => {
        const log = document.getElementById("gesprek");
        window.busyValues = [log.getAttribute("aria-busy")];
        window.statusTexts = [];
        new MutationObserver(() => window.busyValues.push(log.getAttribute("aria-busy")))
            .observe(log, {attributes: true, attributeFilter: ["aria-busy"]});
        new MutationObserver(() => window.statusTexts.push(document.getElementById("bezig").textContent))
            .observe(document.getElementById("bezig"), {childList: true, characterData: true, subtree: true});
    }""")
    page.get_by_label("Je bericht").fill("mag ik een geschenk aannemen")
    page.get_by_role("button", name="Versturen").click()
    expect(log.locator(".chat-message.from-bot").last).to_contain_text(BOT_TEXT)
    expect(log.get_by_role("button", name="Ik heb een vraag")).to_be_visible()
    assert "true" not in page.evaluate("() => window.busyValues"), "the log was marked aria-busy"
    assert "De assistent schrijft een antwoord…" in page.evaluate("() => window.statusTexts")
    assert sideways_scroll(page) == 0


def test_the_axe_check_reports_violations(new_page: Any) -> None:
    """The check is not vacuous: a page with an unlabelled field and an image without text fails, readably."""
    require_axe()
    page = new_page()
    page.set_content('<html lang="nl"><head><title>t</title></head><body><main><img src="data:,">'
                     '<input type="text"></main></body></html>')
    audit = Audit()
    audit.check(page, "a bad page")
    with pytest.raises(AssertionError) as failure:
        audit.assert_clean()
    message = str(failure.value)
    assert "a bad page" in message and "image-alt" in message and "label" in message and "<input" in message
