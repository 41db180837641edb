"""Operator commands through `main([...])` with a temporary DATABASE_URL and key directory (SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from integrity.reports import casework, db, reporter, submission
from integrity.reports.cli import main
from tests.plugins.report_store import READER_PASSWORD, make_draft, make_reader

SECRET_TEXT = "De kassa van de kantine klopt al drie maanden niet"


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("INTEGRITY_STAFF_PASSWORD", READER_PASSWORD)
    return url


@pytest.fixture
def cli_session(cli_env: str) -> Iterator[Session]:
    engine = db.make_engine(cli_env)
    with db.make_sessionmaker(engine)() as session:
        yield session
    engine.dispose()


def reader(cli_env: str) -> None:
    """Coordinator `lezer` (vlaamse-overheid) with a key pair, so that reports can be submitted and opened."""
    engine = db.make_engine(cli_env)
    with db.make_sessionmaker(engine).begin() as session:
        make_reader(session)
    engine.dispose()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_migrate_list_show(cli_env: str, report_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "migrate")[0] == 0
    reader(cli_env)

    code, out, _ = run(capsys, "list")
    assert code == 0 and "No reports." in out

    engine = db.make_engine(cli_env)
    with db.make_sessionmaker(engine).begin() as session:
        submitted = submission.submit_report(
            session, make_draft(what_happened=SECRET_TEXT, anonymous=False, contact="tel. 0470 00 00 00"),
            now=datetime.now(timezone.utc) - timedelta(days=10))
        reporter.add_reporter_message(session, submitted.receipt_code, "Nog een detail")
    engine.dispose()

    code, out, _ = run(capsys, "list")
    assert code == 0 and submitted.reference in out and "ACK OVERDUE" in out
    assert SECRET_TEXT not in out
    code, out, _ = run(capsys, "list", "--overdue", "--profile", "vlaamse-overheid", "--status", "nieuw")
    assert submitted.reference in out
    code, out, _ = run(capsys, "list", "--profile", "federale-politie")
    assert "No reports." in out

    code, out, _ = run(capsys, "show", submitted.reference, "--user", "lezer")
    assert code == 0
    assert SECRET_TEXT in out and "tel. 0470 00 00 00" in out and "Nog een detail" in out
    assert "nieuw" in out and READER_PASSWORD not in out


def test_show_with_wrong_password_or_without_a_key_fails_cleanly(
    cli_session: Session, cli_env: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(capsys, "migrate")[0] == 0
    reader(cli_env)
    submitted = submission.submit_report(cli_session, make_draft())
    make_reader(cli_session, "nieuwkomer")  # in scope, but created after the report: no wrapped key
    cli_session.commit()
    code, out, err = run(capsys, "show", submitted.reference, "--user", "nieuwkomer")
    assert code == 1 and "no key" in err and "Traceback" not in err and "diensthoofd" not in out
    monkeypatch.setenv("INTEGRITY_STAFF_PASSWORD", "this is not the password")
    code, out, err = run(capsys, "show", submitted.reference, "--user", "lezer")
    assert code == 1
    assert "with that password" in err and "Traceback" not in err
    assert "diensthoofd" not in out
    monkeypatch.setenv("INTEGRITY_STAFF_PASSWORD", READER_PASSWORD)
    code, _, err = run(capsys, "show", "M-2026-ZZZZZZ", "--user", "lezer")
    assert code == 1 and "No report" in err


def test_purge_uses_retention_days(
    cli_session: Session, report_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(capsys, "migrate")[0] == 0
    make_reader(cli_session)
    long_ago = datetime.now(timezone.utc) - timedelta(days=400)
    old = submission.submit_report(cli_session, make_draft(), now=long_ago)
    casework.change_status(cli_session, old.reference, "afgesloten", now=long_ago + timedelta(days=1))
    recent = submission.submit_report(cli_session, make_draft(), now=long_ago)
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


def test_missing_password_without_terminal(cli_env: str, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    assert run(capsys, "migrate")[0] == 0
    monkeypatch.delenv("INTEGRITY_STAFF_PASSWORD")
    code, _, err = run(capsys, "show", "M-2026-ZZZZZZ", "--user", "lezer")
    assert code == 1 and "INTEGRITY_STAFF_PASSWORD" in err
