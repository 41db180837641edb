"""Staff members' key pairs: created with the password, opened at login, re-wrapped, recovered.

Coordinators and handlers each have an X25519 key pair (admins read no reports and have none). The private key is
stored three ways, never in the clear:
- `private_key_box`: under a key derived from the password with Argon2id (`crypto.wrap_with_password`); opened at
  login and kept for the session under the cookie-held key (integrity.staff.sessions). A password change
  re-wraps it; an admin's password reset drops it (the admin does not know the old password).
- `recovery_box`: under the recovery key, 160 random bits shown once at the first login (`new_recovery_key`).
  With it, the staff member re-opens their private key after a reset (`recover`); without it they get a new key
  pair and lose access until a colleague grants it again (`start_over`).
- `escrow_box` (only if the installation has an escrow key, off by default): sealed to the escrow public key;
  whoever holds the escrow private key and its passphrase can restore any staff member's key (`escrow_restore`).
  See docs/security.md for what that changes.
Nothing here commits.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from pathlib import Path

import nacl.secret
from nacl.public import PrivateKey, PublicKey

from integrity.reports import crypto
from integrity.settings import DomainSettings
from integrity.staff.models import Role, StaffUser

ESCROW_PUBLIC_FILE = "escrow.pub"
ESCROW_PRIVATE_FILE = "escrow.key.enc"
RECOVERY_BYTES = 20  # 160 bits: 32 base32 characters
KEY_ROLES = (Role.COORDINATOR, Role.HANDLER)
_RECOVERY_CONTEXT = b"integrity-staff/v1/recovery-key"


class WrongRecoveryKey(crypto.KeyFileError):
    """The recovery key (or escrow key) does not open this staff member's private key."""


def needs_keys(user: StaffUser) -> bool:
    return user.role in KEY_ROLES


def has_keys(user: StaffUser) -> bool:
    return user.public_key is not None


def awaits_recovery(user: StaffUser) -> bool:
    """A key pair whose password copy was dropped by an admin's password reset."""
    return user.public_key is not None and user.private_key_box is None


def public_key(user: StaffUser) -> PublicKey | None:
    return PublicKey(user.public_key) if user.public_key is not None else None


# --- escrow (optional) -----------------------------------------------------------------------------------------


def escrow_public_key(settings: DomainSettings | None = None) -> PublicKey | None:
    """The escrow public key if the installation has one (`escrow.pub` in the key directory), else None."""
    path = (settings or DomainSettings.from_env()).key_dir / ESCROW_PUBLIC_FILE
    if not path.exists():
        return None
    data = path.read_bytes()
    if len(data) != PublicKey.SIZE:
        raise crypto.KeyFileError(f"{path} is not an escrow public key ({len(data)} bytes)")
    return PublicKey(data)


def create_escrow_key(passphrase: str, settings: DomainSettings | None = None) -> Path:
    """Turn escrow on: a key pair whose private key is kept under `passphrase`. Move that file offline."""
    crypto.check_passphrase(passphrase)
    base = (settings or DomainSettings.from_env()).key_dir
    if (base / ESCROW_PUBLIC_FILE).exists():
        raise crypto.KeyFileError(f"An escrow key already exists in {base}")
    public, encrypted = crypto.generate_keypair(passphrase)
    crypto.write_secret_file(base / ESCROW_PRIVATE_FILE, encrypted, 0o600)
    crypto.write_secret_file(base / ESCROW_PUBLIC_FILE, public, 0o644)
    return base / ESCROW_PRIVATE_FILE


def load_escrow_private_key(passphrase: str, path: str | os.PathLike[str]) -> PrivateKey:
    return crypto.unlock_private_key(Path(path).read_bytes(), passphrase)


def _escrow(user: StaffUser, private: PrivateKey, settings: DomainSettings | None) -> None:
    escrow = escrow_public_key(settings)
    user.escrow_box = crypto.seal(escrow, bytes(private)) if escrow is not None else None


# --- creating, opening, re-wrapping ----------------------------------------------------------------------------


def create(user: StaffUser, password: str, settings: DomainSettings | None = None) -> PrivateKey:
    """A new key pair for `user`, its private key under `password` (and the escrow key, if any)."""
    private = PrivateKey.generate()
    user.public_key = bytes(private.public_key)
    user.private_key_box = crypto.wrap_with_password(bytes(private), password)
    user.recovery_box = None
    _escrow(user, private, settings)
    return private


