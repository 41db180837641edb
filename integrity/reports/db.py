"""Engine and sessions from DATABASE_URL.

SQLite (default, `var/integrity.db` in the repository) runs in WAL mode with foreign keys on, a busy timeout and
`BEGIN IMMEDIATE` transactions, so concurrent writers wait for each other instead of failing half-way (this also
applies to read-only sessions: keep sessions short).
PostgreSQL uses psycopg 3 (`postgresql+psycopg://`; a bare `postgresql://` URL is mapped to it).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DATABASE_URL = f"sqlite:///{REPO / 'var' / 'integrity.db'}"
SQLITE_BUSY_TIMEOUT_SECONDS = 30

_lock = threading.Lock()
_factories: dict[str, sessionmaker[Session]] = {}


def database_url() -> str:
    """DATABASE_URL from the environment, else the SQLite file in `var/`."""
    return os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL


def normalise_url(url: str | URL) -> URL:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _configure_sqlite(engine: Engine, busy_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself (see `_on_begin`); pysqlite's own handling defers it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Take the write lock at the start: a deferred transaction that reads and then writes can fail with
        # "database is locked" without waiting for the busy timeout.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(
    url: str | URL | None = None, *, sqlite_busy_timeout: float = SQLITE_BUSY_TIMEOUT_SECONDS, **kwargs: Any
) -> Engine:
    """A new engine for `url` (default: `database_url()`). The caller disposes of it."""
    parsed = normalise_url(url or database_url())
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        connect_args = {"timeout": sqlite_busy_timeout, **kwargs.pop("connect_args", {})}
        engine = create_engine(parsed, connect_args=connect_args, **kwargs)
        _configure_sqlite(engine, sqlite_busy_timeout)
        return engine
    if backend == "postgresql":
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(parsed, **kwargs)
    raise ValueError(f"Unsupported DATABASE_URL backend '{backend}': use sqlite:/// or postgresql+psycopg://")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def session_factory(url: str | None = None) -> sessionmaker[Session]:
    """A process-wide session factory per URL (default: `database_url()`)."""
    key = normalise_url(url or database_url()).render_as_string(hide_password=False)
    with _lock:
        factory = _factories.get(key)
        if factory is None:
            factory = _factories[key] = make_sessionmaker(make_engine(key))
        return factory


@contextmanager
def session_scope(factory: sessionmaker[Session] | None = None) -> Iterator[Session]:
    """A session that commits what is still pending at the end, rolls back on error and is always closed.

    The service functions commit their own work (a receipt code may only be shown once the report is stored),
    so the final commit here usually has nothing left to do.
    """
    session = (factory or session_factory())()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
