"""The reporter's receipt code and what is derived from it.

The code is 16 random decimal digits (about 53 bits), shown as "1234 5678 9012 3456". The database only ever
holds `receipt_hash(code)`: Argon2id over the code with a per-installation secret salt, so it is deterministic
(indexable) yet useless without the secret file. `reporter_key(code)` is a second, independent Argon2id
derivation (another salt) giving the SecretBox key for the reporter's copies.

The installation secret is `receipt.salt` in the key directory (mode 0600), created on first use. It also fixes
the Argon2 parameters for the installation: changing INTEGRITY_ARGON2_PROFILE later does not invalidate codes.
Losing the file makes every receipt code useless; back it up with the back office key.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import struct
from dataclasses import dataclass
from pathlib import Path

from argon2.low_level import Type, hash_secret_raw

from integrity.reports.crypto import argon2_profile, key_dir, write_secret_file

CODE_DIGITS = 16
SALT_FILE = "receipt.salt"
REPORTER_KEY_BYTES = 32
_MAGIC = b"IRS1"
_PARAMS = struct.Struct(">IIB")  # time_cost, memory_cost (KiB), parallelism
_SECRET_BYTES = 32
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212]+")
_CODE = re.compile(rf"[0-9]{{{CODE_DIGITS}}}")
# Spent on codes that cannot exist, so that a malformed code costs as much as a well-formed one.
DUMMY_CODE = "0" * CODE_DIGITS


class MalformedReceipt(ValueError):
    """Not 16 digits after removing spaces and dashes."""


@dataclass(frozen=True)
class InstallationSecret:
    secret: bytes
    time_cost: int
    memory_cost: int
    parallelism: int

    def salt(self, purpose: bytes) -> bytes:
        return hashlib.blake2b(purpose, key=self.secret, digest_size=16, person=b"integrity-salt").digest()


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def format_code(code: str) -> str:
    digits = normalise(code)
    return " ".join(digits[i:i + 4] for i in range(0, CODE_DIGITS, 4))


def normalise(code: str) -> str:
    digits = _SEPARATORS.sub("", code or "")
    if not _CODE.fullmatch(digits):
        raise MalformedReceipt(f"A receipt code has {CODE_DIGITS} digits")
    return digits


def _parse(data: bytes, path: Path) -> InstallationSecret:
    expected = len(_MAGIC) + _PARAMS.size + _SECRET_BYTES
    if not data.startswith(_MAGIC) or len(data) != expected:
        raise RuntimeError(f"{path} is not a receipt salt file (wrong format or damaged)")
    time_cost, memory_cost, parallelism = _PARAMS.unpack_from(data, len(_MAGIC))
    return InstallationSecret(data[-_SECRET_BYTES:], time_cost, memory_cost, parallelism)


def installation_secret(directory: str | os.PathLike[str] | None = None) -> InstallationSecret:
    """Read `receipt.salt`, creating it (race-free, mode 0600) on first use."""
    path = key_dir(directory) / SALT_FILE
    try:
        return _parse(path.read_bytes(), path)
    except FileNotFoundError:
        pass
    profile = argon2_profile()
    data = _MAGIC + _PARAMS.pack(profile.time_cost, profile.memory_cost, profile.parallelism)
    data += secrets.token_bytes(_SECRET_BYTES)
    candidate = path.with_name(f".{SALT_FILE}.{secrets.token_hex(6)}")
    write_secret_file(candidate, data, 0o600)
    try:
        os.link(candidate, path)  # fails if another process or thread created it first; then use theirs
    except FileExistsError:
        pass
    finally:
        candidate.unlink(missing_ok=True)
    return _parse(path.read_bytes(), path)


def _derive(digits: str, purpose: bytes, secret: InstallationSecret) -> bytes:
    return hash_secret_raw(
        secret=digits.encode("ascii"),
        salt=secret.salt(purpose),
        time_cost=secret.time_cost,
        memory_cost=secret.memory_cost,
        parallelism=secret.parallelism,
        hash_len=32,
        type=Type.ID,
    )


def receipt_hash(code: str, directory: str | os.PathLike[str] | None = None) -> str:
    """Hex Argon2id digest of the code: what the database stores and looks up."""
    return _derive(normalise(code), b"receipt-hash", installation_secret(directory)).hex()


def reporter_key(code: str, directory: str | os.PathLike[str] | None = None) -> bytes:
    """The 32-byte SecretBox key for the reporter's copies, derived separately from the receipt hash."""
    return _derive(normalise(code), b"reporter-key", installation_secret(directory))


def derive_both(code: str, directory: str | os.PathLike[str] | None = None) -> tuple[str | None, bytes]:
    """(receipt hash or None if malformed, reporter key) at the same cost whether or not the code is well formed."""
    try:
        digits = normalise(code)
    except MalformedReceipt:
        digits = None
    secret = installation_secret(directory)
    material = digits or DUMMY_CODE
    digest = _derive(material, b"receipt-hash", secret).hex()
    key = _derive(material, b"reporter-key", secret)
    return (digest if digits else None), key


def throttle_hash(raw_key: str, directory: str | os.PathLike[str] | None = None) -> str:
    """Keyed hash of a sender id or IP address for throttling.

    Keyed with the installation secret: a plain hash of a Telegram id or an IPv4 address can be reversed by
    trying them all.
    """
    if not raw_key:
        raise ValueError("throttle key is empty: pass the sender id or client IP address")
    secret = installation_secret(directory).secret
    return hashlib.blake2b(raw_key.encode("utf-8"), key=secret, digest_size=32, person=b"integrity-thrott").hexdigest()
