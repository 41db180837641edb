"""Start the real servers on localhost: the action server (this venv) and the Rasa server (.venv-rasa).

Used by `make run` (`python -m devtools.stack`), the end-to-end tests and the benchmarks.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bot.wait_ready import wait_ready

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "models" / "integrity.tar.gz"
RASA = REPO / ".venv-rasa" / "bin" / "rasa"


class StackError(RuntimeError):
    pass


def rasa_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3", **extra}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Service:
    """One server process that can be stopped and started again on the same port."""

    args: list[str]
    env: dict[str, str]
    log: Path
    ready_url: str | None  # None: nothing to poll (the Telegram gateway polls Telegram, it serves nothing)
    process: subprocess.Popen | None = None

    def start(self) -> None:
        # A process group of its own, so that `kill` also reaches the workers the action server (Sanic) spawns.
        with self.log.open("a") as out:
            self.process = subprocess.Popen(self.args, cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    def kill(self) -> None:
        """SIGKILL to the whole process group, like a crash: no clean-up, requests in flight get no answer."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None:  # workers left behind by a main process that died or ignored the stop
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)


@dataclass
class Stack:
    rasa_url: str
    actions_url: str
    rasa_log: Path
    actions_log: Path
    services: dict[str, Service] = field(default_factory=dict)
    web_url: str | None = None

    @property
    def webhook(self) -> str:
        return f"{self.rasa_url}/webhooks/rest/webhook"

    def say(self, sender: str, text: str, metadata: dict | None = None) -> list[dict]:
        payload: dict = {"sender": sender, "message": text}
        if metadata:
            payload["metadata"] = metadata
        response = httpx.post(self.webhook, json=payload, timeout=60)
        response.raise_for_status()
        return response.json()

    def restart(self, name: str, timeout: float = 120, *, kill: bool = False) -> None:
        """Stop (`kill`: SIGKILL instead of a graceful stop) and start the service again, and wait until it answers."""
        service = self.services[name]
        if kill:
            service.kill()
        else:
            service.stop()
        service.start()
        if service.ready_url and wait_ready([service.ready_url], timeout=timeout):
            raise StackError(f"{name} did not come back; see {service.log}")


