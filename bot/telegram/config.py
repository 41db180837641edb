"""Configuration of the Telegram gateway, read from the environment once at start."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from integrity.profiles import available_profiles
from integrity.settings import DomainSettings

TOKEN_PATTERN = re.compile(r"^\d+:[A-Za-z0-9_-]{20,}$")
WEBHOOK_PORTS = (443, 80, 88, 8443)  # the only ports Telegram delivers webhooks to
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
Mode = Literal["polling", "webhook"]


class ConfigError(ValueError):
    """The environment does not describe a usable gateway; the message tells the operator what to fix."""


@dataclass(frozen=True)
class TelegramConfig:
    token: str
    rasa_url: str = "http://127.0.0.1:5005"
    mode: Mode = "polling"
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    webhook_secret: str | None = None
    api_base_url: str | None = None
    profile: str | None = None
    rasa_timeout: float = 15.0
    rate_limit: int = 20
    rate_window: float = 60.0
    log_level: str = "INFO"

    def __repr__(self) -> str:  # never print the token
        return f"TelegramConfig(mode={self.mode!r}, rasa_url={self.rasa_url!r}, profile={self.profile!r})"

    @property
    def webhook_path(self) -> str:
        """The path the local webhook server listens on: the path of the public webhook URL."""
        return urlsplit(self.webhook_url or "").path.lstrip("/")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TelegramConfig:
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        token = get("TELEGRAM_BOT_TOKEN")
        if not token:
            raise ConfigError("TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and set its token.")
        if not TOKEN_PATTERN.match(token):
            raise ConfigError("TELEGRAM_BOT_TOKEN does not look like a bot token (expected '<digits>:<letters>', "
                              "as given by @BotFather).")
        mode = (get("TELEGRAM_MODE") or "polling").lower()
        if mode not in ("polling", "webhook"):
            raise ConfigError(f"TELEGRAM_MODE must be 'polling' or 'webhook', not {mode!r}.")
        rasa_url = _http_url("RASA_URL", get("RASA_URL") or cls.rasa_url)
        api_base_url = get("TELEGRAM_API_BASE_URL")
        if api_base_url:
            api_base_url = _http_url("TELEGRAM_API_BASE_URL", api_base_url).rstrip("/")
        webhook_url = get("TELEGRAM_WEBHOOK_URL")
        webhook_port = _port(get("TELEGRAM_WEBHOOK_PORT") or str(cls.webhook_port))
        if mode == "webhook":
            if not webhook_url:
                raise ConfigError("TELEGRAM_MODE=webhook needs TELEGRAM_WEBHOOK_URL, the public https URL "
                                  "Telegram posts updates to (e.g. https://bot.example.org/telegram).")
            parts = urlsplit(webhook_url)
            if parts.scheme != "https" or not parts.hostname:
                raise ConfigError(f"TELEGRAM_WEBHOOK_URL must be an https URL, got {webhook_url!r}.")
            if parts.port not in (None, *WEBHOOK_PORTS):
                raise ConfigError(f"TELEGRAM_WEBHOOK_URL uses port {parts.port}; Telegram only delivers to "
                                  f"ports {', '.join(map(str, WEBHOOK_PORTS))}.")
        secret = get("TELEGRAM_WEBHOOK_SECRET")
        if secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ConfigError("TELEGRAM_WEBHOOK_SECRET may only contain A-Z, a-z, 0-9, _ and - (1-256 characters).")
        profile = DomainSettings.from_env(env).profile
        if profile and profile not in (known := available_profiles()):
            raise ConfigError(f"INTEGRITY_PROFILE {profile!r} is not a known organisation profile; "
                              f"choose one of: {', '.join(known)}.")
        log_level = (get("LOG_LEVEL") or cls.log_level).upper()
        if log_level not in LOG_LEVELS:
            raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {log_level!r}.")
        return cls(token=token, rasa_url=rasa_url, mode=mode,  # type: ignore[arg-type]
                   webhook_url=webhook_url, webhook_listen=get("TELEGRAM_WEBHOOK_LISTEN") or cls.webhook_listen,
                   webhook_port=webhook_port, webhook_secret=secret, api_base_url=api_base_url, profile=profile,
                   log_level=log_level)


def _http_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name} must be an http(s) URL such as http://127.0.0.1:5005, got {value!r}.")
    return value


def _port(value: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise ConfigError(f"TELEGRAM_WEBHOOK_PORT must be a port number (1-65535), got {value!r}.")
    return int(value)
