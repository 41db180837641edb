"""Fixtures for the report store (reports and back office tables): temporary key directory, SQLite file and a
throwaway PostgreSQL cluster. A plugin (tests/conftest.py); tests/reports/ and tests/staff/ use `report_env` for
every test.

The PostgreSQL cluster is started once per session from Debian's server binaries (`make test-deps` installs them)
in a temporary directory owned by the `postgres` user when running as root, on a free port on 127.0.0.1; every
test gets its own database, migrated with Alembic.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from nacl.public import PrivateKey, PublicKey
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from devtools.postgres import PostgresServer, PostgresUnavailable, temporary_postgres
from integrity.reports import crypto, db
from integrity.reports.cli import upgrade
from integrity.reports.schemas import ReportDraft

PASSPHRASE = "correct horse battery staple"
BACKENDS = ("sqlite", "postgresql")


@pytest.fixture
def report_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Cheap Argon2 parameters and a fresh key directory for every test; no ambient DATABASE_URL or passphrase."""
    key_dir = tmp_path / "keys"
    monkeypatch.setenv("INTEGRITY_ARGON2_PROFILE", "test")
    monkeypatch.setenv("INTEGRITY_KEY_DIR", str(key_dir))
    for name in ("DATABASE_URL", "INTEGRITY_KEY_PASSPHRASE", "INTEGRITY_NEW_KEY_PASSPHRASE",
                 "INTEGRITY_RETENTION_DAYS"):
        monkeypatch.delenv(name, raising=False)
    return key_dir


# --- PostgreSQL ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    try:
        with temporary_postgres() as server:
            yield server
    except PostgresUnavailable as exc:
        pytest.fail(str(exc))


# --- databases, sessions, keys ---------------------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def empty_db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """URL of an empty database on the selected backend."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'reports.db'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database()


@pytest.fixture
def empty_engine(empty_db_url: str) -> Iterator[Engine]:
    engine = db.make_engine(empty_db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def engine(empty_engine: Engine) -> Engine:
    """A database migrated to head with Alembic."""
    upgrade(empty_engine)
    return empty_engine


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return db.make_sessionmaker(engine)


@pytest.fixture
def session(sessions: sessionmaker[Session]) -> Iterator[Session]:
    with sessions() as session:
        yield session


@dataclass(frozen=True)
class Keys:
    public: PublicKey
    private: PrivateKey
    directory: Path


@pytest.fixture
def keys(report_env: Path) -> Keys:
    crypto.create_keys(PASSPHRASE)
    return Keys(crypto.load_public_key(), crypto.load_private_key(PASSPHRASE), report_env)


def make_draft(**changes: object) -> ReportDraft:
    fields: dict[str, object] = {
        "category": "fraude_corruptie",
        "what_happened": "De diensthoofd laat facturen van een bevriend bedrijf dubbel betalen.",
        "when": "sinds maart",
        "where": "afdeling aankoop, gebouw B",
        "people_involved": "het diensthoofd en een leverancier",
        "evidence": "kopieën van twee facturen",
        "anonymous": True,
        "contact": None,
        "preferred_route": "audit_vlaanderen",
        "profile_id": "vlaamse-overheid",
        "channel": "telegram",
    }
    fields.update(changes)
    return ReportDraft(**fields)  # type: ignore[arg-type]
