"""The one normalisation before every pattern match (integrity/textnorm.py) and the control-character cleaning,
character by character: a mistake here silently blinds the safety net."""

from __future__ import annotations

import pytest

from integrity.textnorm import normalise, without_control_characters


@pytest.mark.parametrize(("text", "expected"), [
    ("Ik wil  NIET méér leven", "ik wil niet meer leven"),
    ("ZELFDODING", "zelfdoding"),
    ("ça   va\t\nbien", "ca va bien"),
    ("  rondom  ", "rondom"),
    ("Ĳs en ﬁets", "ijs en fiets"),  # compatibility characters are decomposed (NFKD), not only accents
    ("naïef, coördinator, één", "naief, coordinator, een"),
    ("z’n m‘n `t  ´s", "z'n m'n 't 's"),
    ("k'wil", "k'wil"),
    ("", ""),
    ("\u00a0\u2003", ""),
])
def test_normalise(text: str, expected: str) -> None:
    assert normalise(text) == expected


def test_normalise_of_nothing_is_empty() -> None:
    assert normalise(None) == ""  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "expected"), [
    ("een\r\ntwee\rdrie\nvier", "een\ntwee\ndrie\nvier"),
    ("tab\there", "tab\there"),
    ("bel\x07 nul\x00 esc\x1b del\x7f c1\x85", "bel nul esc del c1"),
    ("lone \ud800 surrogate", "lone  surrogate"),
    ("emoji 🙂 <b>html</b> *md* \u200b", "emoji 🙂 <b>html</b> *md* \u200b"),
    ("", ""),
])
def test_without_control_characters(text: str, expected: str) -> None:
    assert without_control_characters(text) == expected
