"""Time-based one-time passwords (RFC 6238: HMAC-SHA1, 6 digits, 30 s), compatible with common authenticator apps."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
import time
from urllib.parse import quote, urlencode

DIGITS = 6
STEP = 30
ISSUER = "Integriteitsassistent"


def new_secret() -> str:
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii")


def _key(secret: str) -> bytes:
    cleaned = secret.replace(" ", "").upper()
    return base64.b32decode(cleaned + "=" * (-len(cleaned) % 8))


def code_at(secret: str, moment: float) -> str:
    counter = int(moment // STEP)
    digest = hmac.new(_key(secret), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**DIGITS).zfill(DIGITS)


def matching_step(secret: str, code: str, *, now: float | None = None, window: int = 1) -> int | None:
    """The time step (Unix time // STEP) whose code is `code`, checking the current step and `window` steps
    either side (clock drift); None if none matches. Every step is compared, so the time does not tell which."""
    cleaned = "".join(code.split())
    if len(cleaned) != DIGITS or not cleaned.isdigit():
        return None
    current = int((time.time() if now is None else now) // STEP)
    found = None
    for step in range(current - window, current + window + 1):
        if hmac.compare_digest(code_at(secret, step * STEP), cleaned) and found is None:
            found = step
    return found


def verify(secret: str, code: str, *, now: float | None = None, window: int = 1) -> bool:
    """True if `code` matches the current step or `window` steps either side (no replay guard: see
    `integrity.staff.accounts.check_second_factor`)."""
    return matching_step(secret, code, now=now, window=window) is not None


def provisioning_uri(secret: str, username: str) -> str:
    label = quote(f"{ISSUER}:{username}")
    return f"otpauth://totp/{label}?" + urlencode({"secret": secret, "issuer": ISSUER, "digits": DIGITS,
                                                     "period": STEP})
