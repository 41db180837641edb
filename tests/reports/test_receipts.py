"""Receipt codes, their hash and the reporter key (no database)."""

from __future__ import annotations

import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from integrity.reports import receipts


def test_code_is_sixteen_random_digits_shown_in_groups_of_four() -> None:
    codes = {receipts.new_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(code) == 16 and code.isdigit() for code in codes)
    assert receipts.format_code("1234567890123456") == "1234 5678 9012 3456"


@pytest.mark.parametrize("typed", ["1234 5678 9012 3456", "1234-5678-9012-3456", " 1234567890123456 ",
                                   "1234\u20115678\u00a09012\u20133456"])
def test_normalise_accepts_spaces_and_dashes(typed: str) -> None:
    assert receipts.normalise(typed) == "1234567890123456"


@pytest.mark.parametrize("typed", ["", "1234", "1234 5678 9012 345", "1234 5678 9012 34567", "abcd efgh ijkl mnop",
                                   "١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦"])
def test_malformed_codes_are_rejected(typed: str) -> None:
    with pytest.raises(receipts.MalformedReceipt):
        receipts.normalise(typed)


def test_hash_is_deterministic_and_independent_of_the_reporter_key(report_env: Path) -> None:
    code = "1234 5678 9012 3456"
    digest = receipts.receipt_hash(code)
    assert digest == receipts.receipt_hash("1234-5678-9012-3456")
    assert len(digest) == 64 and "1234567890123456" not in digest
    key = receipts.reporter_key(code)
    assert len(key) == 32 and key.hex() != digest
    assert receipts.receipt_hash("1234 5678 9012 3457") != digest
    assert receipts.derive_both(code) == (digest, key)
    assert receipts.derive_both("not a code")[0] is None

    salt_file = report_env / receipts.SALT_FILE
    assert stat.S_IMODE(salt_file.stat().st_mode) == 0o600


def test_another_installation_gives_other_hashes(report_env: Path, tmp_path: Path) -> None:
    code = "1234567890123456"
    other = tmp_path / "other-keys"
    assert receipts.receipt_hash(code) != receipts.receipt_hash(code, other)
    assert receipts.throttle_hash("telegram:1") != receipts.throttle_hash("telegram:1", other)


def test_installation_secret_is_created_once_under_concurrency(report_env: Path) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        secrets = list(pool.map(lambda _: receipts.installation_secret().secret, range(32)))
    assert len(set(secrets)) == 1
    assert [p.name for p in report_env.iterdir()] == [receipts.SALT_FILE]


def test_installation_keeps_its_argon2_parameters(report_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    digest = receipts.receipt_hash("1234567890123456")
    monkeypatch.setenv("INTEGRITY_ARGON2_PROFILE", "default")
    assert receipts.receipt_hash("1234567890123456") == digest


def test_throttle_hash_is_keyed_and_never_the_raw_id(report_env: Path) -> None:
    hashed = receipts.throttle_hash("telegram:987654321")
    assert "987654321" not in hashed and len(hashed) == 64
    assert hashed == receipts.throttle_hash("telegram:987654321")
    with pytest.raises(ValueError):
        receipts.throttle_hash("")
