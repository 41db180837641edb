"""Mail settings, read from the environment in one place (`MailSettings.from_env`).

- SMTP_HOST: the SMTP server. Unset: no sender runs; notifications stay queued in the outbox (nothing is lost)
  and are sent once it is set. `make run` points it at the local mail sink (devtools/mailsink.py).
- SMTP_PORT: default 587 for starttls, 465 for tls, 25 for none.
- SMTP_SECURITY: starttls (default), tls (implicit TLS, "SMTPS") or none (only for a local sink).
- SMTP_USER, SMTP_PASSWORD_FILE: log in with this user and the password in that file (first line); no login if
  SMTP_USER is unset. The password is never read from an environment variable.
- SMTP_FROM: the From address (default integriteit@localhost).
- SMTP_TIMEOUT: seconds per SMTP operation (default 30).
- BACKOFFICE_BASE_URL: the back office's public address for the links in mails (default http://127.0.0.1:8000).
- NOTIFY_HOURLY_CAP: immediate mails per user per hour (default 10); the rest go into the next digest.
- NOTIFY_DIGEST_HOUR: local hour (Europe/Brussels) of the daily digest and reminders (default 7).
- NOTIFY_MAX_ATTEMPTS: attempts per mail before giving up with an operator alert (default 8).
- NOTIFY_RETRY_SECONDS: first back-off (default 60), doubled per attempt up to NOTIFY_RETRY_MAX_SECONDS (3600).
- NOTIFY_POLL_SECONDS: how often the sender looks for work (default 10).
- NOTIFY_LEASE_SECONDS: how long a claimed mail is reserved for its sender (default 60 + 40 x SMTP_TIMEOUT);
  after that, a sender that died is presumed gone and the mail is sent again (same Message-ID).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from integrity.settings import TIMEZONE

SECURITY_MODES = ("starttls", "tls", "none")
DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}


class MailSettingsError(ValueError):
    """A setting the operator has to fix; the message says which and how (English)."""


def _number(env: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise MailSettingsError(f"{name}='{raw[:40]}' is not a number") from None
    if value < minimum:
        raise MailSettingsError(f"{name} must be at least {minimum:g}")
    return value


@dataclass(frozen=True)
class MailSettings:
    host: str | None = None
    port: int = 587
    security: str = "starttls"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str = "integriteit@localhost"
    timeout: float = 30.0
    base_url: str = "http://127.0.0.1:8000"
    hourly_cap: int = 10
    digest_hour: int = 7
    max_attempts: int = 8
    retry_seconds: float = 60.0
    retry_max_seconds: float = 3600.0
    poll_seconds: float = 10.0
    lease_override: float = 0.0  # NOTIFY_LEASE_SECONDS; 0: computed from SMTP_TIMEOUT
    timezone: str = TIMEZONE.key

    @property
    def configured(self) -> bool:
        return bool(self.host)

    @property
    def lease_seconds(self) -> float:
        """How long a claimed mail is reserved: well past the longest send of a batch of 10 (sender.BATCH)."""
        return self.lease_override or 60 + 4 * 10 * self.timeout

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failed attempt: retry_seconds doubled each time, capped."""
        return min(self.retry_max_seconds, self.retry_seconds * 2 ** max(0, attempts - 1))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> MailSettings:
        env = os.environ if environ is None else environ
        security = (env.get("SMTP_SECURITY") or "starttls").strip().lower()
        if security not in SECURITY_MODES:
            raise MailSettingsError(f"SMTP_SECURITY='{security[:20]}': use one of {', '.join(SECURITY_MODES)}")
        user = env.get("SMTP_USER", "").strip() or None
        password = None
        password_file = env.get("SMTP_PASSWORD_FILE", "").strip()
        if password_file:
            try:
                password = Path(password_file).read_text(encoding="utf-8").splitlines()[0]
            except (OSError, IndexError) as exc:
                raise MailSettingsError(f"SMTP_PASSWORD_FILE={password_file}: cannot read a password "
                                        f"({type(exc).__name__})") from None
        if user and password is None:
            raise MailSettingsError("SMTP_USER is set but SMTP_PASSWORD_FILE is not: put the password in a file "
                                    "(mode 0600) and name it in SMTP_PASSWORD_FILE")
        digest_hour = int(_number(env, "NOTIFY_DIGEST_HOUR", 7, 0))
        if digest_hour > 23:
            raise MailSettingsError("NOTIFY_DIGEST_HOUR must be 0-23")
        return cls(
            host=env.get("SMTP_HOST", "").strip() or None,
            port=int(_number(env, "SMTP_PORT", DEFAULT_PORTS[security], 1)),
            security=security, user=user, password=password,
            sender=env.get("SMTP_FROM", "").strip() or cls.sender,
            timeout=_number(env, "SMTP_TIMEOUT", 30, 1),
            base_url=(env.get("BACKOFFICE_BASE_URL", "").strip() or cls.base_url).rstrip("/"),
            hourly_cap=int(_number(env, "NOTIFY_HOURLY_CAP", 10, 1)),
            digest_hour=digest_hour,
            max_attempts=int(_number(env, "NOTIFY_MAX_ATTEMPTS", 8, 1)),
            retry_seconds=_number(env, "NOTIFY_RETRY_SECONDS", 60, 0.01),
            retry_max_seconds=_number(env, "NOTIFY_RETRY_MAX_SECONDS", 3600, 0.01),
            poll_seconds=_number(env, "NOTIFY_POLL_SECONDS", 10, 0.05),
            lease_override=_number(env, "NOTIFY_LEASE_SECONDS", 0, 0),
        )
