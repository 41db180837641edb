"""Engine and sessions for the report database (the URL comes from the caller: `DomainSettings.database_url`).

SQLite (default, `var/integrity.db` in the repository) runs in WAL mode with foreign keys on, a busy timeout and
`BEGIN IMMEDIATE` transactions, so concurrent writers wait for each other instead of failing half-way (this also
applies to read-only sessions: keep sessions short).
PostgreSQL uses psycopg 3 (`postgresql+psycopg://`; a bare `postgresql://` URL is mapped to it).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from integrity.errors import UserFacingError
from integrity.notifications import models as _notification_tables  # noqa: F401
from integrity.reports import models as _report_tables  # noqa: F401  (every table mapped before a session)
from integrity.reports.errors import ReportBusy
from integrity.staff import models as _staff_tables  # noqa: F401

SQLITE_BUSY_TIMEOUT_SECONDS = 30
LOCK_RETRIES = 5  # SQLite "database is locked" after the busy timeout: retry with backoff
T = TypeVar("T")

_lock = threading.Lock()
_factories: dict[str, sessionmaker[Session]] = {}


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
    url: str | URL, *, sqlite_busy_timeout: float = SQLITE_BUSY_TIMEOUT_SECONDS, **kwargs: Any
) -> Engine:
    """A new engine for `url` (`DomainSettings.database_url`). The caller disposes of it."""
    parsed = normalise_url(url)
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


def session_factory(url: str) -> sessionmaker[Session]:
    """A process-wide session factory per URL (`DomainSettings.database_url`)."""
    key = normalise_url(url).render_as_string(hide_password=False)
    with _lock:
        factory = _factories.get(key)
        if factory is None:
            factory = _factories[key] = make_sessionmaker(make_engine(key))
        return factory


@contextmanager
def transaction(session: Session) -> Iterator[Session]:
    """One use case on `session`: commit at the end, roll back if it raises.

    The domain functions never commit; the boundary (an action, a web route, a CLI command) wraps each use case
    in one of these, so a change and its audit entry are stored together or not at all. A `UserFacingError` with
    `keeps_changes` (a failed login or receipt code, counted for the lock-out) is committed before it goes on.
    """
    try:
        yield session
    except UserFacingError as exc:
        if exc.keeps_changes:
            session.commit()
        else:
            session.rollback()
        raise
    except BaseException:
        session.rollback()
        raise
    session.commit()


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A new session holding one `transaction`, always closed."""
    with factory() as session, transaction(session):
        yield session


def is_locked(exc: OperationalError) -> bool:
    """SQLite's "database is locked" after the busy timeout (another writer held the lock all that time)."""
    return "database is locked" in str(exc.orig) or "database is busy" in str(exc.orig)


def run(factory: sessionmaker[Session], work: Callable[[Session], T], *, attempts: int = LOCK_RETRIES) -> T:
    """`work` in its own session and transaction; a SQLite lock is retried with backoff, then ReportBusy."""
    attempt = 0
    while True:
        try:
            with session_scope(factory) as session:
                return work(session)
        except OperationalError as exc:
            attempt += 1
            if not is_locked(exc):
                raise
            if attempt == attempts:
                raise ReportBusy(f"Database still locked after {attempts} attempts") from exc
            time.sleep(min(1.0, 0.05 * 2**(attempt - 1)) * (0.5 + secrets.randbelow(1000) / 1000))