def unlock(user: StaffUser, password: str) -> PrivateKey | None:
    """The private key opened with the password; None without a key pair or while it awaits recovery."""
    if user.private_key_box is None:
        return None
    try:
        private = PrivateKey(crypto.unwrap_with_password(user.private_key_box, password))
    except crypto.WrongPassphrase:
        return None
    if bytes(private.public_key) != user.public_key:
        raise crypto.KeyFileError(f"The private key of staff user {user.id} does not match its public key")
    return private


def rewrap(user: StaffUser, private: PrivateKey, new_password: str) -> None:
    """After a password change: the same private key under the new password."""
    user.private_key_box = crypto.wrap_with_password(bytes(private), new_password)


def drop_password_copy(user: StaffUser) -> None:
    """An admin reset the password: the private key stays only under the recovery (and escrow) key."""
    user.private_key_box = None


# --- recovery --------------------------------------------------------------------------------------------------


def _recovery_box_key(recovery_key: str) -> bytes:
    cleaned = "".join(recovery_key.upper().split()).replace("-", "")
    try:
        raw = base64.b32decode(cleaned)
    except ValueError:
        raise WrongRecoveryKey("The recovery key is malformed") from None
    if len(raw) != RECOVERY_BYTES:
        raise WrongRecoveryKey("The recovery key has the wrong length")
    return hashlib.blake2b(raw, digest_size=nacl.secret.SecretBox.KEY_SIZE, person=b"integrity-recov",
                           key=_RECOVERY_CONTEXT).digest()


def format_recovery_key(raw: bytes) -> str:
    text = base64.b32encode(raw).decode("ascii")
    return "-".join(text[i:i + 4] for i in range(0, len(text), 4))


def new_recovery_key(user: StaffUser, private: PrivateKey) -> str:
    """A new recovery key for `user` (replacing any earlier one); returns it formatted, to show once."""
    recovery_key = format_recovery_key(secrets.token_bytes(RECOVERY_BYTES))
    user.recovery_box = bytes(nacl.secret.SecretBox(_recovery_box_key(recovery_key)).encrypt(bytes(private)))
    return recovery_key


def _open_recovery(user: StaffUser, recovery_key: str) -> PrivateKey:
    if user.recovery_box is None or user.public_key is None:
        raise WrongRecoveryKey(f"Staff user {user.id} has no recovery key")
    try:
        private = PrivateKey(crypto.secretbox_decrypt(_recovery_box_key(recovery_key), user.recovery_box))
    except crypto.DecryptionError:
        raise WrongRecoveryKey(f"The recovery key does not open the key of staff user {user.id}") from None
    if bytes(private.public_key) != user.public_key:
        raise WrongRecoveryKey(f"The recovery copy of staff user {user.id} belongs to another key")
    return private


def recover(user: StaffUser, recovery_key: str, password: str) -> tuple[PrivateKey, str]:
    """Re-open the private key with the recovery key and wrap it under `password` (the current one).

    The used recovery key is replaced: returns (private key, new recovery key to show once).
    """
    private = _open_recovery(user, recovery_key)
    rewrap(user, private, password)
    return private, new_recovery_key(user, private)


def start_over(user: StaffUser, password: str, settings: DomainSettings | None = None) -> PrivateKey:
    """A new key pair after a reset without the recovery key. The caller revokes the old grants (they are useless)."""
    return create(user, password, settings)


def escrow_restore(user: StaffUser, escrow_private: PrivateKey, password: str) -> PrivateKey:
    """The operator with the escrow key restores `user`'s private key under a new password."""
    if user.escrow_box is None:
        raise WrongRecoveryKey(f"Staff user {user.id} has no escrow copy (escrow was off when the key was made)")
    try:
        private = PrivateKey(crypto.unseal(escrow_private, user.escrow_box))
    except crypto.DecryptionError:
        raise WrongRecoveryKey("The escrow key does not open this staff member's key") from None
    if bytes(private.public_key) != user.public_key:
        raise WrongRecoveryKey(f"The escrow copy of staff user {user.id} belongs to another key")
    rewrap(user, private, password)
    return private
