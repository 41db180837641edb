"""Baseline intent classifier: TF-IDF (words 1-2 + character 2-5 n-grams) and a logistic regression.

Run in .venv-rasa (it has scikit-learn):

    .venv-rasa/bin/python -m experiments.tfidf_baseline train NLU_DIR MODEL.pkl
    .venv-rasa/bin/python -m experiments.tfidf_baseline predict MODEL.pkl TEXTS.json PREDICTIONS.json

Same training examples as Rasa (nlu/*.yml). The settings were fixed before looking at any held-out set and are
not tuned. Its probabilities go through the same rule as config.yml's FallbackClassifier (0.4, ambiguity 0.05),
so out-of-scope recall is comparable.
"""

from __future__ import annotations

import argparse
import pickle
from pathlib import Path
from typing import Any

from experiments.nlu_data import nlu_files, read_examples
from experiments.predictions import fallback_rule, prediction, read_texts, write_predictions

THRESHOLD, AMBIGUITY = 0.4, 0.05


def build() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    features = FeatureUnion([
        ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True)),
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
    ])
    classifier = LogisticRegression(C=10.0, class_weight="balanced", max_iter=2000, random_state=42)
    return Pipeline([("features", features), ("classifier", classifier)])


def train(nlu_dir: Path, out: Path) -> None:
    examples = read_examples(nlu_files(nlu_dir))
    model = build()
    model.fit([text for text, _ in examples], [intent for _, intent in examples])
    out.write_bytes(pickle.dumps(model))


def predict(model_path: Path, texts_path: Path, out: Path) -> None:
    model = pickle.loads(model_path.read_bytes())
    texts = read_texts(texts_path)
    labels = list(model.classes_)
    predictions = []
    for probabilities in model.predict_proba(texts):
        ranking = sorted(zip(labels, map(float, probabilities), strict=True), key=lambda item: -item[1])
        predictions.append(prediction(ranking, fallback_rule(ranking, THRESHOLD, AMBIGUITY)))
    write_predictions(out, predictions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    train_cmd = commands.add_parser("train")
    train_cmd.add_argument("nlu_dir", type=Path)
    train_cmd.add_argument("model", type=Path)
    predict_cmd = commands.add_parser("predict")
    predict_cmd.add_argument("model", type=Path)
    predict_cmd.add_argument("texts", type=Path)
    predict_cmd.add_argument("out", type=Path)
    args = parser.parse_args()
    if args.command == "train":
        train(args.nlu_dir, args.model)
    else:
        predict(args.model, args.texts, args.out)


if __name__ == "__main__":
    main()
