"""Fixtures for the report store (reports and back office tables): temporary key directory, SQLite file and a
throwaway PostgreSQL cluster, and `keys`: a coordinator of vlaamse-overheid with a key pair, whose key opens the
reports submitted after it exists (`keys.private` is a `report_keys.Reader`). A plugin (tests/conftest.py);
tests/reports/ and tests/staff/ use `report_env` for every test.

The PostgreSQL cluster is started once per session from Debian's server binaries (`make test-deps` installs them)
in a temporary directory owned by the `postgres` user when running as root, on a free port on 127.0.0.1; every
test gets its own database, migrated with Alembic.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from nacl.public import PrivateKey
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from devtools.postgres import PostgresServer, PostgresUnavailable, temporary_postgres
from integrity.reports import db
from integrity.reports.cli import upgrade
from integrity.reports.report_keys import Reader
from integrity.reports.schemas import ReportDraft
from integrity.staff import accounts, user_keys
from integrity.staff.models import Role, StaffUser

PASSPHRASE = "correct horse battery staple"  # the old installation key's, in the migration tests
READER_PASSWORD = "lezer wachtwoord 2026"
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
    """A reader: coordinator `lezer` of vlaamse-overheid. Reports of that organisation get a grant for them."""

    user_id: int
    user_private: PrivateKey
    directory: Path

    @property
    def private(self) -> Reader:
        return Reader(self.user_id, self.user_private)


def make_reader(session: Session, username: str = "lezer", role: Role = Role.COORDINATOR,
                profile_id: str = "vlaamse-overheid", actor: str | None = None,
                password: str = READER_PASSWORD) -> tuple[StaffUser, PrivateKey]:
    """A staff member with a key pair (made by create_user), and their private key opened with the password."""
    user = accounts.create_user(session, username, username, role, password, profile_id=profile_id, actor=actor)
    private = user_keys.unlock(user, password)
    assert private is not None
    return user, private


@pytest.fixture
def keys(report_env: Path, sessions: sessionmaker[Session]) -> Keys:
    """`lezer` for vlaamse-overheid (its key is `keys.private`) and `lezer-fp` for federale-politie, so that
    reports of both organisations can be submitted (a report nobody could read is refused: errors.NoReaders)."""
    with sessions.begin() as session:
        user, private = make_reader(session)
        make_reader(session, "lezer-fp", profile_id="federale-politie")
        user_id = user.id
    return Keys(user_id, private, report_env)


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
