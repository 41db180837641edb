"""What is done to user text: one normalisation for every pattern match on it (safety net, situation facts,
aliases, verdicts), and one way to drop invisible control characters before it is stored or sent on."""

from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'"})


def normalise(text: str) -> str:
    """Lower case, accents removed, typographic apostrophes made plain, runs of white space made one space.

    "Ik wil  NIET méér leven" -> "ik wil niet meer leven".
    """
    decomposed = unicodedata.normalize("NFKD", (text or "").translate(_APOSTROPHES).lower())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACE.sub(" ", plain).strip()


def without_control_characters(text: str) -> str:
    """Line breaks made LF; control characters other than newline and tab, and lone surrogates, dropped.

    Everything else (emoji, HTML, markdown) stays as literal text.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(char for char in text if char in "\n\t" or unicodedata.category(char) not in ("Cc", "Cs"))
