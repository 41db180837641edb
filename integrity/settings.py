"""The domain's settings: one frozen object, read from the environment in one place (`from_env`).

The back office (`backoffice.settings.Settings`) and the Telegram gateway (`bot.telegram.config`) build on it.
Only the boundaries call `from_env()` (the web app's settings, the action server's `actions.settings`, the CLIs,
the bot, Alembic's env.py) and pass the values on: `reports.db` takes the database URL, `reports.retention` the
retention, `profiles.get_profile` the profile id. (`reports.crypto` still falls back to the environment for the
key directory and the Argon2 profile.) Pure Python: it runs in both virtualenvs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATABASE_URL = f"sqlite:///{REPO / 'var' / 'integrity.db'}"
DEFAULT_KEY_DIR = REPO / "var" / "keys"
DEFAULT_PROFILE = "vlaamse-overheid"
DEFAULT_RETENTION_DAYS = 365
TIMEZONE = ZoneInfo("Europe/Brussels")  # the organisations' calendar: report dates, statistics days


@dataclass(frozen=True)
class DomainSettings:
    database_url: str = DEFAULT_DATABASE_URL  # DATABASE_URL
    key_dir: Path = DEFAULT_KEY_DIR  # INTEGRITY_KEY_DIR: the back office keys, receipt and sender secrets
    argon2_profile: str = "default"  # INTEGRITY_ARGON2_PROFILE ("test": cheap, for the test suite only)
    retention: str = str(DEFAULT_RETENTION_DAYS)  # INTEGRITY_RETENTION_DAYS, checked by reports.retention
    profile: str | None = None  # INTEGRITY_PROFILE: the default organisation (None: DEFAULT_PROFILE)
    timezone: ZoneInfo = TIMEZONE

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DomainSettings:
        env = os.environ if environ is None else environ
        return cls(
            database_url=env.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
            key_dir=Path(env.get("INTEGRITY_KEY_DIR") or DEFAULT_KEY_DIR),
            argon2_profile=env.get("INTEGRITY_ARGON2_PROFILE", "").strip() or "default",
            retention=env.get("INTEGRITY_RETENTION_DAYS") or str(DEFAULT_RETENTION_DAYS),
            profile=env.get("INTEGRITY_PROFILE", "").strip() or None,
        )
