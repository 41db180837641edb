"""The encryption primitives (PyNaCl / libsodium): sealed boxes, secret boxes, and secrets wrapped under a password.

- Everything the back office may read is sealed (X25519 sealed box) to the report's own public key
  (`integrity.reports.report_keys`), so the bot can store reports without being able to read them back.
- A private key kept under a password (`wrap_with_password`): XSalsa20-Poly1305 (SecretBox) under a key derived
  from the password with Argon2id. The blob starts with its own KDF parameters and salt, so changing the Argon2
  profile later never locks anyone out. Staff members' keys use it (`integrity.staff.user_keys`); so did the old
  installation key file (`integrity.reports.installation_key`, read only by the migration).
- Secret files live in INTEGRITY_KEY_DIR (default `var/keys/` in the repository): `receipt.salt` and others.

Argon2 cost: INTEGRITY_ARGON2_PROFILE selects `default` (secure: passphrase KDF at libsodium's MODERATE limits,
receipt derivations at RFC 9106's low-memory setting) or `test` (the minimum costs, for the test suite only).
The profile is read when a key pair or an installation secret is created; existing files keep their parameters.
"""

from __future__ import annotations

import os
import secrets
import struct
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import nacl.exceptions
import nacl.pwhash
import nacl.secret
import nacl.utils
from nacl.public import PrivateKey, PublicKey, SealedBox

from integrity.settings import DomainSettings

MIN_PASSPHRASE_LENGTH = 12

_argon2id = nacl.pwhash.argon2id
_KEY_MAGIC = b"IBOK1"
_KEY_HEADER = struct.Struct(">IQ")  # opslimit, memlimit (bytes)
_MAX_MEMLIMIT = 4 * 1024**3


class KeyFileError(RuntimeError):
    """Key files are missing, unreadable, damaged, or would be overwritten."""


class WrongPassphrase(KeyFileError):
    """The password or passphrase does not open the private key."""


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


def wrap_with_password(secret: bytes, password: str | bytes, profile: Argon2Profile | None = None) -> bytes:
    """`secret` encrypted under a key derived from `password` (Argon2id); the blob carries its KDF parameters."""
    profile = profile or argon2_profile()
    salt = nacl.utils.random(_argon2id.SALTBYTES)
    box_key = _argon2id.kdf(
        nacl.secret.SecretBox.KEY_SIZE, _passphrase_bytes(password), salt,
        opslimit=profile.kdf_opslimit, memlimit=profile.kdf_memlimit,
    )
    header = _KEY_MAGIC + _KEY_HEADER.pack(profile.kdf_opslimit, profile.kdf_memlimit) + salt
    return header + nacl.secret.SecretBox(box_key).encrypt(secret)


def unwrap_with_password(blob: bytes, password: str | bytes) -> bytes:
    """The secret of `wrap_with_password`; WrongPassphrase if the password does not open it."""
    header_size = len(_KEY_MAGIC) + _KEY_HEADER.size + _argon2id.SALTBYTES
    if not blob.startswith(_KEY_MAGIC) or len(blob) <= header_size:
        raise KeyFileError("This is not a password-protected private key (wrong format or damaged).")
    opslimit, memlimit = _KEY_HEADER.unpack_from(blob, len(_KEY_MAGIC))
    if not (_argon2id.OPSLIMIT_MIN <= opslimit <= _argon2id.OPSLIMIT_MAX
            and _argon2id.MEMLIMIT_MIN <= memlimit <= _MAX_MEMLIMIT):
        raise KeyFileError("The password-protected private key has invalid KDF parameters (damaged).")
    salt = blob[header_size - _argon2id.SALTBYTES:header_size]
    box_key = _argon2id.kdf(
        nacl.secret.SecretBox.KEY_SIZE, _passphrase_bytes(password), salt, opslimit=opslimit, memlimit=memlimit
    )
    try:
        return nacl.secret.SecretBox(box_key).decrypt(blob[header_size:])
    except nacl.exceptions.CryptoError:
        raise WrongPassphrase("Wrong password or passphrase for this private key (or the key is damaged).") \
            from None


def generate_keypair(passphrase: str | bytes) -> tuple[bytes, bytes]:
    """A new key pair: (public key, private key encrypted under the passphrase)."""
    private_key = PrivateKey.generate()
    return bytes(private_key.public_key), wrap_with_password(bytes(private_key), passphrase)


def unlock_private_key(encrypted: bytes, passphrase: str | bytes) -> PrivateKey:
    return PrivateKey(unwrap_with_password(encrypted, passphrase))


def _public(public_key: bytes | PublicKey) -> PublicKey:
    return public_key if isinstance(public_key, PublicKey) else PublicKey(public_key)


def seal(public_key: bytes | PublicKey, plaintext: bytes) -> bytes:
    return SealedBox(_public(public_key)).encrypt(plaintext)


def unseal(private_key: PrivateKey, ciphertext: bytes) -> bytes:
    try:
        return SealedBox(private_key).decrypt(ciphertext)
    except nacl.exceptions.CryptoError:
        raise DecryptionError(
            "Cannot decrypt: the data was sealed to another key or is damaged."
        ) from None


def secretbox_encrypt(key: bytes, plaintext: bytes) -> bytes:
    return nacl.secret.SecretBox(key).encrypt(plaintext)


def secretbox_decrypt(key: bytes, ciphertext: bytes) -> bytes:
    try:
        return nacl.secret.SecretBox(key).decrypt(ciphertext)
    except nacl.exceptions.CryptoError:
        raise DecryptionError("Cannot decrypt the reporter's copy: wrong key or damaged data.") from None


