"""Evidence files end to end in Chromium: a report with a photo whose EXIF holds GPS coordinates, sent through the
web chat (real web app, Rasa and action server), arrives in the back office without them, and its download is in
the audit log; the coordinator's notification mail (through a real SMTP server process) holds the reference and a
link, never what the reporter wrote. The upload control is used with the keyboard only; the result is announced in
the conversation.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from integrity.notifications import jobs
from integrity.notifications.settings import MailSettings
from integrity.reports import db
from integrity.staff import accounts
from integrity.staff.models import AuditEntry, Role
from tests import evidence_samples as samples
from tests.conftest import ReportStore
from tests.notifications.mailserver import MailServer
from tests.webchat.browser import ARTIFACTS
from tests.webchat.test_chat_browser import browser, browser_present, new_page, web_url  # noqa: F401  (fixtures)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.rasa

USERNAME, PASSWORD, EMAIL = "coordinator-bestanden", "een lang wachtwoord 42", "chris.coordinator@org.test"
STORY = "Mijn diensthoofd laat facturen van zijn schoonbroer goedkeuren zonder offerte. ZX-FILE-17"
REFERENCE = re.compile(r"referentie (M-\d{4}-[0-9A-Z]+)")
CODE = re.compile(r"Je ontvangstcode is: (\d{4} \d{4} \d{4} \d{4})")


def say(page: Page, text: str) -> None:
    """Type `text` like a person, send it with Enter and wait for the assistant's answer."""
    from playwright.sync_api import expect

    answers = page.locator("#gesprek .chat-message.from-bot")
    before = answers.count()
    message = page.get_by_label("Je bericht")
    message.fill(text)
    message.press("Enter")
    expect(answers.nth(before)).to_be_visible()
    expect(page.locator("#versturen")).to_have_attribute("aria-disabled", "false")


