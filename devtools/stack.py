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

from actions import internal_token
from bot.wait_ready import wait_ready

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "models" / "integrity.tar.gz"
RASA = REPO / ".venv-rasa" / "bin" / "rasa"
TOKEN_FILE = REPO / "var" / "action_server.token"  # `make run`: the Rasa server's secret for the action server
# The Rasa REST channel refuses larger bodies before reading them (Sanic's own limit; the channels send at most
# 4000 characters, rasa_plugins/rest_channel.py checks the text itself).
RASA_REQUEST_MAX_SIZE = "65536"


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
    action_token: str = field(default="", repr=False)  # what Rasa sends to the action server

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


def prepare_reports() -> dict[str, str]:
    """Migrate the report database and create a first coordinator (with key pair) per organisation without one.

    Every report is sealed to its own key and wrapped for the staff who may read it, so an organisation needs a
    coordinator with a key pair before the chat can take its reports. The password is
    BACKOFFICE_COORDINATOR_PASSWORD if set, else generated. Returns {username: generated password} to show once.
    """
    from integrity.profiles import available_profiles
    from integrity.reports import db
    from integrity.reports.cli import upgrade
    from integrity.settings import DomainSettings
    from integrity.staff import accounts, audit
    from integrity.staff.models import Role

    engine = db.make_engine(DomainSettings.from_env().database_url)
    try:
        upgrade(engine)
        chosen = os.environ.get("BACKOFFICE_COORDINATOR_PASSWORD") or None
        generated: dict[str, str] = {}
        with db.session_scope(db.make_sessionmaker(engine)) as session:
            for profile_id in available_profiles():
                if any(user.role == Role.COORDINATOR for user in accounts.list_users(session, profile_id)):
                    continue
                username = f"coord-{profile_id}"[:64]
                password = chosen or secrets.token_urlsafe(15)
                accounts.create_user(session, username, f"Coördinator {profile_id}", Role.COORDINATOR, password,
                                     profile_id=profile_id)
                audit.record(session, "user_created", username="system", profile_id=profile_id,
                             detail=f"first coordinator '{username}' with key pair")
                if not chosen:
                    generated[username] = password
        return generated
    finally:
        engine.dispose()


