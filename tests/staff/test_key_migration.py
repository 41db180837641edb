"""`python -m integrity.staff migrate-keys` on SQLite and PostgreSQL: an installation whose reports, messages,
notes, status reasons and evidence files are sealed to the old installation key is re-sealed to per-report keys
wrapped for the staff in scope, and the old private key file is destroyed afterwards; a migration that would
leave a report unreadable changes nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from nacl.public import PrivateKey, PublicKey
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from integrity.reports import casework, crypto, evidence, installation_key, report_keys, reporter, submission
from integrity.reports.models import Report, ReportFile, ReportKeyGrant, ReportMessage, StatusChange
from integrity.reports.report_keys import Reader
from integrity.staff import accounts, cases, evidence_files, user_keys
from integrity.staff.__main__ import main
from integrity.staff.models import AuditEntry, CaseNote, Role, StaffUser
from tests.plugins.report_store import PASSPHRASE, make_draft

PASSWORD = "een lang wachtwoord 42"
SECRET = "Iemand op de dienst verkoopt de adresgegevens van burgers"
NOTE = "Interne notitie: de logboeken van de databank opvragen"
REPLY = "Dank je, over welke periode gaat het?"
CLOSE = "Onderzocht en doorgegeven aan de tuchtoverheid"
EVIDENCE = b"Uittreksel van de verkochte adressen, wijk Zuid"


def staff(session: Session, name: str, role: Role = Role.COORDINATOR, actor: str | None = None) -> StaffUser:
    return accounts.create_user(session, name, name, role, PASSWORD, profile_id="vlaamse-overheid", actor=actor)


def key_of(user: StaffUser) -> PrivateKey:
    private = user_keys.unlock(user, PASSWORD)
    assert private is not None
    return private


def to_installation_key(session: Session, report: Report, reader: Reader, public: PublicKey) -> None:
    """Turn a report into one as the previous version stored it: everything sealed to the installation key."""
    private = report_keys.report_private_key(session, report, reader)

    def reseal(ciphertext: bytes) -> bytes:
        return crypto.seal(public, crypto.unseal(private, ciphertext))

    report.content_sealed = reseal(report.content_sealed)
    report.reporter_key_sealed = reseal(report.reporter_key_sealed)
    report.close_reason_sealed = reseal(report.close_reason_sealed) if report.close_reason_sealed else None
    for message in session.scalars(select(ReportMessage).where(ReportMessage.report_id == report.id)):
        message.body_sealed = reseal(message.body_sealed)
    for change in session.scalars(select(StatusChange).where(StatusChange.report_id == report.id)):
        change.reason_sealed = reseal(change.reason_sealed) if change.reason_sealed else None
    for note in session.scalars(select(CaseNote).where(CaseNote.report_id == report.id)):
        note.body_sealed = reseal(note.body_sealed)
    for file in session.scalars(select(ReportFile).where(ReportFile.report_id == report.id)):
        file.content_sealed = reseal(file.content_sealed)  # the report-id prefix inside stays, as before
    report.public_key = None
    session.execute(delete(ReportKeyGrant).where(ReportKeyGrant.report_id == report.id))


@pytest.fixture
def old_installation(session: Session, engine: Engine, report_env: Path,
                     monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Two reports on the installation key (one with a message, a reply, a note and a close reason), staff of
    whom one logged in after the upgrade (key pair) and one did not (no key pair yet)."""
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("INTEGRITY_KEY_PASSPHRASE", PASSPHRASE)
    installation_key.create_keys(PASSPHRASE)
    public = installation_key.load_public_key()
    coordinator = staff(session, "coord")
    handler = staff(session, "handler-audit", Role.HANDLER, actor="audit_vlaanderen")
    reader = Reader(coordinator.id, key_of(coordinator))
    full = submission.submit_report(session, make_draft(what_happened=SECRET, preferred_route="audit_vlaanderen"))
    reporter.add_reporter_message(session, full.receipt_code, "Het gaat om de adressen van de wijk Zuid")
    full_id = session.scalar(select(Report.id).where(Report.reference == full.reference))
    assert full_id is not None
    evidence.add_file(session, full_id, evidence.prepare(EVIDENCE))
    cases.reply(session, coordinator, full.reference, REPLY, reader.private_key)
    cases.add_note(session, coordinator, full.reference, NOTE)
    cases.change_status(session, coordinator, full.reference, "afgesloten", CLOSE)
    plain = submission.submit_report(session, make_draft(preferred_route=None))
    for reference in (full.reference, plain.reference):
        report = session.scalar(select(Report).where(Report.reference == reference))
        assert report is not None
        to_installation_key(session, report, reader, public)
    late = staff(session, "coord-laat")  # an account from before the upgrade that has not logged in since
    late.public_key = late.private_key_box = None
    session.commit()
    assert handler.id
    return {"full": full.reference, "plain": plain.reference, "code": full.receipt_code}


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_migration_rewraps_every_report_for_the_staff_in_scope_and_destroys_the_old_key(
        session: Session, old_installation: dict[str, str], report_env: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    coordinator = accounts.get_user(session, "coord")
    assert coordinator is not None
    with pytest.raises(report_keys.NotMigrated):
        casework.read_report(session, old_installation["full"], Reader(coordinator.id, key_of(coordinator)))
    session.rollback()

    code, out, err = run(capsys, "migrate-keys")
    assert code == 0, err
    assert "Migrated 2 report(s), 2 message(s), 1 note(s), 1 evidence file(s) and 1 status reason(s)" in out
    assert "coord-laat has no key pair yet and waits for 2 report(s)" in out
    assert "Destroyed the old installation key" in out
    assert not installation_key.keys_exist() and not (report_env / installation_key.PRIVATE_KEY_FILE).exists()
    assert PASSPHRASE not in out + err

    session.expire_all()
    handler = accounts.get_user(session, "handler-audit")
    assert handler is not None
    view = cases.open_case(session, coordinator, old_installation["full"], key_of(coordinator))
    assert view.detail.content["what_happened"] == SECRET
    assert [m.text for m in view.detail.messages] == ["Het gaat om de adressen van de wijk Zuid", REPLY]
    assert [n.text for n in view.notes] == [NOTE] and view.detail.close_reason == CLOSE
    assert view.detail.history[-1].reason == CLOSE
    migrated = session.scalar(select(Report).where(Report.reference == old_installation["full"]))
    assert migrated is not None
    [file] = evidence.list_files(session, migrated.id)
    assert evidence_files.download(session, coordinator, migrated.reference, file.id, key_of(coordinator))[1] == \
        EVIDENCE, "the evidence file is re-sealed to the report's key, its report binding intact"
    handler_view = cases.open_case(session, handler, old_installation["full"], key_of(handler))
    assert handler_view.detail.content["what_happened"] == SECRET  # forwarded to their actor: in scope
    with pytest.raises(report_keys.NoAccess):  # the plain report is not for Audit Vlaanderen
        casework.read_report(session, old_installation["plain"], Reader(handler.id, key_of(handler)))
    assert reporter.follow_up(session, old_installation["code"], "migration-test").reference == \
        old_installation["full"], "the receipt code still opens the reporter's copy"
    assert session.scalar(select(AuditEntry.detail).where(AuditEntry.action == "keys_migrated")).startswith(
        "2 reports, 2 messages, 1 notes, 1 files")
    session.commit()
    code, out, _ = run(capsys, "migrate-keys")  # the old key is gone: a second run cannot happen by accident
    assert code == 1


def test_migration_that_would_leave_a_report_unreadable_changes_nothing(
        session: Session, old_installation: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    for username in ("coord", "handler-audit"):  # nobody in scope has a key pair
        user = accounts.get_user(session, username)
        assert user is not None
        user.public_key = user.private_key_box = None
    session.commit()
    before = session.scalars(select(Report.content_sealed).order_by(Report.id)).all()
    session.commit()
    code, _, err = run(capsys, "migrate-keys")
    assert code == 1 and "would have no reader with a key pair" in err and "coord-laat" in err
    assert installation_key.keys_exist()
    session.expire_all()
    assert session.scalars(select(Report.content_sealed).order_by(Report.id)).all() == before
    assert session.scalar(select(Report.public_key).where(Report.public_key.is_not(None))) is None


def test_wrong_old_passphrase_changes_nothing(session: Session, old_installation: dict[str, str],
                                              capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTEGRITY_KEY_PASSPHRASE", "niet de oude wachtzin")
    code, _, err = run(capsys, "migrate-keys")
    assert code == 1 and "Wrong password or passphrase" in err and "Traceback" not in err
    assert installation_key.keys_exist()
    assert session.scalar(select(Report.public_key).where(Report.public_key.is_not(None))) is None
