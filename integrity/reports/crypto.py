"""The back office key pair and sealed boxes (PyNaCl / libsodium).

- Everything the back office may read is sealed (X25519 sealed box) to the back office public key, so the bot
  can store reports without being able to read them back.
- The private key is stored encrypted (`backoffice.key.enc`, mode 0600): XSalsa20-Poly1305 (SecretBox) under a key
  derived from the operator's passphrase with Argon2id. The file starts with its own KDF parameters and salt, so
  changing the Argon2 profile later never locks anyone out.
- Key files live in INTEGRITY_KEY_DIR (default `var/keys/` in the repository), next to `receipt.salt`.

Argon2 cost: INTEGRITY_ARGON2_PROFILE selects `default` (secure: passphrase KDF at libsodium's MODERATE limits,
receipt derivations at RFC 9106's low-memory setting) or `test` (the minimum costs, for the test suite only).
The profile is read when a key pair or an installation secret is created; existing files keep their parameters.
"""

from __future__ import annotations

import os
import secrets
import struct
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import nacl.exceptions
import nacl.pwhash
import nacl.secret
import nacl.utils
from nacl.public import PrivateKey, PublicKey, SealedBox
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from integrity.reports.models import Report, ReportMessage, StatusChange
from integrity.settings import DomainSettings

PUBLIC_KEY_FILE = "backoffice.pub"
PRIVATE_KEY_FILE = "backoffice.key.enc"
PENDING_SUFFIX = ".new"
MIN_PASSPHRASE_LENGTH = 12

_argon2id = nacl.pwhash.argon2id
_KEY_MAGIC = b"IBOK1"
_KEY_HEADER = struct.Struct(">IQ")  # opslimit, memlimit (bytes)
_MAX_MEMLIMIT = 4 * 1024**3


class KeyFileError(RuntimeError):
    """Key files are missing, unreadable, damaged, or would be overwritten."""


class WrongPassphrase(KeyFileError):
    """The passphrase does not open the back office private key."""


class DecryptionError(RuntimeError):
    """Data does not open with the given key (sealed to another key, or damaged)."""


@dataclass(frozen=True)
class Argon2Profile:
    name: str
    kdf_opslimit: int  # PyNaCl argon2id: passphrase -> key file key
    kdf_memlimit: int  # bytes
    time_cost: int  # argon2-cffi: receipt code -> receipt hash and reporter key
    memory_cost: int  # KiB
    parallelism: int


ARGON2_PROFILES = {
    "default": Argon2Profile("default", _argon2id.OPSLIMIT_MODERATE, _argon2id.MEMLIMIT_MODERATE, 3, 65536, 4),
    "test": Argon2Profile("test", _argon2id.OPSLIMIT_MIN, _argon2id.MEMLIMIT_MIN, 1, 8, 1),
}


def argon2_profile() -> Argon2Profile:
    name = DomainSettings.from_env().argon2_profile
    try:
        return ARGON2_PROFILES[name]
    except KeyError:
        raise ValueError(
            f"INTEGRITY_ARGON2_PROFILE='{name}' is unknown; use one of {', '.join(ARGON2_PROFILES)}"
        ) from None


def key_dir(directory: str | os.PathLike[str] | None = None) -> Path:
    return Path(directory) if directory else DomainSettings.from_env().key_dir


