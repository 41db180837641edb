"""The idle logout made visible (WCAG 2.2.1), in a real browser: a warning ahead with a one-click "Sessie verlengen",
and text typed when the session ran out comes back after a new login. The web app runs with the idle time
shortened to seconds through its settings (BACKOFFICE_IDLE_SECONDS, BACKOFFICE_IDLE_WARNING_SECONDS).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from integrity.reports import db
from integrity.staff.models import AuditEntry
from tests.webchat.a11y_site import (
    COORDINATOR,
    PASSWORD,
    TIMEOUT_MS,
    Site,
    focused_id,
    log_in,
    open_pages,
    running_site,
)
from tests.webchat.axe import Audit, require_axe
from tests.webchat.browser import ARTIFACTS, launched_chromium, require_browser

if TYPE_CHECKING:
    from playwright.sync_api import Browser

KEPT_TEXT = "Dit typte ik voor mijn sessie verliep: graag bellen op maandag."
IDLE, WARNING = 20, 12  # seconds


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    require_browser()
    require_axe()
    with running_site(tmp_path_factory.mktemp("idle"), secrets=(KEPT_TEXT,), BACKOFFICE_IDLE_SECONDS=str(IDLE),
                      BACKOFFICE_IDLE_WARNING_SECONDS=str(WARNING)) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched_chromium(TIMEOUT_MS) as launched:
        yield launched


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Any]:
    with open_pages(browser) as make:
        yield make


def test_idle_warning_extends_and_typed_text_survives_the_logout(site: Site, new_page: Any) -> None:
    from playwright.sync_api import expect

    page = new_page()
    audit = Audit()
    log_in(page, site.url, COORDINATOR, next_path=f"/beheer/meldingen/{site.reference}")
    case_url = f"{site.url}/beheer/meldingen/{site.reference}"
    expect(page).to_have_url(case_url)
    dialog = page.get_by_role("alertdialog", name="Je sessie verloopt bijna")
    expect(dialog).to_be_hidden()
    expect(dialog).to_be_visible(timeout=(IDLE - WARNING + 5) * 1000)  # WARNING seconds ahead
    left = page.evaluate("() => fetch('/beheer/sessie').then(r => r.json())")["seconds_left"]
    assert 0 < left <= WARNING, left
    expect(dialog).to_contain_text("word je afgemeld")
    expect(page.get_by_role("button", name="Opnieuw aanmelden")).to_be_hidden()  # one clear choice
    assert focused_id(page) == ""  # in the dialog, on its first control
    assert page.evaluate("() => document.activeElement.textContent") == "Sessie verlengen"
    audit.check(page, "idle warning dialog")
    page.screenshot(path=str(ARTIFACTS / "a11y-idle-warning.png"))

    page.get_by_role("button", name="Sessie verlengen").click()  # one click
    expect(dialog).to_be_hidden()
    expect(page.locator("#sessie-status")).to_have_text(
        "Je sessie is verlengd. Je wordt afgemeld na 1 minuten zonder activiteit.")
    left = page.evaluate("() => fetch('/beheer/sessie').then(r => r.json())")["seconds_left"]
    assert left >= IDLE - 2, left

    message = page.get_by_label("Bericht aan de melder")
    message.fill(KEPT_TEXT)
    expect(dialog).to_be_visible(timeout=(IDLE - WARNING + 5) * 1000)  # the next warning: Escape extends too
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(message).to_be_focused()  # back where it was
    left = page.evaluate("() => fetch('/beheer/sessie').then(r => r.json())")["seconds_left"]
    assert left >= IDLE - 2, left
    expired = page.get_by_role("alertdialog", name="Je sessie is verlopen")
    expect(expired).to_be_visible(timeout=(IDLE + 8) * 1000)
    audit.check(page, "session expired dialog")
    expect(page.get_by_role("button", name="Sessie verlengen")).to_be_hidden()
    page.screenshot(path=str(ARTIFACTS / "a11y-idle-expired.png"))
    page.get_by_role("button", name="Sluiten").click()
    page.get_by_role("button", name="Bericht versturen").click()  # sent after the logout
    expect(page).to_have_url(f"{site.url}/beheer/aanmelden?volgende=/beheer/meldingen/{site.reference}")
    expect(page.get_by_role("status")).to_contain_text("Wat je typte, is niet verloren")
    kept = page.evaluate("() => sessionStorage.getItem('beheer-concept')")
    assert kept and KEPT_TEXT not in kept and "maandag" not in kept  # only ciphertext in the tab's storage
    audit.check(page, "login after the logout")

    page.get_by_label("Gebruikersnaam").fill(COORDINATOR)
    page.get_by_label("Wachtwoord").fill(PASSWORD)
    page.get_by_role("button", name="Aanmelden").click()  # the password opens the key again: no other step
    expect(page).to_have_url(case_url)
    expect(message).to_have_value(KEPT_TEXT)
    expect(message).to_be_focused()
    expect(page.locator("#concept-terug")).to_contain_text("nog niet verstuurd")
    assert page.evaluate("() => sessionStorage.getItem('beheer-concept')") is None
    page.screenshot(path=str(ARTIFACTS / "a11y-text-restored.png"), full_page=True)
    audit.assert_clean()
    engine = db.make_engine(site.database_url)
    with db.make_sessionmaker(engine).begin() as session:  # the server never received the kept text
        assert not any(KEPT_TEXT in (entry.detail or "") for entry in session.scalars(select(AuditEntry)))
    engine.dispose()
    shown = page.locator("#berichten").locator("..").locator("ol, p").all_inner_texts()
    assert shown and not any(KEPT_TEXT in text for text in shown)


