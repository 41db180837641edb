"""The scheduled retention purge that the web app runs."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from integrity.reports import casework, deadlines, retention, submission
from integrity.settings import DomainSettings
from tests.plugins.report_store import Keys, make_draft


def test_retention_days_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INTEGRITY_RETENTION_DAYS", raising=False)
    assert retention.retention_days(DomainSettings.from_env().retention) == 365
    monkeypatch.setenv("INTEGRITY_RETENTION_DAYS", "30")
    assert retention.retention_days(DomainSettings.from_env().retention) == 30
    monkeypatch.setenv("INTEGRITY_RETENTION_DAYS", "dertig")
    with pytest.raises(ValueError, match="not a whole number"):
        retention.retention_days(DomainSettings.from_env().retention)


async def test_scheduled_purge_deletes_old_closed_reports_and_survives_failures(
        sessions: sessionmaker[Session], keys: Keys, caplog: pytest.LogCaptureFixture) -> None:
    with sessions.begin() as session:
        old = submission.submit_report(session, make_draft(),
                                    now=deadlines.utcnow() - timedelta(days=40))
        kept = submission.submit_report(session, make_draft())
        casework.change_status(session, old.reference, "afgesloten", "klaar",
                              now=deadlines.utcnow() - timedelta(days=35))
    task = asyncio.create_task(retention.purge_periodically(sessions, days=30, interval_seconds=0.05))
    await asyncio.sleep(0.3)
    task.cancel()
    with sessions.begin() as session:
        assert [s.reference for s in casework.list_reports(session)] == [kept.reference]

    def broken() -> Session:
        raise RuntimeError("database down")

    caplog.set_level("ERROR")
    task = asyncio.create_task(retention.purge_periodically(broken, days=30, interval_seconds=0.05))  # type: ignore[arg-type]
    await asyncio.sleep(0.2)
    task.cancel()
    assert "Retention purge failed" in caplog.text
