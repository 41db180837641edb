"""Intent classifier: TF-IDF over word 1-2 grams and character 2-5 grams, and a class-balanced logistic regression.

It reads the message text itself, not the featurizers' output: `make bench` measured this baseline
(experiments/tfidf_baseline.py, the same model) above Rasa's LogisticRegressionClassifier on raw counts and above
DIET on both held-out sets (docs/benchmarks.md, docs/nlu.md). The featurizers stay in the pipeline for DIET's
entity recognition.

Configuration (config.yml): `C`, `max_iter`, `random_state`, `ranking_length`. The fitted scikit-learn pipeline is
stored with pickle inside the trained model archive (written and read only by this project).
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


def build_pipeline(c: float, max_iter: int, random_state: int) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import FeatureUnion, Pipeline

    features = FeatureUnion([
        ("words", TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True)),
        ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
    ])
    classifier = LogisticRegression(C=c, class_weight="balanced", max_iter=max_iter, random_state=random_state)
    return Pipeline([("features", features), ("classifier", classifier)])


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class TfidfIntentClassifier(IntentClassifier, GraphComponent):
    @staticmethod
    def required_packages() -> list[str]:
        return ["sklearn"]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"C": 10.0, "max_iter": 2000, "random_state": 42, "ranking_length": 10}

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
                 model: Any = None) -> None:
        self.config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.model = model

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
        model.fit([e.get(TEXT) for e in examples], [e.get(INTENT) for e in examples])
        self.model = model
        with self._model_storage.write_to(self._resource) as directory:
            (directory / MODEL_FILE).write_bytes(pickle.dumps(model))
        return self._resource

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> TfidfIntentClassifier:
        try:
            with model_storage.read_from(resource) as directory:
                model = pickle.loads((directory / MODEL_FILE).read_bytes())
        except (ValueError, FileNotFoundError):
            logger.warning("%s: no trained model in the archive; every message gets no intent", cls.__name__)
            model = None
        return cls(config, model_storage, resource, model)

    def process(self, messages: list[Message]) -> list[Message]:
        if self.model is None or not messages:
            return messages
        texts = [message.get(TEXT) or "" for message in messages]
        labels = [str(label) for label in self.model.classes_]
        for message, probabilities in zip(messages, self.model.predict_proba(texts), strict=True):
            ranking = sorted(({"name": label, "confidence": float(p)} for label, p in zip(labels, probabilities,
                                                                                          strict=True)),
                             key=lambda item: -item["confidence"])
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set("intent_ranking", ranking[: int(self.config["ranking_length"])], add_to_output=True)
        return messages
