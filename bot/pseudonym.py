"""Pseudonymous sender ids: Rasa never sees a Telegram user id or a web session id, only an HMAC of it."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from integrity.reports.crypto import key_dir, write_secret_file

SECRET_FILE = "sender.secret"


def load_or_create_secret(directory: Path | None = None) -> bytes:
    """`SENDER_ID_SECRET` from the environment, else `<key dir>/sender.secret` (created on first use, 0600)."""
    configured = os.environ.get("SENDER_ID_SECRET")
    if configured:
        if len(configured) < 32:
            raise ValueError("SENDER_ID_SECRET is too short: use at least 32 random characters")
        return configured.encode("utf-8")
    path = (directory or key_dir()) / SECRET_FILE
    if path.exists():
        return path.read_bytes()
    secret = secrets.token_bytes(32)
    write_secret_file(path, secret, 0o600)
    return secret


def sender_id(secret: bytes, channel: str, raw_id: str | int) -> str:
    """`<channel>-<hex>`: stable for one person on one channel, not reversible without the secret."""
    digest = hmac.new(secret, f"{channel}:{raw_id}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"{channel}-{digest}"
