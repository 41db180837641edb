"""One normalisation for every pattern match on user text (safety net, situation facts, aliases, verdicts)."""

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
