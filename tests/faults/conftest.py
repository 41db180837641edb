"""Fixtures for the fault tests: a stack of their own (on PostgreSQL) whose servers may be killed, with a proxy
between Rasa and the action server that can hold a call or drop its answer.

The shared `servers` stack (tests/conftest.py) is never killed: the other end-to-end tests keep using it.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from devtools.postgres import PostgresServer, PostgresUnavailable, temporary_postgres
from devtools.stack import Stack, StackError, free_port, prepare_reports, running_stack
from integrity.reports import casework, db, reporter
from integrity.reports.models import Report
from tests.conftest import COORDINATOR_PASSWORD, require_model, staff_reader

WAIT = 60  # seconds: the longest any single wait in these tests may take


@dataclass
class ActionProxy:
    """Rasa -> proxy -> action server. `hold` makes the next `action_report_finish` call wait for `release`;
    `drop` lets it run on the action server and then calls `on_drop` (the test kills the action server there)
    and closes Rasa's connection without an answer: as if the action server died after storing, before replying."""

    upstream: str
    port: int = field(default_factory=free_port)
    hold: bool = False
    drop: bool = False
    on_drop: Callable[[], None] | None = None
    arrived: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    answered: threading.Event = field(default_factory=threading.Event)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhook"

    def reset(self) -> None:
        self.hold = self.drop = False
        self.on_drop = None
        for event in (self.arrived, self.release, self.answered):
            event.clear()

    def handle(self, handler: BaseHTTPRequestHandler) -> None:
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        finishing = json.loads(body or b"{}").get("next_action") == "action_report_finish"
        if finishing and self.hold:
            self.arrived.set()
            self.release.wait(timeout=WAIT)
        try:
            forwarded = {"Content-Type": "application/json"}
            if handler.headers.get("Authorization"):  # the Rasa server's token for the action server
                forwarded["Authorization"] = handler.headers["Authorization"]
            response = httpx.post(self.upstream + handler.path, content=body, timeout=WAIT, headers=forwarded)
        except httpx.HTTPError:
            handler.send_error(502)
            return
        if finishing and self.drop and self.on_drop is not None:
            self.on_drop()
            self.answered.set()
            return  # no answer: the connection closes
        try:
            handler.send_response(response.status_code)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(response.content)))
            handler.end_headers()
            handler.wfile.write(response.content)
        except OSError:  # Rasa is gone
            pass
        if finishing:
            self.answered.set()

    def __enter__(self) -> ActionProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                proxy.handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@dataclass
class FaultStack:
    stack: Stack
    proxy: ActionProxy
    postgres: PostgresServer
    env: dict[str, str]
    sessions: sessionmaker[Session]
    postgres_down: bool = False

    def say(self, sender: str, text: str) -> list[dict[str, Any]]:
        return self.stack.say(sender, text)

    def reports_with(self, marker: str) -> list[dict[str, Any]]:
        """The decrypted contents of the stored reports whose text contains `marker`."""
        private = staff_reader(self.env["DATABASE_URL"])
        with self.sessions() as session:
            contents = [{**casework.read_report(session, s.id, private, mark_read=False).content,
                         "reference": s.reference} for s in casework.list_reports(session)]
        return [c for c in contents if marker in c["what_happened"]]

    def count(self) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count(Report.id))) or 0

    def opens(self, code: str) -> str:
        """The reference of the report that `code` opens through the reporter's follow-up."""
        with self.sessions() as session:
            return reporter.follow_up(session, code, throttle_key="fault-" + uuid.uuid4().hex).reference

    def stop_postgres(self) -> None:
        result = self.postgres.run("pg_ctl", "-D", str(self.postgres.data), "-m", "immediate", "-w", "stop")
        assert result.returncode == 0, result.stderr
        self.postgres_down = True

    def start_postgres(self) -> None:
        options = (f"-h 127.0.0.1 -p {self.postgres.port} -k {self.postgres.root} -F -c synchronous_commit=off "
                   "-c full_page_writes=off -c max_connections=200")
        result = self.postgres.run("pg_ctl", "-D", str(self.postgres.data), "-l",
                                   str(self.postgres.root / "server.log"), "-w", "-t", "60", "-o", options, "start")
        assert result.returncode == 0, result.stderr
        self.postgres_down = False


@pytest.fixture(scope="session")
def fault_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    """Rasa and the action server (behind an ActionProxy) on a throwaway PostgreSQL database."""
    require_model()
    base = tmp_path_factory.mktemp("faults")
    try:
        postgres_context = temporary_postgres()
        postgres = postgres_context.__enter__()
    except PostgresUnavailable as exc:
        pytest.fail(str(exc))
    try:
        url = postgres.create_database()
        env = {"DATABASE_URL": url, "INTEGRITY_KEY_DIR": str(base / "keys"), "INTEGRITY_ARGON2_PROFILE": "test",
               "BACKOFFICE_COORDINATOR_PASSWORD": COORDINATOR_PASSWORD}
        with pytest.MonkeyPatch.context() as patch:
            for name, value in env.items():
                patch.setenv(name, value)
            prepare_reports()
            actions_port = free_port()
            engine = db.make_engine(url)
            try:
                with ActionProxy(f"http://127.0.0.1:{actions_port}") as proxy, \
                        running_stack(base / "logs", actions_port=actions_port, extra_env=env,
                                      action_endpoint=proxy.url) as stack:
                    yield FaultStack(stack, proxy, postgres, env, db.make_sessionmaker(engine))
            except StackError as exc:
                pytest.fail(str(exc))
            finally:
                engine.dispose()
    finally:
        postgres_context.__exit__(None, None, None)


@pytest.fixture
def faults(fault_stack: FaultStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultStack]:
    """The fault stack with a neutral proxy, its environment for this test, and everything running again after."""
    for name, value in fault_stack.env.items():
        monkeypatch.setenv(name, value)
    fault_stack.proxy.reset()
    try:
        yield fault_stack
    finally:
        fault_stack.proxy.reset()
        fault_stack.proxy.release.set()
        if fault_stack.postgres_down:
            fault_stack.start_postgres()
        for name in ("actions", "rasa"):
            process = fault_stack.stack.services[name].process
            if process is None or process.poll() is not None:
                fault_stack.stack.restart(name, timeout=120)


def sender() -> str:
    return "fault-" + uuid.uuid4().hex


def joined(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m.get("text", "") for m in messages)

