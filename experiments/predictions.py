"""The prediction file format shared by the Rasa and baseline predictors (both venvs).

Input: a JSON list of texts. Output: a JSON list, same order, of
`{"intent": name, "confidence": c, "ranking": [[name, c], ...]}` where `intent` may be `nlu_fallback`
(FallbackClassifier) and `ranking` holds the real intents, best first.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FALLBACK = "nlu_fallback"
RANKING_LENGTH = 10


def read_texts(path: Path) -> list[str]:
    return list(json.loads(path.read_text(encoding="utf-8")))


def write_predictions(path: Path, predictions: list[dict[str, Any]]) -> None:
    path.write_text(json.dumps(predictions, ensure_ascii=False), encoding="utf-8")


def read_predictions(path: Path) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text(encoding="utf-8")))


def prediction(ranking: list[tuple[str, float]], fallback: bool) -> dict[str, Any]:
    """One prediction from the real intents ranked best first; `fallback` marks a FallbackClassifier decision."""
    top, confidence = ranking[0] if ranking else (FALLBACK, 0.0)
    return {"intent": FALLBACK if fallback else top, "confidence": confidence,
            "ranking": [[name, round(conf, 6)] for name, conf in ranking[:RANKING_LENGTH]]}


def fallback_rule(ranking: list[tuple[str, float]], threshold: float, ambiguity: float) -> bool:
    """Rasa's FallbackClassifier: top confidence below `threshold`, or the two best closer than `ambiguity`."""
    if not ranking:
        return True
    if ranking[0][1] < threshold:
        return True
    return len(ranking) > 1 and ranking[0][1] - ranking[1][1] < ambiguity
