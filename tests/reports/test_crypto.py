"""Back office key pair, passphrase protection and key files (no database)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from nacl.public import PrivateKey

from integrity.reports import crypto

PASSPHRASE = "correct horse battery staple"


def test_keypair_seals_and_unlocks_with_the_passphrase() -> None:
    public_key, encrypted = crypto.generate_keypair(PASSPHRASE)
    assert len(public_key) == 32
    private_key = crypto.unlock_private_key(encrypted, PASSPHRASE)
    assert bytes(private_key.public_key) == public_key
    sealed = crypto.seal(public_key, "geheim 🤫".encode())
    assert b"geheim" not in sealed
    assert crypto.unseal(private_key, sealed).decode() == "geheim 🤫"
    with pytest.raises(crypto.DecryptionError):
        crypto.unseal(PrivateKey.generate(), sealed)


def test_wrong_passphrase_is_a_clear_error() -> None:
    _, encrypted = crypto.generate_keypair(PASSPHRASE)
    with pytest.raises(crypto.WrongPassphrase, match="Wrong passphrase"):
        crypto.unlock_private_key(encrypted, "correct horse battery stapler")
    with pytest.raises(crypto.KeyFileError, match="not a back office private key"):
        crypto.unlock_private_key(b"garbage" * 20, PASSPHRASE)


def test_passphrase_is_unicode_normalised() -> None:
    _, encrypted = crypto.generate_keypair("wachtwoord met café erin")
    crypto.unlock_private_key(encrypted, "wachtwoord met cafe\u0301 erin")


def test_key_files_permissions_and_no_silent_overwrite(report_env: Path) -> None:
    directory, archived = crypto.create_keys(PASSPHRASE)
    assert directory == report_env and archived is None
    private_file = report_env / crypto.PRIVATE_KEY_FILE
    assert stat.S_IMODE(private_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(report_env.stat().st_mode) == 0o700
    public_before = crypto.load_public_key()

    with pytest.raises(crypto.KeyFileError, match="already exist"):
        crypto.create_keys(PASSPHRASE)
    assert crypto.load_public_key() == public_before

    _, archived = crypto.create_keys(PASSPHRASE, force=True)
    assert archived is not None and archived.name.startswith(f"{crypto.PRIVATE_KEY_FILE}.")
    assert stat.S_IMODE(archived.stat().st_mode) == 0o600
    assert crypto.load_public_key() != public_before
    assert bytes(crypto.unlock_private_key(archived.read_bytes(), PASSPHRASE).public_key) == bytes(public_before)


def test_missing_keys_short_passphrase_and_interrupted_rotation(report_env: Path) -> None:
    with pytest.raises(crypto.KeyFileError, match="keygen"):
        crypto.load_public_key()
    with pytest.raises(crypto.KeyFileError, match="too short"):
        crypto.create_keys("kort")
    crypto.create_keys(PASSPHRASE)
    (report_env / f"{crypto.PRIVATE_KEY_FILE}.new").write_bytes(b"x")
    with pytest.raises(crypto.KeyFileError, match="interrupted key rotation"):
        crypto.load_private_key(PASSPHRASE)


def test_argon2_profile_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert crypto.argon2_profile().name == "test"
    monkeypatch.setenv("INTEGRITY_ARGON2_PROFILE", "default")
    default = crypto.argon2_profile()
    assert default.memory_cost >= 65536 and default.kdf_memlimit >= 256 * 1024 * 1024
    monkeypatch.setenv("INTEGRITY_ARGON2_PROFILE", "fast")
    with pytest.raises(ValueError, match="INTEGRITY_ARGON2_PROFILE"):
        crypto.argon2_profile()
