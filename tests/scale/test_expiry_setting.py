"""The Redis tracker store's expiry setting (rasa_plugins.redaction.expiry_seconds): never without expiry."""

from __future__ import annotations

import pytest

from rasa_plugins.redaction import expiry_seconds


def test_an_unset_expiry_is_the_default() -> None:
    assert expiry_seconds(None, 3600) == 3600
    assert expiry_seconds("", 3600) == 3600


def test_an_expiry_from_the_endpoints_file_may_be_text_or_a_number() -> None:
    assert expiry_seconds("900", 3600) == 900
    assert expiry_seconds(1800.5, 3600) == 1800


@pytest.mark.parametrize("value", [0, "0", -1, "-60", "never", "1h"])
def test_no_expiry_or_a_nonsense_expiry_is_refused(value: object) -> None:
    with pytest.raises(ValueError, match="record_exp"):
        expiry_seconds(value, 3600)  # type: ignore[arg-type]