def test_a_photo_sent_in_the_chat_reaches_the_case_without_gps_and_its_download_is_audited(
        web_url: str, new_page: Any, browser: Browser, report_store: ReportStore,  # noqa: F811
        tmp_path: Path) -> None:
    from PIL import Image
    from playwright.sync_api import expect

    engine = db.make_engine(report_store.database_url)
    with db.make_sessionmaker(engine).begin() as session:  # before the report: it gets the report's key
        accounts.create_user(session, USERNAME, "Chris Coördinator", Role.COORDINATOR, PASSWORD,
                             profile_id="vlaamse-overheid", email=EMAIL)

    page, problems = new_page(viewport={"width": 1000, "height": 1000})
    page.goto(f"{web_url}/chat")
    for answer in ("/melding_starten", "Fraude en corruptie", STORY, "sinds januari", "afdeling aankoop",
                   "Overslaan"):
        say(page, answer)
    expect(page.get_by_role("log")).to_contain_text("Bestand toevoegen in de webchat")  # the evidence question

    # The upload control, by keyboard: the file input has its label, metadata removal is on by default.
    picker = page.get_by_label("Kies een bestand")
    picker.set_input_files({"name": "factuur-foto.jpg", "mimeType": "image/jpeg", "buffer": samples.photo_with_gps()})
    expect(page.get_by_label("Metadata verwijderen voor het versturen (aangeraden)")).to_be_checked()
    page.get_by_role("button", name="Bestand toevoegen").focus()
    page.keyboard.press("Enter")
    announced = page.locator("#gesprek .chat-message.from-bot").last
    expect(announced).to_contain_text("Bestand ontvangen: foto (JPEG)")
    expect(announced).to_contain_text("verwijderd: GPS-locatie, cameramerk, cameramodel")
    expect(page.locator("#bestand-status")).to_contain_text("verwijderd: GPS-locatie")
    page.screenshot(path=str(ARTIFACTS / "chat-evidence-upload.png"), full_page=True)

    for answer in ("een foto van de factuur", "Anoniem blijven", "Audit Vlaanderen"):
        say(page, answer)
    say(page, "Verzenden")
    log_text = page.get_by_role("log").inner_text()
    assert "1 bestand(en) bij je melding gevoegd." in log_text, log_text[-800:]
    found = REFERENCE.search(log_text)
    assert found, log_text[-800:]
    reference = found.group(1)
    code = CODE.search(log_text)
    assert code, log_text[-800:]

    # Later, on the follow-up page, the reporter adds a PDF; its author is removed and the page says so.
    page.goto(f"{web_url}/opvolgen")
    page.locator("#code").fill(code.group(1))
    page.get_by_role("button", name="Bekijk mijn melding").click()
    expect(page.get_by_role("heading", name=f"Je melding {reference}")).to_be_visible()
    expect(page.get_by_role("region", name="Je bestanden")).to_contain_text("foto (JPEG)")
    page.get_by_label("Kies een bestand").set_input_files(
        {"name": "verslag.pdf", "mimeType": "application/pdf", "buffer": samples.pdf_with_author()})
    page.get_by_role("button", name="Bestand toevoegen").click()
    expect(page.get_by_role("status")).to_contain_text("Bestand ontvangen: PDF-document")
    expect(page.get_by_role("status")).to_contain_text("verwijderd: auteur, makende software")
    assert problems == []

    # The coordinator opens the case and downloads the photo: no GPS, no camera, and the download is audited.
    staff_context = browser.new_context(locale="nl-BE", accept_downloads=True)  # it gets the staff cookie
    staff = staff_context.new_page()
    staff.set_default_timeout(60_000)
    staff_problems: list[str] = []
    staff.on("pageerror", lambda error: staff_problems.append(str(error)))
    staff.goto(f"{web_url}/beheer/aanmelden")
    staff.get_by_label("Gebruikersnaam").fill(USERNAME)
    staff.get_by_label("Wachtwoord").fill(PASSWORD)
    staff.get_by_role("button", name="Aanmelden").click()
    staff.wait_for_load_state()  # the password opened the staff member's key: no other step
    staff.goto(f"{web_url}/beheer/meldingen/{reference}")
    files = staff.get_by_role("region", name="Bestanden van de melder")
    expect(files).to_contain_text("foto (JPEG)")
    expect(files).to_contain_text("PDF-document")
    expect(files).to_contain_text("Metadata: verwijderd: GPS-locatie")
    staff.screenshot(path=str(ARTIFACTS / "backoffice-case-files.png"), full_page=True)
    with staff.expect_download() as download_info:
        files.get_by_role("link", name=re.compile(r"Download bestand-\d+\.jpg")).click()
    download = download_info.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    data = saved.read_bytes()
    with Image.open(io.BytesIO(data)) as image:
        assert dict(image.getexif()) == {} and image.size == (64, 48)
    assert samples.CAMERA_MODEL.encode() not in data and b"GPS" not in data
    with db.make_sessionmaker(engine).begin() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == "file_downloaded",
                                                           AuditEntry.report_reference == reference)).all()
        assert [entry.username for entry in entries] == [USERNAME]

    # The coordinator's mail about the new report, sent to a real SMTP server process: the reference and a link.
    server = MailServer(tmp_path / "mail")
    server.start()
    try:
        settings = MailSettings(host="127.0.0.1", port=server.port, security="none", sender="integriteit@test.example",
                                timeout=5, base_url=web_url, hourly_cap=100)
        jobs.tick(db.make_sessionmaker(engine), settings)
        mails = [mail for mail in server.wait_for(1) if str(mail["To"]) == EMAIL]
    finally:
        server.stop()
    about = [mail for mail in mails if reference in mail.get_content()]
    assert about, [str(mail["Subject"]) for mail in mails]
    for mail in about:
        text = f"{mail['Subject']}\n{mail.get_content()}"
        assert f"{web_url}/beheer/meldingen/{reference}" in text
        for secret in ("schoonbroer", "facturen", "ZX-FILE-17", "Fraude", "foto", "factuur", code.group(1)):
            assert secret not in text, f"{secret!r} in the mail"
    engine.dispose()
    staff_context.close()
    assert staff_problems == []


def test_an_upload_that_breaks_off_half_way_keeps_nothing_and_the_app_goes_on(
        web_url: str, report_store: ReportStore) -> None:  # noqa: F811
    """A real socket to the real server: the body stops at 64 kB of an announced 2 MB and the connection closes."""
    import socket
    import time
    from urllib.parse import urlsplit

    import httpx

    from integrity.reports.models import PendingFile

    token = re.search(r'data-token="([^"]+)"', httpx.get(f"{web_url}/chat").text)
    assert token
    address = urlsplit(web_url)
    head = (f"POST /chat/bestanden HTTP/1.1\r\nHost: {address.netloc}\r\nContent-Type: application/octet-stream\r\n"
            f"Content-Length: {2 * 1024 * 1024}\r\nX-CSRF-Token: {token.group(1)}\r\n"
            "X-Chat-Session: Zk3q9XwB2mPa7LrT_c-8uVnE4yHs0dQo\r\n\r\n").encode()
    engine = db.make_engine(report_store.database_url)

    def waiting() -> int:
        with db.make_sessionmaker(engine).begin() as session:
            return len(session.scalars(select(PendingFile)).all())

    before = waiting()
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        connection.sendall(head + b"Een verslag in tekst dat halverwege afbreekt. " * 1400)  # valid text so far
    time.sleep(1)  # the server notices the closed connection
    assert waiting() == before
    whole = httpx.post(f"{web_url}/chat/bestanden", content=b"Een verslag in tekst.", headers={
        "X-CSRF-Token": token.group(1), "X-Chat-Session": "Zk3q9XwB2mPa7LrT_c-8uVnE4yHs0dQo"})
    assert whole.status_code == 200, whole.text  # the server is fine, and the next upload is kept
    assert waiting() == before + 1
    engine.dispose()
