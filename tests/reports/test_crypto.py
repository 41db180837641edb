"""Key pairs, password protection and the old installation key files (no database)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from nacl.public import PrivateKey

from integrity.reports import crypto, installation_key

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
    with pytest.raises(crypto.WrongPassphrase, match="Wrong password or passphrase"):
        crypto.unlock_private_key(encrypted, "correct horse battery stapler")
    with pytest.raises(crypto.KeyFileError, match="not a password-protected private key"):
        crypto.unlock_private_key(b"garbage" * 20, PASSPHRASE)


def test_passphrase_is_unicode_normalised() -> None:
    _, encrypted = crypto.generate_keypair("wachtwoord met café erin")
    crypto.unlock_private_key(encrypted, "wachtwoord met cafe\u0301 erin")


def test_installation_key_files_permissions_and_destruction(report_env: Path) -> None:
    """The old installation key (read only by the key migration): made 0600, never overwritten, destroyed."""
    with pytest.raises(crypto.KeyFileError, match="INTEGRITY_KEY_DIR"):
        installation_key.load_public_key()
    with pytest.raises(crypto.KeyFileError, match="too short"):
        installation_key.create_keys("kort")
    directory = installation_key.create_keys(PASSPHRASE)
    private_file = directory / installation_key.PRIVATE_KEY_FILE
    assert stat.S_IMODE(private_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(report_env.stat().st_mode) == 0o700
    public_before = installation_key.load_public_key()
    with pytest.raises(crypto.KeyFileError, match="already exist"):
        installation_key.create_keys(PASSPHRASE)
    assert installation_key.load_public_key() == public_before
    with pytest.raises(crypto.WrongPassphrase):
        installation_key.load_private_key("not the passphrase at all")
    assert bytes(installation_key.load_private_key(PASSPHRASE).public_key) == bytes(public_before)

    removed = installation_key.destroy()
    assert {path.name for path in removed} == {installation_key.PRIVATE_KEY_FILE, installation_key.PUBLIC_KEY_FILE}
    assert not installation_key.keys_exist()
    with pytest.raises(crypto.KeyFileError):
        installation_key.load_private_key(PASSPHRASE)


def test_argon2_profile_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert crypto.argon2_profile().name == "test"
    monkeypatch.setenv("INTEGRITY_ARGON2_PROFILE", "default")
    default = crypto.argon2_profile()
    assert default.memory_cost >= 65536 and default.kdf_memlimit >= 256 * 1024 * 1024
    monkeypatch.setenv("INTEGRITY_ARGON2_PROFILE", "fast")
    with pytest.raises(ValueError, match="INTEGRITY_ARGON2_PROFILE"):
        crypto.argon2_profile()
