"""Evidence files through the web app: the chat's upload, the follow-up page's upload, the staff download."""

from __future__ import annotations

import asyncio
import io
import re

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request

from backoffice.routes import evidence_upload
from bot import pseudonym
from integrity.notifications.models import Kind, NotificationEvent
from integrity.reports import casework, evidence
from integrity.staff import accounts
from integrity.staff.models import AuditEntry, Role
from tests import evidence_samples as samples
from tests.backoffice.conftest import Keys, Submitted, enter_code, submit
from tests.backoffice.test_staff_cases import PASSWORD, create_users, login_as

SESSION = "Zk3q9XwB2mPa7LrT_c-8uVnE4yHs0dQo"
_DATA = re.compile(r'id="bestand-formulier"[^>]*')


def chat_token(client: TestClient) -> str:
    match = re.search(r'id="chat-formulier" class="chat-form" data-token="([^"]+)"', client.get("/chat").text)
    assert match
    return match.group(1)


def send_chat_file(client: TestClient, data: bytes, *, token: str | None = None, keep: bool = False,
                   session: str = SESSION, **headers: str) -> httpx.Response:
    return client.post("/chat/bestanden", content=data, headers={
        "X-CSRF-Token": chat_token(client) if token is None else token, "X-Chat-Session": session,
        "X-Metadata": "behouden" if keep else "verwijderen", "Content-Type": "application/octet-stream",
        **headers})


def owner(app: FastAPI) -> str:
    return pseudonym.sender_id(app.state.chat.secret, "web", SESSION)


def test_a_chat_photo_loses_its_gps_reaches_the_case_and_its_download_is_audited(
        client: TestClient, app: FastAPI, sessions: sessionmaker[Session], keys: Keys) -> None:
    sent = send_chat_file(client, samples.photo_with_gps())
    assert sent.status_code == 200, sent.text
    body = sent.json()
    assert body["file"]["summary"].startswith("verwijderd: GPS-locatie") and "cameramodel" in body["message"]
    assert body["message"].startswith("Bestand ontvangen: foto (JPEG)") and body["token"]
    create_users(sessions)  # staff with key pairs before the report: they get its key at submission
    # The action server stores the report with the waiting files of the same chat (its sender id).
    with sessions.begin() as session:
        from tests.backoffice.conftest import make_draft
        submitted, files = evidence.submit_with_files(session, make_draft(), owner(app))
    assert files == evidence.Attached(1, 0)
    login_as(client, "coord-a")
    case = client.get(f"/beheer/meldingen/{submitted.reference}")
    assert "Bestanden van de melder" in case.text and "Metadata: verwijderd: GPS-locatie" in case.text
    link = re.search(rf'href="(/beheer/meldingen/{submitted.reference}/bestanden/\d+)"', case.text)
    assert link
    download = client.get(link.group(1))
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith('attachment; filename="bestand-')
    assert download.headers["content-type"] == "application/octet-stream"
    assert download.headers["x-content-type-options"] == "nosniff"
    from PIL import Image
    with Image.open(io.BytesIO(download.content)) as image:
        assert dict(image.getexif()) == {}
    assert samples.CAMERA_MODEL.encode() not in download.content
    with sessions.begin() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "file_downloaded")).one()
        assert entry.username == "coord-a" and entry.report_reference == submitted.reference


def test_the_reporter_may_keep_the_metadata(client: TestClient, app: FastAPI, sessions: sessionmaker[Session]) -> None:
    sent = send_chat_file(client, samples.photo_with_gps(), keep=True)
    assert sent.json()["file"]["summary"].startswith("behouden op jouw vraag: GPS-locatie")
    with sessions.begin() as session:
        assert [f.metadata_summary[:8] for f in evidence.pending(session, owner(app))] == ["behouden"]


@pytest.mark.parametrize(("data", "status", "words"), [
    (samples.exe(), 422, "Dit soort bestand kan ik niet aannemen"),
    (samples.broken_jpeg(), 422, "afbeelding is beschadigd"),
    (samples.zip_bomb(), 422, "ongewoon groot als het uitgepakt wordt"),
    (b"", 422, "Dit bestand is leeg"),
    (b"x" * (evidence.MAX_FILE_BYTES + 1), 413, "hoogstens 10 MB"),
])
def test_bad_files_get_a_dutch_message_and_nothing_is_kept(
        client: TestClient, app: FastAPI, sessions: sessionmaker[Session], data: bytes, status: int,
        words: str) -> None:
    assert send_chat_file(client, b"een eerder bestand").status_code == 200
    refused = send_chat_file(client, data)
    assert refused.status_code == status and words in refused.json()["error"]
    with sessions.begin() as session:
        assert len(evidence.pending(session, owner(app))) == 1  # the earlier file is still there


def test_forged_token_bad_session_and_other_sites_are_refused(client: TestClient, app: FastAPI,
                                                              sessions: sessionmaker[Session]) -> None:
    assert send_chat_file(client, b"tekst", token="vervalst").status_code == 403
    assert send_chat_file(client, b"tekst", session="kort").status_code == 422
    assert send_chat_file(client, b"tekst", **{"Sec-Fetch-Site": "cross-site"}).status_code == 403
    with sessions.begin() as session:
        assert evidence.pending(session, owner(app)) == []


