"""Settings of the back office web app, read once from the environment.

- DATABASE_URL: the report database (default: the SQLite file in `var/`, as `integrity.reports.db`).
- INTEGRITY_KEY_DIR: the key directory (default `var/keys/`). The report service reads this variable itself (the
  receipt salt and the back office public key live there), so the app refuses settings that disagree with it.
- BACKOFFICE_SECRET: the key for signing form tokens (at least 32 characters). If unset, a random secret is
  generated on first run into `<key dir>/backoffice.secret` (mode 0600) and read from there afterwards.
  Changing it invalidates the forms that are open at that moment, nothing else.
- RASA_URL: the Rasa server whose REST channel the web chat (`/chat`) talks to (default http://127.0.0.1:5005).
- INTEGRITY_PROFILE: the organisation profile the web chat asks for (channel metadata); unset: the action
  server's default.
- BACKOFFICE_IDLE_SECONDS, BACKOFFICE_IDLE_WARNING_SECONDS: staff are logged out after this much inactivity
  (default 1800, at most 1800) and warned this long before (default 120, and less than the idle time). Tests
  shorten both.
- SMTP_*, BACKOFFICE_BASE_URL, NOTIFY_*: the notification mails (`integrity.notifications.settings`). With
  SMTP_HOST set, the app runs the notification jobs and the sender in its process (`notify`), unless
  INTEGRITY_NOTIFY_IN_WEB=0 (then run `python -m integrity.notifications run` as a worker).
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from integrity.notifications.settings import MailSettings
from integrity.reports import crypto
from integrity.settings import DEFAULT_RETENTION_DAYS, TIMEZONE, DomainSettings
from integrity.staff import sessions

SECRET_FILE = "backoffice.secret"
SECRET_BYTES = 32
MIN_SECRET_CHARS = 32

log = logging.getLogger(__name__)


def load_or_create_secret(path: Path) -> bytes:
    """The secret in `path`, created race-free (mode 0600) if it does not exist yet."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        candidate = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
        crypto.write_secret_file(candidate, secrets.token_bytes(SECRET_BYTES), 0o600)
        try:
            os.link(candidate, path)  # fails if another process created it first; then use theirs
            log.info("Generated a new back office form secret in %s", path)
        except FileExistsError:
            pass
        finally:
            candidate.unlink(missing_ok=True)
        data = path.read_bytes()
    if len(data) != SECRET_BYTES:
        raise RuntimeError(f"{path} is not a back office secret ({len(data)} bytes, expected {SECRET_BYTES}); "
                           "delete it to generate a new one (open forms become invalid)")
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        log.warning("%s is readable by other users; run: chmod 600 %s", path, path)
    return data


@dataclass(frozen=True)
class Settings:
    database_url: str
    key_dir: Path
    secret: bytes = field(repr=False)
    report_token_ttl: int = 15 * 60  # seconds a successful code entry allows adding messages
    csrf_ttl: int = 60 * 60  # seconds a form stays valid
    max_form_bytes: int = 128 * 1024  # a 5000-character message, percent-encoded, fits easily
    timezone: str = TIMEZONE.key  # for the dates shown to the reporter and the statistics
    purge: bool = True  # run the daily retention purge (integrity.reports.retention) while the app runs
    retention: str = str(DEFAULT_RETENTION_DAYS)  # INTEGRITY_RETENTION_DAYS (`DomainSettings.retention`)
    rasa_url: str = "http://127.0.0.1:5005"  # web chat: Rasa server with the REST channel
    profile: str | None = None  # web chat: organisation profile sent as message metadata
    rasa_timeout: float = 20.0  # web chat: seconds to wait for Rasa (and the action server behind it)
    chat_session_limit: int = 20  # web chat: messages per chat_window per chat session
    chat_ip_limit: int = 120  # web chat: messages per chat_window per client IP (an office may share one address)
    chat_window: float = 60.0  # seconds
    login_ip_limit: int = 30  # staff login attempts (password or code) per login_window per client IP
    login_window: float = 600.0  # seconds
    login_user_limit: int = 5  # failed passwords per login_user_window per username and client IP, then 429
    login_user_window: float = 900.0  # seconds
    staff_idle: int = int(sessions.IDLE.total_seconds())  # seconds without activity before a staff logout
    staff_idle_warning: int = 120  # seconds before that logout the page warns and offers "Sessie verlengen"

    def __post_init__(self) -> None:
        if not 0 < self.staff_idle_warning < self.staff_idle <= sessions.IDLE.total_seconds():
            raise ValueError(f"staff idle settings: need 0 < warning ({self.staff_idle_warning} s) < idle "
                             f"({self.staff_idle} s) <= {int(sessions.IDLE.total_seconds())} s")
    mail: MailSettings = field(default_factory=MailSettings)  # SMTP_*: no SMTP_HOST, mails wait in the outbox
    notify: bool = True  # run the notification jobs and the sender while the app runs (if SMTP_HOST is set)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        domain = DomainSettings.from_env(env)
        key_dir = domain.key_dir
        configured = env.get("BACKOFFICE_SECRET", "")
        if configured:
            if len(configured) < MIN_SECRET_CHARS:
                raise ValueError(f"BACKOFFICE_SECRET is too short: use at least {MIN_SECRET_CHARS} random characters "
                                 f"(or unset it to generate one into {key_dir / SECRET_FILE})")
            secret = configured.encode("utf-8")
        else:
            secret = load_or_create_secret(key_dir / SECRET_FILE)
        return cls(database_url=domain.database_url, key_dir=key_dir, secret=secret,
                   rasa_url=env.get("RASA_URL") or cls.rasa_url, profile=domain.profile, timezone=domain.timezone.key,
                   staff_idle=_seconds(env, "BACKOFFICE_IDLE_SECONDS", cls.staff_idle),
                   staff_idle_warning=_seconds(env, "BACKOFFICE_IDLE_WARNING_SECONDS", cls.staff_idle_warning),
                   mail=MailSettings.from_env(env), notify=env.get("INTEGRITY_NOTIFY_IN_WEB", "1").strip() != "0",
                   retention=domain.retention)


def _seconds(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit():
        raise ValueError(f"{name} must be a whole number of seconds, not {text[:20]!r}")
    return int(text)