def write_secret_file(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write atomically (temporary file + rename) with `mode` set from the start."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _passphrase_bytes(passphrase: str | bytes) -> bytes:
    if isinstance(passphrase, bytes):
        return passphrase
    return unicodedata.normalize("NFC", passphrase).encode("utf-8")


def check_passphrase(passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE_LENGTH:
        raise KeyFileError(f"The passphrase is too short: use at least {MIN_PASSPHRASE_LENGTH} characters.")


def _new_keypair(passphrase: str | bytes) -> tuple[PrivateKey, bytes]:
    profile = argon2_profile()
    private_key = PrivateKey.generate()
    salt = nacl.utils.random(_argon2id.SALTBYTES)
    box_key = _argon2id.kdf(
        nacl.secret.SecretBox.KEY_SIZE, _passphrase_bytes(passphrase), salt,
        opslimit=profile.kdf_opslimit, memlimit=profile.kdf_memlimit,
    )
    header = _KEY_MAGIC + _KEY_HEADER.pack(profile.kdf_opslimit, profile.kdf_memlimit) + salt
    return private_key, header + nacl.secret.SecretBox(box_key).encrypt(bytes(private_key))


def generate_keypair(passphrase: str | bytes) -> tuple[bytes, bytes]:
    """A new back office key pair: (public key, private key encrypted under the passphrase)."""
    private_key, encrypted = _new_keypair(passphrase)
    return bytes(private_key.public_key), encrypted


def unlock_private_key(encrypted: bytes, passphrase: str | bytes) -> PrivateKey:
    header_size = len(_KEY_MAGIC) + _KEY_HEADER.size + _argon2id.SALTBYTES
    if not encrypted.startswith(_KEY_MAGIC) or len(encrypted) <= header_size:
        raise KeyFileError("This is not a back office private key file (wrong format or damaged).")
    opslimit, memlimit = _KEY_HEADER.unpack_from(encrypted, len(_KEY_MAGIC))
    if not (_argon2id.OPSLIMIT_MIN <= opslimit <= _argon2id.OPSLIMIT_MAX
            and _argon2id.MEMLIMIT_MIN <= memlimit <= _MAX_MEMLIMIT):
        raise KeyFileError("The back office private key file has invalid KDF parameters (damaged file).")
    salt = encrypted[header_size - _argon2id.SALTBYTES:header_size]
    box_key = _argon2id.kdf(
        nacl.secret.SecretBox.KEY_SIZE, _passphrase_bytes(passphrase), salt, opslimit=opslimit, memlimit=memlimit
    )
    try:
        return PrivateKey(nacl.secret.SecretBox(box_key).decrypt(encrypted[header_size:]))
    except nacl.exceptions.CryptoError:
        raise WrongPassphrase("Wrong passphrase for the back office private key (or the key file is damaged).") \
            from None


def _public(public_key: bytes | PublicKey) -> PublicKey:
    return public_key if isinstance(public_key, PublicKey) else PublicKey(public_key)


def seal(public_key: bytes | PublicKey, plaintext: bytes) -> bytes:
    return SealedBox(_public(public_key)).encrypt(plaintext)


def unseal(private_key: PrivateKey, ciphertext: bytes) -> bytes:
    try:
        return SealedBox(private_key).decrypt(ciphertext)
    except nacl.exceptions.CryptoError:
        raise DecryptionError(
            "Cannot decrypt: the data was sealed to another back office key (see the archived keys) or is damaged."
        ) from None


def secretbox_encrypt(key: bytes, plaintext: bytes) -> bytes:
    return nacl.secret.SecretBox(key).encrypt(plaintext)


def secretbox_decrypt(key: bytes, ciphertext: bytes) -> bytes:
    try:
        return nacl.secret.SecretBox(key).decrypt(ciphertext)
    except nacl.exceptions.CryptoError:
        raise DecryptionError("Cannot decrypt the reporter's copy: wrong key or damaged data.") from None


# --- key files -------------------------------------------------------------------------------------------------


def _check_no_pending(directory: Path) -> None:
    pending = [directory / f"{name}{PENDING_SUFFIX}" for name in (PUBLIC_KEY_FILE, PRIVATE_KEY_FILE)]
    if any(path.exists() for path in pending):
        raise KeyFileError(
            f"An interrupted key rotation left {PRIVATE_KEY_FILE}{PENDING_SUFFIX} in {directory}. If the rotation "
            f"committed (reports no longer open with the current key), move the {PENDING_SUFFIX} files over "
            f"{PUBLIC_KEY_FILE} and {PRIVATE_KEY_FILE}; otherwise delete them."
        )


def keys_exist(directory: str | os.PathLike[str] | None = None) -> bool:
    base = key_dir(directory)
    return (base / PUBLIC_KEY_FILE).exists() or (base / PRIVATE_KEY_FILE).exists()


def _stamp(now: datetime | None = None) -> str:
    return (now or datetime.now(timezone.utc)).astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")


def _archive(directory: Path, stamp: str) -> Path | None:
    """Copy the current key files to `<name>.<stamp>`; returns the archived private key file."""
    archived = None
    for name, mode in ((PUBLIC_KEY_FILE, 0o644), (PRIVATE_KEY_FILE, 0o600)):
        current = directory / name
        if current.exists():
            target = directory / f"{name}.{stamp}"
            write_secret_file(target, current.read_bytes(), mode)
            archived = target if name == PRIVATE_KEY_FILE else archived
    return archived


def create_keys(
    passphrase: str, directory: str | os.PathLike[str] | None = None, *, force: bool = False
) -> tuple[Path, Path | None]:
    """Generate and store a key pair. Existing keys are kept unless `force`; then they are archived, not deleted.

    Returns (key directory, archived old private key or None).
    """
    check_passphrase(passphrase)
    base = key_dir(directory)
    if keys_exist(base) and not force:
        raise KeyFileError(
            f"Back office keys already exist in {base}. Reports sealed to them become unreadable without them; "
            "use --force to archive them and create new ones, or `rotate` to re-encrypt the reports."
        )
    public_key, encrypted = generate_keypair(passphrase)
    archived = _archive(base, _stamp()) if force else None
    write_secret_file(base / PRIVATE_KEY_FILE, encrypted, 0o600)
    write_secret_file(base / PUBLIC_KEY_FILE, public_key, 0o644)
    return base, archived


def _read_key_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(
            f"No back office key at {path}: run `python -m integrity.reports.cli keygen` "
            "(or set INTEGRITY_KEY_DIR to the key directory)."
        ) from None
    except OSError as exc:
        raise KeyFileError(f"Cannot read {path}: {exc.strerror}") from None


def load_public_key(directory: str | os.PathLike[str] | None = None) -> PublicKey:
    base = key_dir(directory)
    _check_no_pending(base)
    data = _read_key_file(base / PUBLIC_KEY_FILE)
    if len(data) != PublicKey.SIZE:
        raise KeyFileError(f"{base / PUBLIC_KEY_FILE} is not a back office public key ({len(data)} bytes).")
    return PublicKey(data)


def load_private_key(passphrase: str | bytes, directory: str | os.PathLike[str] | None = None) -> PrivateKey:
    base = key_dir(directory)
    _check_no_pending(base)
    private_key = unlock_private_key(_read_key_file(base / PRIVATE_KEY_FILE), passphrase)
    if (base / PUBLIC_KEY_FILE).exists() and bytes(private_key.public_key) != bytes(load_public_key(base)):
        raise KeyFileError(f"{PUBLIC_KEY_FILE} and {PRIVATE_KEY_FILE} in {base} do not belong together.")
    return private_key


# --- rotation --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RotationResult:
    reports: int
    messages: int
    status_changes: int
    archived_private_key: Path


def _reseal(old: PrivateKey, new: PublicKey, ciphertext: bytes | None) -> bytes | None:
    return None if ciphertext is None else seal(new, unseal(old, ciphertext))


def reseal_all(session: Session, old: PrivateKey, new: PublicKey) -> tuple[int, int, int]:
    """Re-seal every sealed column to `new` inside the session's transaction (nothing is committed here)."""
    if session.get_bind().dialect.name == "postgresql":
        # Keep writers out until the commit, so no row is sealed to the old key behind our back.
        session.execute(text("LOCK TABLE reports, report_messages, status_changes IN EXCLUSIVE MODE"))
    reports = session.scalars(select(Report)).all()
    for report in reports:
        try:
            report.content_sealed = seal(new, unseal(old, report.content_sealed))
            report.reporter_key_sealed = seal(new, unseal(old, report.reporter_key_sealed))
            report.close_reason_sealed = _reseal(old, new, report.close_reason_sealed)
        except DecryptionError as exc:
            raise DecryptionError(f"Report {report.reference}: {exc}") from None
    messages = session.scalars(select(ReportMessage)).all()
    for message in messages:
        message.body_sealed = seal(new, unseal(old, message.body_sealed))
    changes = session.scalars(select(StatusChange).where(StatusChange.reason_sealed.is_not(None))).all()
    for change in changes:
        change.reason_sealed = _reseal(old, new, change.reason_sealed)
    session.flush()
    return len(reports), len(messages), len(changes)


def rotate(
    session: Session,
    old_passphrase: str,
    new_passphrase: str,
    directory: str | os.PathLike[str] | None = None,
    *,
    now: datetime | None = None,
    reseal_more: Sequence[Callable[[Session, PrivateKey, PublicKey], int]] = (),
) -> RotationResult:
    """Replace the back office key pair and re-seal all stored data to the new public key in one transaction.

    Order, so that a crash never loses a usable key: new key files are written as `*.new`; the old ones are
    copied to `*.<timestamp>`; the database is re-sealed and committed; then the `*.new` files replace the live
    ones (atomic renames). On any error before the commit the database is rolled back and the `*.new` files are
    removed. The archived old key stays until the operator deletes it.
    Stop the channels while rotating: a report sealed with the old public key after the commit needs the archived key.
    """
    check_passphrase(new_passphrase)
    base = key_dir(directory)
    old_private = load_private_key(old_passphrase, base)
    new_private, new_encrypted = _new_keypair(new_passphrase)
    new_public = new_private.public_key
    pending_public = base / f"{PUBLIC_KEY_FILE}{PENDING_SUFFIX}"
    pending_private = base / f"{PRIVATE_KEY_FILE}{PENDING_SUFFIX}"
    write_secret_file(pending_private, new_encrypted, 0o600)
    write_secret_file(pending_public, bytes(new_public), 0o644)
    stamp = _stamp(now)
    archived: Path | None = None
    try:
        archived = _archive(base, stamp)
        counts = reseal_all(session, old_private, new_public)
        for reseal in reseal_more:  # e.g. `evidence.reseal_files` (this module cannot import it: a cycle)
            reseal(session, old_private, new_public)
        session.commit()
    except BaseException:
        session.rollback()
        pending_public.unlink(missing_ok=True)
        pending_private.unlink(missing_ok=True)
        for name in (PUBLIC_KEY_FILE, PRIVATE_KEY_FILE):
            (base / f"{name}.{stamp}").unlink(missing_ok=True)
        raise
    os.replace(pending_private, base / PRIVATE_KEY_FILE)
    os.replace(pending_public, base / PUBLIC_KEY_FILE)
    return RotationResult(*counts, archived_private_key=archived or base / f"{PRIVATE_KEY_FILE}.{stamp}")