def test_too_many_files_for_one_report(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evidence, "MAX_FILES_PER_REPORT", 1)
    assert send_chat_file(client, b"een").status_code == 200
    refused = send_chat_file(client, b"twee")
    assert refused.status_code == 422 and "hoogstens 1 bestanden" in refused.json()["error"]


def test_an_upload_aborted_half_way_keeps_nothing() -> None:
    messages = [{"type": "http.request", "body": b"%PDF-1.7 half", "more_body": True}, {"type": "http.disconnect"}]

    async def receive() -> dict[str, object]:
        return messages.pop(0)

    request = Request({"type": "http", "method": "POST", "headers": [(b"content-length", b"5000")]}, receive)
    with pytest.raises(evidence_upload.UploadProblem) as caught:
        asyncio.run(evidence_upload.read_upload(request, evidence.MAX_FILE_BYTES))
    assert caught.value.status_code == 400 and "onderbroken" in caught.value.message


def follow_up_control(client: TestClient, submitted: Submitted) -> dict[str, str]:
    view = enter_code(client, submitted.code)
    tag = _DATA.search(view.text)
    assert tag, "the follow-up page has the upload control"
    return dict(re.findall(r'data-([a-z-]+)="([^"]*)"', tag.group(0)))


def test_the_follow_up_page_adds_a_file_to_the_report(client: TestClient, submitted: Submitted,
                                                      sessions: sessionmaker[Session], keys: Keys) -> None:
    control = follow_up_control(client, submitted)
    sent = client.post("/opvolgen/bestanden", content=samples.docx_with_author(), headers={
        "X-CSRF-Token": control["token"], "X-Toegang": control["access"], "X-Metadata": "verwijderen"})
    assert sent.status_code == 200, sent.text
    assert "verwijderd: auteur" in sent.json()["message"] and "bij je melding gevoegd" in sent.json()["message"]
    view = enter_code(client, submitted.code)
    assert "Word-document" in view.text and "Metadata: verwijderd: auteur" in view.text
    with sessions.begin() as session:
        assert [f.label for f in evidence.list_files(session, submitted.report_id)] == ["Word-document"]
        # The staff hear of the file as of a reporter's message (besides the new report's own event).
        assert session.scalars(select(NotificationEvent.kind).where(
            NotificationEvent.report_id == submitted.report_id).order_by(NotificationEvent.id)).all() == [
            Kind.NEW_REPORT, Kind.REPORTER_MESSAGE]
    expired = client.post("/opvolgen/bestanden", content=b"tekst", headers={
        "X-CSRF-Token": control["token"], "X-Toegang": "ongeldig"})
    assert expired.status_code == 400 and "niet bewaard" in expired.json()["error"]
    with sessions.begin() as session:
        casework.change_status(session, submitted.reference, "afgesloten", "klaar")
    closed = client.post("/opvolgen/bestanden", content=b"tekst", headers={
        "X-CSRF-Token": control["token"], "X-Toegang": control["access"]})
    assert closed.status_code == 409 and "afgesloten" in closed.json()["error"]


def test_downloads_follow_the_scope_and_need_the_report_key(client: TestClient, sessions: sessionmaker[Session],
                                                            keys: Keys) -> None:
    create_users(sessions)
    submitted = submit(sessions, keys)
    with sessions.begin() as session:
        evidence.add_file(session, submitted.report_id, evidence.prepare(b"bewijs"))
        file_id = evidence.list_files(session, submitted.report_id)[0].id
        # A coordinator who joins after the report came in: in scope, but no wrapped key for it (yet).
        accounts.create_user(session, "coord-nieuw", "Nieuwe Coordinator", Role.COORDINATOR, PASSWORD,
                             profile_id="vlaamse-overheid")
    url = f"/beheer/meldingen/{submitted.reference}/bestanden/{file_id}"
    login_as(client, "coord-b")  # another organisation
    assert client.get(url).status_code == 404
    login_as(client, "coord-nieuw")
    locked = client.get(url)
    assert locked.status_code == 423 and b"bewijs" not in locked.content
    assert "Wacht tot je toegang krijgt" in locked.text
    assert "wachtzin" not in locked.text.lower() and "ontgrendel" not in locked.text.lower()
    login_as(client, "coord-a")
    assert client.get(url).content == b"bewijs"
    assert client.get(f"/beheer/meldingen/{submitted.reference}/bestanden/{file_id + 1}").status_code == 404
    with sessions.begin() as session:
        assert len(session.scalars(select(AuditEntry).where(AuditEntry.action == "file_downloaded")).all()) == 1


def test_a_file_of_several_megabytes_is_read_whole_in_memory(client: TestClient, app: FastAPI,
                                                             sessions: sessionmaker[Session],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Above the 1 MB where a spooled upload would go to disk (GlobaLeaks had its uploads break there)."""
    import tempfile

    def no_temporary_files(*_: object, **__: object) -> None:
        raise AssertionError("an upload went through a temporary file")

    for name in ("SpooledTemporaryFile", "NamedTemporaryFile", "TemporaryFile", "mkstemp"):
        monkeypatch.setattr(tempfile, name, no_temporary_files)
    data = b"Regel van het verslag.\n" * 150_000  # about 3.3 MB
    sent = send_chat_file(client, data)
    assert sent.status_code == 200 and "3,3 MB" in sent.json()["message"]
    with sessions.begin() as session:
        assert [f.size for f in evidence.pending(session, owner(app))] == [len(data)]
