"""The back office case work in a real browser (Debian's Chromium driven by Playwright) against the real web app.

`python -m backoffice` runs with uvicorn on a free port over a temporary SQLite database and key directory. A
coordinator is created with `integrity.staff.accounts` and a report is submitted through the service layer, as
the chat's action server does. In the browser the coordinator logs in, unlocks the key, finds the report in the
list, opens, acknowledges and answers it; the reporter reads the answer on /opvolgen with the receipt code (and
not the internal note); the coordinator closes the case with a reason and downloads the statistics CSV.
Screenshots of the list, the case and the follow-up page go to `test-artifacts/` (git-ignored). Playwright never
downloads a browser here: it launches /usr/bin/chromium (`make test-deps` installs it).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from devtools.stack import rasa_env
from integrity.reports import db, schemas, submission
from integrity.reports.cli import upgrade
from integrity.reports.models import Report, ReportStatus
from integrity.staff import accounts
from integrity.staff.models import AuditEntry, Role
from tests.webchat.browser import ARTIFACTS, launched_chromium, require_browser, web_app_process

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

TIMEOUT_MS = 20_000
USERNAME, PASSWORD = "coordinator", "een lang wachtwoord 42"
WHAT_HAPPENED = "Een collega van de aankoopdienst laat zich door Kluisbouw NV op reis sturen."
REPLY = "Dank je voor je melding. We onderzoeken dit; kan je zeggen wanneer de reis was?"
NOTE = "Intern: reisaanvraag opvragen bij het secretariaat."
CLOSE_REASON = "Onderzocht; de collega heeft de reis terugbetaald."


@dataclass(frozen=True)
class Setup:
    url: str
    reference: str
    code: str  # formatted, "1234 5678 9012 3456"
    database_url: str


@pytest.fixture(scope="module")
def backoffice(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    """Keys, a migrated database with a coordinator and one report, and the web app serving them."""
    require_browser()
    base = tmp_path_factory.mktemp("backoffice")
    env = {"DATABASE_URL": f"sqlite:///{base / 'reports.db'}", "INTEGRITY_KEY_DIR": str(base / "keys"),
           "INTEGRITY_ARGON2_PROFILE": "test"}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        for name in ("BACKOFFICE_SECRET", "INTEGRITY_KEY_PASSPHRASE"):
            patch.delenv(name, raising=False)
        engine = db.make_engine(env["DATABASE_URL"])
        upgrade(engine)
        with db.make_sessionmaker(engine).begin() as session:
            accounts.create_user(session, USERNAME, "Chris Coördinator", Role.COORDINATOR, PASSWORD,
                                 profile_id="vlaamse-overheid")
            draft = schemas.ReportDraft(category="geschenken", what_happened=WHAT_HAPPENED, when="in mei",
                                        profile_id="vlaamse-overheid", channel="web",
                                        preferred_route="audit_vlaanderen")
            submitted = submission.submit_report(session, draft)
        engine.dispose()

    log = base / "web.log"
    child_env = {name: value for name, value in rasa_env(**env).items()
                 if name not in ("BACKOFFICE_SECRET", "INTEGRITY_KEY_PASSPHRASE")}
    try:
        with web_app_process(log, child_env, "/beheer/aanmelden") as url:
            yield Setup(url, submitted.reference, submitted.receipt_code, env["DATABASE_URL"])
    finally:
        log_text = log.read_text(encoding="utf-8", errors="replace")
        for secret in (WHAT_HAPPENED, REPLY, NOTE, CLOSE_REASON, PASSWORD,
                       submitted.receipt_code.replace(" ", "")):
            assert secret not in log_text, "the web app logged report content or a secret"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched_chromium(TIMEOUT_MS) as launched:
        yield launched


def watch_console(page: Page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda message: problems.append(f"{message.text} ({message.location.get('url')})")
            if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico") else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


def report_row(database_url: str, reference: str) -> Report:
    engine = db.make_engine(database_url)
    try:
        with db.make_sessionmaker(engine).begin() as session:
            report = session.scalar(select(Report).where(Report.reference == reference))
            assert report is not None
            session.expunge(report)
            return report
    finally:
        engine.dispose()


def test_coordinator_handles_a_report_and_the_reporter_reads_the_answer(
        backoffice: Setup, browser: Browser, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    staff_context = browser.new_context(locale="nl-BE", accept_downloads=True)
    staff = staff_context.new_page()
    staff.set_default_timeout(TIMEOUT_MS)
    staff_problems = watch_console(staff)

    # Log in: the list sends us to the login page and back.
    staff.goto(f"{backoffice.url}/beheer/meldingen")
    expect(staff).to_have_url(f"{backoffice.url}/beheer/aanmelden?volgende=/beheer/meldingen")
    staff.get_by_label("Gebruikersnaam").fill(USERNAME)
    staff.get_by_label("Wachtwoord").fill(PASSWORD)
    staff.get_by_role("button", name="Aanmelden").click()
    # The first login opens (and shows once) the recovery key of the coordinator's own key pair.
    expect(staff).to_have_url(f"{backoffice.url}/beheer/herstelsleutel")
    expect(staff.locator("#herstelsleutel")).to_have_text(re.compile(r"^[A-Z2-7]{4}(-[A-Z2-7]{4}){7}$"))
    staff.screenshot(path=str(ARTIFACTS / "backoffice-recovery-key.png"), full_page=True)
    staff.get_by_role("link", name="Verder naar het back office").click()
    expect(staff).to_have_url(f"{backoffice.url}/beheer/meldingen")
    expect(staff.get_by_role("heading", name="Meldingen", exact=True)).to_be_visible()
    row = staff.get_by_role("row").filter(has=staff.get_by_role("link", name=backoffice.reference))
    expect(row).to_contain_text("Ontvangst bevestigen binnen 7 dagen: nog 7 dagen")
    expect(row).to_contain_text("Nieuw")
    expect(staff.locator("main")).not_to_contain_text(WHAT_HAPPENED)  # the list shows metadata only
    staff.screenshot(path=str(ARTIFACTS / "backoffice-case-list.png"), full_page=True)

    # Open the case: the key opened with the password at login opens it, no second passphrase.
    staff.get_by_role("link", name=backoffice.reference).click()
    expect(staff.get_by_role("heading", name=f"Melding {backoffice.reference}")).to_be_visible()
    expect(staff).to_have_url(f"{backoffice.url}/beheer/meldingen/{backoffice.reference}")
    expect(staff.locator("main")).to_contain_text(WHAT_HAPPENED)

    # Acknowledge, answer the reporter, add an internal note.
    staff.get_by_role("button", name="Ontvangst bevestigen").click()
    expect(staff.get_by_role("status")).to_contain_text("De ontvangst is bevestigd.")
    staff.get_by_label("Bericht aan de melder").fill(REPLY)
    staff.get_by_role("button", name="Bericht versturen").click()
    expect(staff.get_by_role("status")).to_contain_text("Je bericht is verstuurd.")
    staff.get_by_label("Nieuwe interne notitie").fill(NOTE)
    staff.get_by_role("button", name="Notitie bewaren").click()
    expect(staff.get_by_role("status")).to_contain_text("Je notitie is bewaard.")
    expect(staff.locator("main")).to_contain_text(REPLY)
    expect(staff.locator("main")).to_contain_text(NOTE)
    staff.screenshot(path=str(ARTIFACTS / "backoffice-case-detail.png"), full_page=True)

    # The reporter, in a browser of their own, reads the answer with the receipt code; never the note.
    reporter_context = browser.new_context(locale="nl-BE")
    reporter = reporter_context.new_page()
    reporter.set_default_timeout(TIMEOUT_MS)
    reporter_problems = watch_console(reporter)
    reporter.goto(f"{backoffice.url}/opvolgen")
    reporter.locator("#code").fill(backoffice.code)
    reporter.get_by_role("button", name="Bekijk mijn melding").click()
    expect(reporter.get_by_role("heading", name=f"Je melding {backoffice.reference}")).to_be_visible()
    expect(reporter.locator("main")).to_contain_text(REPLY)
    expect(reporter.locator("main")).to_contain_text("Ontvangen")
    expect(reporter.locator("main")).not_to_contain_text(NOTE)
    reporter.screenshot(path=str(ARTIFACTS / "backoffice-followup-reply.png"), full_page=True)
    assert reporter_context.cookies() == []  # the follow-up page sets no cookie
    reporter_context.close()

    # Close the case: a reason is required.
    staff.get_by_label("Nieuwe status").select_option(ReportStatus.AFGESLOTEN.value)
    staff.get_by_role("button", name="Status wijzigen").click()
    expect(staff.get_by_role("alert").first).to_contain_text("Geef een reden om de melding af te sluiten.")
    staff.get_by_label("Nieuwe status").select_option(ReportStatus.AFGESLOTEN.value)
    staff.get_by_label("Reden (verplicht bij afsluiten; alleen voor het back office)").fill(CLOSE_REASON)
    staff.get_by_role("button", name="Status wijzigen").click()
    expect(staff.get_by_role("status")).to_contain_text("De status is gewijzigd.")
    expect(staff.locator("main")).to_contain_text(CLOSE_REASON)
    closed = report_row(backoffice.database_url, backoffice.reference)
    assert closed.status == ReportStatus.AFGESLOTEN and closed.closed_at is not None

    # Statistics export (built by another part of the back office): download the CSV.
    staff.goto(f"{backoffice.url}/beheer/statistieken")
    with staff.expect_download() as download_info:
        staff.get_by_role("link", name="Exporteer als CSV").click()
    download = download_info.value
    assert download.suggested_filename.startswith("statistieken-vlaamse-overheid-")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    csv_text = saved.read_text(encoding="utf-8")
    assert csv_text.startswith("onderdeel,sleutel,omschrijving,waarde")
    assert WHAT_HAPPENED not in csv_text and backoffice.reference not in csv_text

    engine = db.make_engine(backoffice.database_url)
    with db.make_sessionmaker(engine).begin() as session:
        actions = set(session.scalars(select(AuditEntry.action).where(AuditEntry.username == USERNAME)))
    engine.dispose()
    assert {"login", "key_unlocked", "report_viewed", "report_acknowledged", "reply_sent", "note_added",
            "status_changed", "export"} <= actions
    expected = [problem for problem in staff_problems if "status of 400" in problem and problem.endswith("/status)")]
    assert len(expected) == 1, staff_problems  # the refused close without a reason answers 400
    assert [p for p in staff_problems if p not in expected] == [] and reporter_problems == []
    staff_context.close()
    assert os.environ.get("DATABASE_URL") != backoffice.database_url  # the module fixture restored the env
