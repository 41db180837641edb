"""The old installation key pair (`backoffice.pub`, `backoffice.key.enc`): read only by the key migration.

Before per-user and per-report keys (integrity.reports.report_keys, integrity.staff.user_keys), every report was
sealed to this one key pair and staff unlocked it with a shared passphrase. `integrity.staff.key_migration` opens
it once, re-seals every report to its own key and then destroys the private key file. No other flow uses it.
`create_keys` exists to build an old installation in the tests of that migration.
"""

from __future__ import annotations

import os
from pathlib import Path

from nacl.public import PrivateKey, PublicKey

from integrity.reports.crypto import (
    KeyFileError,
    check_passphrase,
    generate_keypair,
    key_dir,
    unlock_private_key,
    write_secret_file,
)

PUBLIC_KEY_FILE = "backoffice.pub"
PRIVATE_KEY_FILE = "backoffice.key.enc"


def keys_exist(directory: str | os.PathLike[str] | None = None) -> bool:
    base = key_dir(directory)
    return (base / PUBLIC_KEY_FILE).exists() or (base / PRIVATE_KEY_FILE).exists()


def create_keys(passphrase: str, directory: str | os.PathLike[str] | None = None) -> Path:
    """An installation key pair as the old `keygen` made it (for the migration's tests)."""
    check_passphrase(passphrase)
    base = key_dir(directory)
    if keys_exist(base):
        raise KeyFileError(f"Installation keys already exist in {base}.")
    public_key, encrypted = generate_keypair(passphrase)
    write_secret_file(base / PRIVATE_KEY_FILE, encrypted, 0o600)
    write_secret_file(base / PUBLIC_KEY_FILE, public_key, 0o644)
    return base


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(f"No installation key at {path} (set INTEGRITY_KEY_DIR to the old key directory).") \
            from None
    except OSError as exc:
        raise KeyFileError(f"Cannot read {path}: {exc.strerror}") from None


def load_public_key(directory: str | os.PathLike[str] | None = None) -> PublicKey:
    base = key_dir(directory)
    data = _read(base / PUBLIC_KEY_FILE)
    if len(data) != PublicKey.SIZE:
        raise KeyFileError(f"{base / PUBLIC_KEY_FILE} is not a public key ({len(data)} bytes).")
    return PublicKey(data)


def load_private_key(passphrase: str | bytes, directory: str | os.PathLike[str] | None = None) -> PrivateKey:
    base = key_dir(directory)
    private_key = unlock_private_key(_read(base / PRIVATE_KEY_FILE), passphrase)
    if (base / PUBLIC_KEY_FILE).exists() and bytes(private_key.public_key) != bytes(load_public_key(base)):
        raise KeyFileError(f"{PUBLIC_KEY_FILE} and {PRIVATE_KEY_FILE} in {base} do not belong together.")
    return private_key


def destroy(directory: str | os.PathLike[str] | None = None) -> list[Path]:
    """Overwrite and delete the private key file (and drop the public key). Returns the removed files.

    Overwriting is best effort (a copy-on-write file system or a backup may keep the old bytes): destroy the
    backups of the key directory too.
    """
    base = key_dir(directory)
    removed = []
    private = base / PRIVATE_KEY_FILE
    if private.exists():
        size = private.stat().st_size
        with private.open("r+b") as handle:
            handle.write(os.urandom(size))
            handle.flush()
            os.fsync(handle.fileno())
        private.unlink()
        removed.append(private)
    public = base / PUBLIC_KEY_FILE
    if public.exists():
        public.unlink()
        removed.append(public)
    return removed
