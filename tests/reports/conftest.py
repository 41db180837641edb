"""Fixtures for the report store: temporary key directory, SQLite file and a throwaway PostgreSQL cluster.

The PostgreSQL cluster is started once per session from Debian's server binaries (`make test-deps` installs them)
in a temporary directory owned by the `postgres` user when running as root, on a free port on 127.0.0.1; every
test gets its own database, migrated with Alembic.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from nacl.public import PrivateKey, PublicKey
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from integrity.reports import crypto, db
from integrity.reports.cli import upgrade
from integrity.reports.service import ReportDraft

PASSPHRASE = "correct horse battery staple"
BACKENDS = ("sqlite", "postgresql")
_DATABASE_NUMBERS = itertools.count(1)


@pytest.fixture(autouse=True)
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


def _pg_bindir() -> Path | None:
    candidates = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if not candidates:
        return None
    newest = max(candidates, key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0)
    return Path(newest).parent


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    bindir: Path
    root: Path
    port: int
    as_postgres: bool

    @property
    def data(self) -> Path:
        return self.root / "data"

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        import psycopg

        name = f"reports_{next(_DATABASE_NUMBERS)}"
        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres",
                             autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _fail_with(server: PostgresServer, step: str, result: subprocess.CompletedProcess[str]) -> None:
    log = server.root / "server.log"
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
    pytest.fail(f"PostgreSQL {step} failed (exit {result.returncode}):\n{result.stdout}\n{result.stderr}\n{tail}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = _pg_bindir()
    if bindir is None or not (bindir / "pg_ctl").exists():
        pytest.fail(
            "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb and pg_ctl). "
            "Run `make test-deps` (installs the Debian package `postgresql`) and run the tests again."
        )
    as_postgres = os.geteuid() == 0
    root = Path(tempfile.mkdtemp(prefix="integrity-pg-"))
    if as_postgres:
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            shutil.rmtree(root, ignore_errors=True)
            pytest.fail("Running as root but there is no `postgres` system user: run `make test-deps`.")
        os.chown(root, user.pw_uid, user.pw_gid)
    server = PostgresServer(bindir, root, _free_port(), as_postgres)
    try:
        result = server.run("initdb", "-D", str(server.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                            "--locale=C", "--no-sync")
        if result.returncode != 0:
            _fail_with(server, "initdb", result)
        options = (f"-h 127.0.0.1 -p {server.port} -k {root} -F -c synchronous_commit=off "
                   "-c full_page_writes=off -c max_connections=200")
        result = server.run("pg_ctl", "-D", str(server.data), "-l", str(root / "server.log"), "-w", "-t", "60",
                            "-o", options, "start")
        if result.returncode != 0:
            _fail_with(server, "start", result)
        yield server
    finally:
        if (server.data / "postmaster.pid").exists():
            server.run("pg_ctl", "-D", str(server.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


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
