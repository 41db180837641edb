"""Evidence files: types on the bytes, metadata removal, limits, pending chat files, sealing and the purge."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta

import pytest
from nacl.public import PrivateKey
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from integrity.reports import casework, crypto, deadlines, evidence, filetypes, metadata, report_keys, submission
from integrity.reports.errors import FileRefused, ReportClosed
from integrity.reports.models import PendingFile, Report, ReportFile
from integrity.staff import accounts, user_keys
from integrity.staff.models import StaffUser
from tests import evidence_samples as samples
from tests.plugins.report_store import READER_PASSWORD, Keys, make_draft

OWNER = "web-sender-pseudonym-0123456789abcdef"


def _report_id(session: Session, reference: str) -> str:
    return session.scalar(select(Report.id).where(Report.reference == reference))  # type: ignore[return-value]


def test_the_type_is_decided_on_the_bytes_not_the_name() -> None:
    assert filetypes.sniff(samples.photo_with_gps()) == filetypes.JPEG
    assert filetypes.sniff(samples.png_with_text()) == filetypes.PNG
    assert filetypes.sniff(samples.pdf_with_author()) == filetypes.PDF
    assert filetypes.sniff(samples.docx_with_author()) == filetypes.DOCX
    assert filetypes.sniff(b"Gewoon een verslag.\nTweede regel.") == filetypes.TEXT
    for refused in (samples.exe(), b"GIF89a" + bytes(20), b"\x00\x01 binary"):
        with pytest.raises(FileRefused) as caught:
            filetypes.sniff(refused)
        assert "kan ik niet aannemen" in caught.value.user_message
    plain_zip = io.BytesIO()
    with zipfile.ZipFile(plain_zip, "w") as archive:
        archive.writestr("a.txt", "x")
    with pytest.raises(FileRefused, match="office content type"):
        filetypes.sniff(plain_zip.getvalue())


def test_gps_and_camera_are_removed_from_a_photo_and_the_reporter_is_told() -> None:
    from PIL import Image

    cleaned = metadata.clean(samples.photo_with_gps())
    assert cleaned.stripped and "GPS-locatie" in cleaned.found and "cameramodel" in cleaned.found
    assert cleaned.summary().startswith("verwijderd: GPS-locatie")
    with Image.open(io.BytesIO(cleaned.data)) as image:
        assert dict(image.getexif()) == {} and image.size == (64, 48)
    assert samples.CAMERA_MODEL.encode() not in cleaned.data
    kept = metadata.clean(samples.photo_with_gps(), strip=False)
    assert kept.data == samples.photo_with_gps() and kept.summary().startswith("behouden op jouw vraag: GPS")


def test_pdf_and_office_authors_are_removed() -> None:
    pdf = metadata.clean(samples.pdf_with_author())
    assert {"auteur", "makende software", "producent (software)"} <= set(pdf.found)
    assert samples.PDF_AUTHOR.encode() not in pdf.data
    from pypdf import PdfReader
    assert len(PdfReader(io.BytesIO(pdf.data)).pages) == 1
    docx = metadata.clean(samples.docx_with_author())
    assert {"auteur", "laatst gewijzigd door", "software", "organisatie", "eigen documenteigenschappen"} \
        <= set(docx.found)
    with zipfile.ZipFile(io.BytesIO(docx.data)) as archive:
        unpacked = b"".join(archive.read(name) for name in archive.namelist())  # members are deflated
        assert samples.DOCX_AUTHOR.encode() not in unpacked and b"Aankoop" not in unpacked
        assert samples.DOCX_AUTHOR.encode() in b"".join(
            zipfile.ZipFile(io.BytesIO(samples.docx_with_author())).read(n) for n in ("docProps/core.xml",))
        assert b"vergadering" in archive.read("word/document.xml")
        assert archive.read("docProps/core.xml").endswith(b"core-properties\"/>")
    assert filetypes.sniff(docx.data) == filetypes.DOCX
    assert metadata.clean(samples.png_with_text()).found == ("tekstvelden",)


def test_bad_files_get_a_clear_dutch_message() -> None:
    with pytest.raises(FileRefused) as broken:
        evidence.prepare(samples.broken_jpeg())
    assert "beschadigd" in broken.value.user_message
    with pytest.raises(FileRefused) as bomb:
        evidence.prepare(samples.zip_bomb())
    assert "uitgepakt" in bomb.value.user_message
    with pytest.raises(FileRefused) as big:
        evidence.prepare(b"a" * (evidence.MAX_FILE_BYTES + 1))
    assert "te groot" in big.value.user_message and "10 MB" in big.value.user_message
    with pytest.raises(FileRefused, match="empty"):
        evidence.prepare(b"")
    with pytest.raises(FileRefused) as pdf:
        evidence.prepare(b"%PDF-1.7\n garbage")
    assert "PDF-document is beschadigd" in pdf.value.user_message


def test_pending_files_are_attached_with_the_report_and_sealed(sessions: sessionmaker[Session], keys: Keys) -> None:
    with sessions.begin() as session:
        assert evidence.stage(session, OWNER, evidence.prepare(samples.photo_with_gps())) == 1
        assert evidence.stage(session, OWNER, evidence.prepare(samples.pdf_with_author())) == 2
        assert evidence.stage(session, "someone else", evidence.prepare(b"ander bestand")) == 1
    with sessions.begin() as session:
        stored = session.scalars(select(PendingFile.content_encrypted)).all()
        assert all(b"Testcam" not in blob and b"%PDF" not in blob for blob in stored)
        submitted = submission.submit_report(session, make_draft())
        report_id = _report_id(session, submitted.reference)
        assert evidence.attach_pending(session, report_id, OWNER) == evidence.Attached(2, 0)
    with sessions.begin() as session:
        assert [f.media_type for f in evidence.pending(session, "someone else")] == ["text/plain"]
        assert evidence.pending(session, OWNER) == []
        files = evidence.list_files(session, report_id)
        assert [f.label for f in files] == ["foto (JPEG)", "PDF-document"]
        assert files[0].metadata_summary.startswith("verwijderd: GPS-locatie") and files[0].filename.endswith(".jpg")
        blob = session.scalar(select(ReportFile.content_sealed).where(ReportFile.id == files[0].id))
        assert blob is not None and b"JFIF" not in blob and b"\xff\xd8" not in blob[:2]
        report = session.get(Report, report_id)
        assert report is not None
        reader = session.get(StaffUser, keys.user_id)
        other = accounts.get_user(session, "lezer-fp")  # of another organisation: no grant for this report
        assert reader is not None and other is not None
        info, data = evidence.read_file(session, report, files[0].id, reader, keys.user_private)
        assert data.startswith(b"\xff\xd8") and info.size == len(data)
        with pytest.raises(report_keys.NoAccess):  # the reader's id with a key that does not open their grant
            evidence.read_file(session, report, files[0].id, reader, PrivateKey.generate())
        with pytest.raises(report_keys.NoAccess):  # a staff member with a key pair but no grant for the report
            evidence.read_file(session, report, files[0].id, other, user_keys.unlock(other, READER_PASSWORD))


def test_count_and_quota_are_enforced_and_nothing_confirmed_is_lost(
        sessions: sessionmaker[Session], keys: Keys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evidence, "MAX_FILES_PER_REPORT", 2)
    with sessions.begin() as session:
        evidence.stage(session, OWNER, evidence.prepare(b"een"))
        evidence.stage(session, OWNER, evidence.prepare(b"twee"))
        with pytest.raises(FileRefused) as caught:
            evidence.stage(session, OWNER, evidence.prepare(b"drie"))
        assert "hoogstens 2 bestanden" in caught.value.user_message
        report_id = _report_id(session, submission.submit_report(session, make_draft()).reference)
        evidence.add_file(session, report_id, evidence.prepare(b"via de opvolgpagina"))
        # One place left: one pending file is attached, the other stays pending (it is not deleted).
        assert evidence.attach_pending(session, report_id, OWNER) == evidence.Attached(1, 1)
        assert len(evidence.pending(session, OWNER)) == 1
        with pytest.raises(FileRefused):
            evidence.add_file(session, report_id, evidence.prepare(b"te veel"))
    monkeypatch.setattr(evidence, "REPORT_QUOTA_BYTES", 10)
    with sessions.begin() as session, pytest.raises(FileRefused) as quota:
        evidence.stage(session, "nieuw", evidence.prepare(b"elf tekens!"))
    assert "te groot" in quota.value.user_message


def test_closed_reports_take_no_files_and_the_purge_deletes_files(
        sessions: sessionmaker[Session], keys: Keys) -> None:
    old = deadlines.utcnow() - timedelta(days=40)
    with sessions.begin() as session:
        reference = submission.submit_report(session, make_draft(), now=old).reference
        report_id = _report_id(session, reference)
        evidence.add_file(session, report_id, evidence.prepare(b"bewijs"), now=old)
        evidence.stage(session, OWNER, evidence.prepare(b"vergeten"), now=old)
        casework.change_status(session, reference, "afgesloten", "klaar", now=old + timedelta(days=1))
        with pytest.raises(ReportClosed):
            evidence.add_file(session, report_id, evidence.prepare(b"te laat"))
    from integrity.reports import retention
    assert retention.purge_once(sessions, 30) == 1
    with sessions.begin() as session:
        assert session.scalars(select(ReportFile)).all() == []
        assert session.scalars(select(PendingFile)).all() == []


def test_a_file_is_sealed_to_its_own_report_and_bound_to_it(sessions: sessionmaker[Session], keys: Keys) -> None:
    with sessions.begin() as session:
        first = _report_id(session, submission.submit_report(session, make_draft()).reference)
        second = _report_id(session, submission.submit_report(session, make_draft()).reference)
        evidence.add_file(session, first, evidence.prepare(b"geheim bewijs"))
        evidence.add_file(session, second, evidence.prepare(b"ander bewijs"))
    with sessions.begin() as session:
        reader = session.get(StaffUser, keys.user_id)
        report, other = session.get(Report, first), session.get(Report, second)
        assert reader is not None and report is not None and other is not None
        [file], [other_file] = evidence.list_files(session, first), evidence.list_files(session, second)
        blob = session.scalar(select(ReportFile.content_sealed).where(ReportFile.id == file.id))
        assert blob is not None
        # Only the report's own key opens it (not the other report's), and it names its report inside.
        own = report_keys.report_private_key(session, report, keys.private)
        assert crypto.unseal(own, blob) == report.id.encode() + b"\ngeheim bewijs"
        with pytest.raises(crypto.DecryptionError):
            crypto.unseal(report_keys.report_private_key(session, other, keys.private), blob)
        # A file row moved to another report (tampering) does not open there.
        session.get(ReportFile, other_file.id).content_sealed = blob  # type: ignore[union-attr]
        with pytest.raises(crypto.DecryptionError):
            evidence.read_file(session, other, other_file.id, reader, keys.user_private)
        assert evidence.read_file(session, report, file.id, reader, keys.user_private)[1] == b"geheim bewijs"
