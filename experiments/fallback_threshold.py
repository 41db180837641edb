"""The fallback threshold's trade-off for the TF-IDF intent classifier, by 5-fold cross-validation on nlu/*.yml.

    .venv-rasa/bin/python -m experiments.fallback_threshold

For each threshold (with config.yml's ambiguity margin 0.05): how often an in-domain question gets the
clarifying "did you mean A or B" reply instead of a direct answer, and how often a wrong intent is answered
directly. Uses only training data (no held-out set), so it can guide the threshold without tuning on a test set.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold

from experiments.nlu_data import nlu_files, read_examples
from rasa_plugins.tfidf_intent_classifier import build_pipeline

THRESHOLDS = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45)
AMBIGUITY = 0.05
OUT_OF_SCOPE = ("out_of_scope",)


def main() -> None:
    examples = read_examples(nlu_files(Path("nlu")))
    texts = np.array([text for text, _ in examples], dtype=object)
    intents = np.array([intent for _, intent in examples])
    best, margin, correct, gold = [], [], [], []
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(texts, intents):
        model = build_pipeline(10.0, 2000, 42).fit(list(texts[train]), list(intents[train]))
        probabilities = model.predict_proba(list(texts[test]))
        order = np.argsort(-probabilities, axis=1)
        for row, ranked, expected in zip(probabilities, order, intents[test], strict=True):
            best.append(row[ranked[0]])
            margin.append(row[ranked[0]] - row[ranked[1]])
            correct.append(model.classes_[ranked[0]] == expected)
            gold.append(expected)
    best_a, margin_a, correct_a = np.array(best), np.array(margin), np.array(correct)
    indomain = ~np.isin(np.array(gold), OUT_OF_SCOPE)
    print(f"5-fold CV intent accuracy: {correct_a.mean():.3f} ({len(examples)} examples)")
    print("| threshold | clarifying reply (in-domain) | wrong intent answered directly | errors caught |")
    print("|---|---|---|---|")
    for threshold in THRESHOLDS:
        fallback = (best_a < threshold) | (margin_a < AMBIGUITY)
        wrong = ~correct_a
        print(f"| {threshold} | {fallback[indomain].mean():.1%} | {(~fallback & wrong)[indomain].mean():.1%} | "
              f"{(fallback & wrong)[indomain].sum()}/{wrong[indomain].sum()} |")


if __name__ == "__main__":
    main()
