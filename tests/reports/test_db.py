"""Engine and session helpers."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text

from integrity import settings
from integrity.reports import db
from integrity.reports.cli import upgrade
from integrity.reports.deadlines import utcnow
from integrity.reports.models import FollowUpAttempt
from integrity.settings import DomainSettings


def test_urls_are_normalised_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    assert DomainSettings.from_env({}).database_url == settings.DEFAULT_DATABASE_URL
    assert settings.DEFAULT_DATABASE_URL.endswith("/var/integrity.db")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p%40ss@db.example/integrity")
    assert db.normalise_url(DomainSettings.from_env().database_url).drivername == "postgresql+psycopg"
    with pytest.raises(ValueError, match="Unsupported DATABASE_URL"):
        db.make_engine("mysql://u@localhost/x")


def test_sqlite_pragmas_and_session_scope(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "nested" / "var" / "integrity.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    url = DomainSettings.from_env().database_url
    factory = db.session_factory(url)
    assert db.session_factory(url) is factory
    engine = factory.kw["bind"]
    try:
        upgrade(engine)
        assert path.exists()
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar_one() == 1

        with db.session_scope(factory) as session:
            session.add(FollowUpAttempt(key_hash="a" * 64, at=utcnow()))
        with pytest.raises(RuntimeError), db.session_scope(factory) as session:
            session.add(FollowUpAttempt(key_hash="b" * 64, at=utcnow()))
            raise RuntimeError("boom")
        with db.session_scope(factory) as session:
            assert list(session.scalars(select(FollowUpAttempt.key_hash))) == ["a" * 64]
            stored = session.scalar(select(FollowUpAttempt.at))
            assert stored is not None and stored.tzinfo is not None
    finally:
        engine.dispose()