def prepare_reports() -> str | None:
    """Migrate the report database and create the back office keys if missing.

    Returns a newly generated passphrase (to show once) when none was configured, else None.
    """
    from integrity.reports import crypto, db
    from integrity.reports.cli import upgrade
    from integrity.settings import DomainSettings

    engine = db.make_engine(DomainSettings.from_env().database_url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    if crypto.keys_exist():
        return None
    passphrase = os.environ.get("INTEGRITY_KEY_PASSPHRASE")
    generated = None if passphrase else secrets.token_urlsafe(18)
    crypto.create_keys(passphrase or generated or "")
    return generated


@contextmanager
def running_stack(log_dir: Path, rasa_port: int | None = None, actions_port: int | None = None,
                  startup_timeout: float = 240, extra_env: dict[str, str] | None = None,
                  api_token: str | None = None, web_port: int | None = None,
                  telegram: bool = False, action_endpoint: str | None = None) -> Iterator[Stack]:
    """Start both servers; `extra_env` goes to both (DATABASE_URL, INTEGRITY_KEY_DIR, ...).

    `api_token` enables Rasa's HTTP API with that token (tests read the tracker store through it); `make run`
    leaves the API off. `web_port` also starts the web app (reporter follow-up page, back office).
    `action_endpoint` is the URL Rasa calls to run actions (default: the action server's; the fault tests put a
    proxy in between).
    """
    if not MODEL.is_file() or not RASA.exists():
        raise StackError("The trained model or .venv-rasa is missing: run `make model` first.")
    log_dir.mkdir(parents=True, exist_ok=True)
    rasa_port, actions_port = rasa_port or free_port(), actions_port or free_port()
    actions_url, rasa_url = f"http://127.0.0.1:{actions_port}", f"http://127.0.0.1:{rasa_port}"
    env = rasa_env(ACTION_ENDPOINT_URL=action_endpoint or f"{actions_url}/webhook", SANIC_HOST="127.0.0.1",
                   RASA_URL=rasa_url, **(extra_env or {}))
    api = ["--enable-api", "--auth-token", api_token] if api_token else []
    services = {
        "actions": Service([sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(actions_port)],
                           env, log_dir / "actions.log", f"{actions_url}/health"),
        "rasa": Service([str(RASA), "run", "--model", str(MODEL), "--interface", "127.0.0.1", "--port",
                         str(rasa_port), "--endpoints", "endpoints.yml", "--credentials", "credentials.yml", *api],
                        env, log_dir / "rasa.log", f"{rasa_url}/"),
    }
    web_url = None
    if web_port:
        web_url = f"http://127.0.0.1:{web_port}"
        services["web"] = Service([sys.executable, "-m", "backoffice", "--port", str(web_port)], env,
                                  log_dir / "web.log", f"{web_url}/opvolgen")
    if telegram:
        services["telegram"] = Service([sys.executable, "-m", "bot.telegram"], env, log_dir / "telegram.log", None)
    stack = Stack(rasa_url, actions_url, services["rasa"].log, services["actions"].log, services, web_url)
    try:
        for service in services.values():
            service.start()
        missing = wait_ready([s.ready_url for s in services.values() if s.ready_url], timeout=startup_timeout)
        if missing:
            raise StackError(f"servers did not start: {missing}; see the logs in {log_dir}")
        yield stack
    finally:
        for service in reversed(services.values()):
            service.stop()


def rasa_server(port: int, env: dict[str, str], log: Path, endpoints: Path,
                api_token: str | None = None) -> Service:
    """A Rasa server on 127.0.0.1:`port` with its own endpoints file (e.g. deploy/endpoints.yml on Redis).

    Several of them can share one action server and one Redis: the scale tests start two this way.
    """
    api = ["--enable-api", "--auth-token", api_token] if api_token else []
    return Service([str(RASA), "run", "--model", str(MODEL), "--interface", "127.0.0.1", "--port", str(port),
                    "--endpoints", str(endpoints), "--credentials", "credentials.yml", *api],
                   {**env, "SANIC_HOST": "127.0.0.1"}, log, f"http://127.0.0.1:{port}/")


def action_server(port: int, env: dict[str, str], log: Path) -> Service:
    """The rasa-sdk action server on 127.0.0.1:`port`."""
    return Service([sys.executable, "-m", "rasa_sdk", "--actions", "actions", "--port", str(port)], env, log,
                   f"http://127.0.0.1:{port}/health")


@contextmanager
def running_services(services: dict[str, Service], startup_timeout: float = 240) -> Iterator[dict[str, Service]]:
    """Start the given services together, wait until all answer, and stop them (in reverse order) afterwards."""
    try:
        for service in services.values():
            service.start()
        missing = wait_ready([s.ready_url for s in services.values() if s.ready_url], timeout=startup_timeout)
        if missing:
            logs = ", ".join(str(s.log) for s in services.values())
            raise StackError(f"servers did not start: {missing}; see {logs}")
        yield services
    finally:
        for service in reversed(services.values()):
            service.stop()


def main() -> int:
    rasa_port = int(os.environ.get("RASA_PORT", "5005"))
    actions_port = int(os.environ.get("ACTIONS_PORT", "5055"))
    web_port = int(os.environ.get("WEB_PORT", "8000"))
    generated = prepare_reports()
    if generated:
        print(f"""
  Created the back office key pair in var/keys/. Its passphrase, shown only now:

      {generated}

  Store it safely (a password manager): without it no report can be read. Set INTEGRITY_KEY_PASSPHRASE
  before the first `make run` to choose your own.
""", flush=True)
    from integrity.staff.__main__ import ensure_first_admin

    admin_password = ensure_first_admin(password=os.environ.get("BACKOFFICE_ADMIN_PASSWORD") or None)
    if admin_password:
        print(f"""
  Created the first back office account: user 'admin', password (shown only now):

      {admin_password}

  Log in at /beheer, then create coordinator and handler accounts (or: python -m integrity.staff --help).
  Set BACKOFFICE_ADMIN_PASSWORD before the first `make run` to choose your own.
""", flush=True)
    print("Starting the action server and the Rasa server (logs in var/log/) ...", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        telegram = bool(os.environ.get("TELEGRAM_BOT_TOKEN"))
        with running_stack(REPO / "var" / "log", rasa_port, actions_port, web_port=web_port,
                           telegram=telegram) as stack:
            print(f"""
  Integrity assistant is running on localhost:
    Rasa REST channel : {stack.webhook}
    Action server     : {stack.actions_url}/webhook
    Follow-up page    : {stack.web_url}/opvolgen   (reporters, with their receipt code)
    Web chat          : {stack.web_url}/chat
    Back office       : {stack.web_url}/beheer   (coordinators; first account: admin)
    Telegram gateway  : {"running (long polling; log in var/log/telegram.log)" if telegram else
                         "not started: set TELEGRAM_BOT_TOKEN to start it"}
  Chat in a terminal  : make shell   (in another terminal)
  Stop                : Ctrl-C
""", flush=True)
            signal.pause()
    except StackError as exc:
        print(f"make run: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
