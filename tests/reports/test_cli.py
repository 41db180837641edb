"""Operator commands through `main([...])` with a temporary DATABASE_URL and key directory (SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from integrity.reports import casework, crypto, db, reporter, submission
from integrity.reports.cli import main
from tests.plugins.report_store import PASSPHRASE, make_draft

SECRET_TEXT = "De kassa van de kantine klopt al drie maanden niet"


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("INTEGRITY_KEY_PASSPHRASE", PASSPHRASE)
    return url


@pytest.fixture
def cli_session(cli_env: str) -> Iterator[Session]:
    engine = db.make_engine(cli_env)
    with db.make_sessionmaker(engine)() as session:
        yield session
    engine.dispose()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_migrate_keygen_list_show(cli_env: str, report_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "migrate")[0] == 0
    code, out, _ = run(capsys, "keygen")
    assert code == 0 and str(report_env) in out
    assert PASSPHRASE not in out
    code, _, err = run(capsys, "keygen")
    assert code == 1 and "already exist" in err and "Traceback" not in err

    code, out, _ = run(capsys, "list")
    assert code == 0 and "No reports." in out

    engine = db.make_engine(cli_env)
    with db.make_sessionmaker(engine).begin() as session:
        submitted = submission.submit_report(
            session, make_draft(what_happened=SECRET_TEXT, anonymous=False, contact="tel. 0470 00 00 00"),
            crypto.load_public_key(), now=datetime.now(timezone.utc) - timedelta(days=10))
        reporter.add_reporter_message(session, submitted.receipt_code, "Nog een detail")
    engine.dispose()

    code, out, _ = run(capsys, "list")
    assert code == 0 and submitted.reference in out and "ACK OVERDUE" in out
    assert SECRET_TEXT not in out
    code, out, _ = run(capsys, "list", "--overdue", "--profile", "vlaamse-overheid", "--status", "nieuw")
    assert submitted.reference in out
    code, out, _ = run(capsys, "list", "--profile", "federale-politie")
    assert "No reports." in out

    code, out, _ = run(capsys, "show", submitted.reference)
    assert code == 0
    assert SECRET_TEXT in out and "tel. 0470 00 00 00" in out and "Nog een detail" in out
    assert "nieuw" in out and PASSPHRASE not in out


def test_show_with_wrong_passphrase_fails_cleanly(
    cli_session: Session, report_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(capsys, "migrate")[0] == 0
    assert run(capsys, "keygen")[0] == 0
    submitted = submission.submit_report(cli_session, make_draft(), crypto.load_public_key())
    cli_session.commit()
    monkeypatch.setenv("INTEGRITY_KEY_PASSPHRASE", "this is not the passphrase")
    code, out, err = run(capsys, "show", submitted.reference)
    assert code == 1
    assert "Wrong passphrase" in err and "Traceback" not in err
    assert "diensthoofd" not in out
    monkeypatch.setenv("INTEGRITY_KEY_PASSPHRASE", PASSPHRASE)
    code, _, err = run(capsys, "show", "M-2026-ZZZZZZ")
    assert code == 1 and "No report" in err


def test_purge_uses_retention_days(
    cli_session: Session, report_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(capsys, "migrate")[0] == 0
    assert run(capsys, "keygen")[0] == 0
    public_key = crypto.load_public_key()
    long_ago = datetime.now(timezone.utc) - timedelta(days=400)
    old = submission.submit_report(cli_session, make_draft(), public_key, now=long_ago)
    casework.change_status(cli_session, old.reference, "afgesloten", now=long_ago + timedelta(days=1))
    recent = submission.submit_report(cli_session, make_draft(), public_key, now=long_ago)
    casework.change_status(cli_session, recent.reference, "afgesloten", now=long_ago + timedelta(days=300))
    cli_session.commit()
    cli_session.close()

    code, out, _ = run(capsys, "purge")  # default 365 days
    assert code == 0 and "Deleted 1 report(s)" in out and "365" in out
    monkeypatch.setenv("INTEGRITY_RETENTION_DAYS", "30")
    code, out, _ = run(capsys, "purge")
    assert code == 0 and "Deleted 1 report(s)" in out
    assert "No reports." in run(capsys, "list")[1]
    code, out, _ = run(capsys, "purge", "--older-than-days", "0")
    assert code == 0 and "Deleted 0 report(s)" in out
    monkeypatch.setenv("INTEGRITY_RETENTION_DAYS", "a year")
    code, _, err = run(capsys, "purge")
    assert code == 1 and "INTEGRITY_RETENTION_DAYS" in err


def test_rotate(cli_session: Session, report_env: Path, capsys: pytest.CaptureFixture[str],
                monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(capsys, "migrate")[0] == 0
    assert run(capsys, "keygen")[0] == 0
    submitted = submission.submit_report(cli_session, make_draft(what_happened=SECRET_TEXT), crypto.load_public_key())
    cli_session.commit()
    cli_session.close()
    monkeypatch.setenv("INTEGRITY_NEW_KEY_PASSPHRASE", "another long passphrase")
    code, out, _ = run(capsys, "rotate")
    assert code == 0 and "re-sealed 1 reports" in out
    monkeypatch.setenv("INTEGRITY_KEY_PASSPHRASE", "another long passphrase")
    code, out, _ = run(capsys, "show", submitted.reference)
    assert code == 0 and SECRET_TEXT in out


def test_missing_passphrase_without_terminal(cli_env: str, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INTEGRITY_KEY_PASSPHRASE")
    code, _, err = run(capsys, "keygen")
    assert code == 1 and "INTEGRITY_KEY_PASSPHRASE" in err
