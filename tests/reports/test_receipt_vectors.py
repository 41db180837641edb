"""Receipt codes against fixed vectors (integrity/reports/receipts.py): a change to any derivation detail (salt,
purpose, Argon2 variant or length, the throttle key) would silently make every code already handed out useless,
so the outputs for a known installation secret are pinned here. Plus the salt file's format and the code rules."""

from __future__ import annotations

import hashlib
import os
import stat
import struct
from pathlib import Path

import pytest
from argon2.low_level import Type, hash_secret_raw

from integrity.reports import receipts

CODE = "1234567890123456"
SECRET = bytes(range(32))
PARAMS = (1, 8, 1)  # time cost, memory (KiB), parallelism: the "test" profile


@pytest.fixture
def installation(tmp_path: Path) -> Path:
    directory = tmp_path / "installation"  # not the key directory of INTEGRITY_KEY_DIR (tests/reports/conftest.py)
    directory.mkdir()
    (directory / "receipt.salt").write_bytes(b"IRS1" + struct.pack(">IIB", *PARAMS) + SECRET)
    return directory


def test_the_derivations_give_the_pinned_values(installation: Path) -> None:
    digest = "06b1de28186a13fc76de0538c111103c7a11b8f99110b35d278fcea58d4d9412"
    key = "b3d5bc6f84720886803d08059199b40ef66c25094adc56c94862abbc1cdc2a6d"
    assert receipts.receipt_hash(CODE, installation) == digest
    assert receipts.receipt_hash("1234 5678 9012 3456", installation) == digest
    assert receipts.reporter_key(CODE, installation).hex() == key
    assert receipts.derive_both("1234-5678-9012-3456", installation) == (digest, bytes.fromhex(key))
    dummy_key = "04fc63faaf6d0f2f71485c0be3f4c75a10a3ec83f7aea951029179d3298e15ae"
    assert receipts.derive_both("geen code", installation) == (None, bytes.fromhex(dummy_key))
    assert receipts.reporter_key(receipts.DUMMY_CODE, installation).hex() == dummy_key
    assert receipts.throttle_hash("telegram:1", installation) == \
        "1f78e5ee20b8265f9e6f5822ddc742c2610808d1687ac728f8503039e2cef061"


def test_the_derivation_is_argon2id_over_the_digits_with_a_keyed_salt_per_purpose(installation: Path) -> None:
    secret = receipts.installation_secret(installation)
    assert (secret.secret, secret.time_cost, secret.memory_cost, secret.parallelism) == (SECRET, *PARAMS)
    salt = hashlib.blake2b(b"receipt-hash", key=SECRET, digest_size=16, person=b"integrity-salt").digest()
    assert secret.salt(b"receipt-hash") == salt
    expected = hash_secret_raw(secret=CODE.encode("ascii"), salt=salt, time_cost=1, memory_cost=8, parallelism=1,
                               hash_len=32, type=Type.ID)
    assert receipts.receipt_hash(CODE, installation) == expected.hex()
    throttle = hashlib.blake2b(b"ip:10.0.0.1", key=SECRET, digest_size=32, person=b"integrity-thrott").hexdigest()
    assert receipts.throttle_hash("ip:10.0.0.1", installation) == throttle


@pytest.mark.parametrize("damage", [
    lambda data: b"IRS2" + data[4:],
    lambda data: data[:-1],
    lambda data: data + b"\x00",
    lambda data: b"",
])
def test_a_damaged_salt_file_is_refused(installation: Path, damage: object) -> None:
    path = installation / "receipt.salt"
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]
    with pytest.raises(RuntimeError) as refused:
        receipts.installation_secret(installation)
    assert str(refused.value) == f"{path} is not a receipt salt file (wrong format or damaged)"


def test_a_new_salt_file_records_the_profile_s_parameters(tmp_path: Path, report_env: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTEGRITY_ARGON2_PROFILE", "default")
    directory = tmp_path / "fresh"
    secret = receipts.installation_secret(directory)
    data = (directory / "receipt.salt").read_bytes()
    assert len(data) == 4 + 9 + 32 and data[:4] == b"IRS1"
    assert struct.unpack(">IIB", data[4:13]) == (3, 65536, 4) == \
        (secret.time_cost, secret.memory_cost, secret.parallelism)
    assert data[13:] == secret.secret and len(set(secret.secret)) > 8
    assert stat.S_IMODE((directory / "receipt.salt").stat().st_mode) == 0o600
    assert os.listdir(directory) == ["receipt.salt"], "no temporary file is left behind"
    assert receipts.installation_secret(directory) == secret


def test_a_salt_file_created_by_someone_else_in_between_is_used(tmp_path: Path, report_env: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    directory = tmp_path / "race"
    directory.mkdir()
    theirs = b"IRS1" + struct.pack(">IIB", *PARAMS) + bytes(32)
    real_link = os.link

    def link_after_them(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
        Path(target).write_bytes(theirs)
        real_link(source, target)

    monkeypatch.setattr(receipts.os, "link", link_after_them)
    assert receipts.installation_secret(directory).secret == bytes(32)
    assert os.listdir(directory) == ["receipt.salt"]


def test_new_code_uses_the_whole_range_zero_padded(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[int] = []

    def below(limit: int) -> int:
        asked.append(limit)
        return 42

    monkeypatch.setattr(receipts.secrets, "randbelow", below)
    assert receipts.new_code() == "0000000000000042"
    assert asked == [10**16]


@pytest.mark.parametrize("typed", ["1234\u20105678\u20159012\u22123456", "1234 - 5678 \u2014 9012\t3456",
                                   "1234\n5678\r\n9012 3456"])
def test_every_dash_and_space_is_a_separator(typed: str) -> None:
    assert receipts.normalise(typed) == CODE
    assert receipts.format_code(typed) == "1234 5678 9012 3456"


def test_malformed_codes_say_so_in_english() -> None:
    for typed in (None, "1234 5678 9012 345x", "12345678901234567", "1234_5678_9012_3456"):
        with pytest.raises(receipts.MalformedReceipt) as refused:
            receipts.normalise(typed)  # type: ignore[arg-type]
        assert str(refused.value) == "A receipt code has 16 digits"
    with pytest.raises(ValueError) as empty:
        receipts.throttle_hash("")
    assert str(empty.value) == "throttle key is empty: pass the sender id or client IP address"