@contextmanager
def running_stack(log_dir: Path, rasa_port: int | None = None, actions_port: int | None = None,
                  startup_timeout: float = 240, extra_env: dict[str, str] | None = None,
                  api_token: str | None = None, web_port: int | None = None,
                  telegram: bool = False, action_endpoint: str | None = None,
                  mail_sink: tuple[int, Path] | None = None, action_token: str | None = None) -> Iterator[Stack]:
    """Start both servers; `extra_env` goes to both (DATABASE_URL, INTEGRITY_KEY_DIR, ...).

    `action_token` is the secret the Rasa server sends to the action server (`actions.internal_token`); default:
    ACTION_SERVER_TOKEN from `extra_env`, else a new random one for this stack (`Stack.action_token`).

    `api_token` enables Rasa's HTTP API with that token (tests read the tracker store through it); `make run`
    leaves the API off. `web_port` also starts the web app (reporter follow-up page, back office).
    `action_endpoint` is the URL Rasa calls to run actions (default: the action server's; the fault tests put a
    proxy in between). `mail_sink` (port, directory) also starts the local SMTP sink (devtools.mailsink), which
    the web app then sends its notification mails to.
    """
    if not MODEL.is_file() or not RASA.exists():
        raise StackError("The trained model or .venv-rasa is missing: run `make model` first.")
    log_dir.mkdir(parents=True, exist_ok=True)
    rasa_port, actions_port = rasa_port or free_port(), actions_port or free_port()
    actions_url, rasa_url = f"http://127.0.0.1:{actions_port}", f"http://127.0.0.1:{rasa_port}"
    token = action_token or (extra_env or {}).get(internal_token.TOKEN_ENV) or internal_token.new_token()
    env = rasa_env(ACTION_ENDPOINT_URL=action_endpoint or f"{actions_url}/webhook", SANIC_HOST="127.0.0.1",
                   RASA_URL=rasa_url, **{**(extra_env or {}), internal_token.TOKEN_ENV: token})
    api = ["--enable-api", "--auth-token", api_token] if api_token else []
    services: dict[str, Service] = {}
    if web_port:  # the links in notification mails
        env.setdefault("BACKOFFICE_BASE_URL", f"http://127.0.0.1:{web_port}")
    if mail_sink:
        sink_port, sink_dir = mail_sink
        env.update(SMTP_HOST="127.0.0.1", SMTP_PORT=str(sink_port), SMTP_SECURITY="none")
        services["mail"] = Service([sys.executable, "-m", "devtools.mailsink", "--port", str(sink_port), "--dir",
                                    str(sink_dir)], env, log_dir / "mail.log", None)
    services |= {
        "actions": Service([sys.executable, "-m", "actions.server", "--actions", "actions", "--port",
                            str(actions_port)], env, log_dir / "actions.log", f"{actions_url}/health"),
        "rasa": Service([str(RASA), "run", "--model", str(MODEL), "--interface", "127.0.0.1", "--port",
                         str(rasa_port), "--endpoints", "endpoints.yml", "--credentials", "credentials.yml", *api],
                        {**env, "SANIC_REQUEST_MAX_SIZE": RASA_REQUEST_MAX_SIZE}, log_dir / "rasa.log",
                        f"{rasa_url}/"),
    }
    web_url = None
    if web_port:
        web_url = f"http://127.0.0.1:{web_port}"
        services["web"] = Service([sys.executable, "-m", "backoffice", "--port", str(web_port)], env,
                                  log_dir / "web.log", f"{web_url}/opvolgen")
    if telegram:
        services["telegram"] = Service([sys.executable, "-m", "bot.telegram"], env, log_dir / "telegram.log", None)
    stack = Stack(rasa_url, actions_url, services["rasa"].log, services["actions"].log, services, web_url, token)
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

    Several of them can share one action server and one Redis: the scale tests start two this way. `env` must
    hold ACTION_SERVER_TOKEN, the same as the action server's (endpoints files send it with every action call).
    """
    api = ["--enable-api", "--auth-token", api_token] if api_token else []
    return Service([str(RASA), "run", "--model", str(MODEL), "--interface", "127.0.0.1", "--port", str(port),
                    "--endpoints", str(endpoints), "--credentials", "credentials.yml", *api],
                   {**env, "SANIC_HOST": "127.0.0.1", "SANIC_REQUEST_MAX_SIZE": RASA_REQUEST_MAX_SIZE}, log,
                   f"http://127.0.0.1:{port}/")


def action_server(port: int, env: dict[str, str], log: Path) -> Service:
    """The action server (`actions.server`: rasa-sdk behind the token check) on 127.0.0.1:`port`; `env` must hold
    ACTION_SERVER_TOKEN."""
    return Service([sys.executable, "-m", "actions.server", "--actions", "actions", "--port", str(port)],
                   {**env, "SANIC_HOST": "127.0.0.1"}, log, f"http://127.0.0.1:{port}/health")


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
        lines = "\n".join(f"      {username:32} {password}" for username, password in generated.items())
        print(f"""
  Created a first coordinator per organisation, each with their own key pair. Passwords, shown only now:

{lines}

  Reports of an organisation are readable only by its staff with a key: log in at /beheer as each coordinator
  once, and keep the recovery key shown there. Set BACKOFFICE_COORDINATOR_PASSWORD before the first
  `make run` to choose the password yourself.
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
        smtp_host = os.environ.get("SMTP_HOST", "").strip()
        sink = None if smtp_host else (int(os.environ.get("MAIL_SINK_PORT", "8025")), REPO / "var" / "mail")
        mail = (f"local sink on 127.0.0.1:{sink[0]}, every mail saved in var/mail/ (log: var/log/mail.log);\n"
                "                        set SMTP_HOST to send through a real server" if sink else
                f"SMTP server {smtp_host} (SMTP_HOST)")
        token = os.environ.get(internal_token.TOKEN_ENV) or internal_token.load_or_create(TOKEN_FILE)
        with running_stack(REPO / "var" / "log", rasa_port, actions_port, web_port=web_port,
                           telegram=telegram, mail_sink=sink, action_token=token) as stack:
            print(f"""
  Integrity assistant is running on localhost:
    Rasa REST channel : {stack.webhook}
    Action server     : {stack.actions_url}/webhook
    Follow-up page    : {stack.web_url}/opvolgen   (reporters, with their receipt code)
    Web chat          : {stack.web_url}/chat
    Back office       : {stack.web_url}/beheer   (coordinators; first account: admin)
    Telegram gateway  : {"running (long polling; log in var/log/telegram.log)" if telegram else
                         "not started: set TELEGRAM_BOT_TOKEN to start it"}
    Staff mail        : {mail}
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
