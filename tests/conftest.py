from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from devtools.stack import MODEL, RASA, REPO, Stack, StackError, prepare_reports, rasa_env, running_stack
from integrity.reports.report_keys import Reader

__all__ = ["REPO", "Stack", "rasa_env", "require_model"]
pytest_plugins = ["tests.plugins.report_store"]
API_TOKEN = "test-token-" + os.urandom(8).hex()
COORDINATOR_PASSWORD = "conversation tests coordinator password"
FIRST_COORDINATOR = "coord-vlaamse-overheid"  # made by devtools.stack.prepare_reports


def require_model() -> None:
    if not MODEL.is_file() or not RASA.exists():
        pytest.fail("The trained model or .venv-rasa is missing: run the tests through `make test`.")


@pytest.fixture(autouse=True)
def conversation_counts_in_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """Actions driven in-process count conversation events in the background (`integrity.staff.analytics`).

    Without this they would write to the repository's own `var/integrity.db`. Tests about the counts replace the
    recorder themselves.
    """
    from integrity.staff import analytics
    from integrity.staff.models import ConversationCount

    def factory() -> sessionmaker[Session]:
        engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
        ConversationCount.__table__.create(engine)
        return sessionmaker(engine)

    monkeypatch.setattr(analytics, "recorder", analytics.Recorder(functools.cache(factory)))


@dataclass
class ReportStore:
    database_url: str
    database_file: Path
    key_dir: Path
    env: dict[str, str]


def staff_reader(database_url: str | None = None, username: str = FIRST_COORDINATOR,
                 password: str = COORDINATOR_PASSWORD) -> Reader:
    """The key of a staff member (by default the first coordinator), opened with their password as at login.

    `database_url` None: DATABASE_URL (the tests set it from `report_store.env`).
    """
    from integrity.reports import db
    from integrity.staff import accounts, user_keys

    engine = db.make_engine(database_url or os.environ["DATABASE_URL"])
    try:
        with db.make_sessionmaker(engine)() as session:
            user = accounts.get_user(session, username)
            assert user is not None, f"no account {username}"
            private = user_keys.unlock(user, password)
            assert private is not None, f"the key of {username} does not open"
            return Reader(user.id, private)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def report_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReportStore]:
    """A migrated SQLite report database and back office keys, shared by the servers and the tests."""
    base = tmp_path_factory.mktemp("reports")
    env = {"DATABASE_URL": f"sqlite:///{base / 'reports.db'}", "INTEGRITY_KEY_DIR": str(base / "keys"),
           "INTEGRITY_ARGON2_PROFILE": "test", "BACKOFFICE_COORDINATOR_PASSWORD": COORDINATOR_PASSWORD}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        prepare_reports()
        yield ReportStore(env["DATABASE_URL"], base / "reports.db", base / "keys", env)


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory, report_store: ReportStore) -> Iterator[Stack]:
    """The real Rasa server (Python 3.10 venv) and the real action server (this venv), on free ports."""
    require_model()
    try:
        with running_stack(tmp_path_factory.mktemp("server-logs"), extra_env=report_store.env,
                           api_token=API_TOKEN) as stack:
            yield stack
    except StackError as exc:
        pytest.fail(str(exc))
