"""The trained model, judged by Rasa's own test commands: dialogue paths and held-out NLU examples."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from devtools.stack import MODEL, RASA, REPO, rasa_env
from integrity.content import default_content
from integrity.textnorm import normalise
from tests.conftest import require_model

pytestmark = pytest.mark.rasa
# Held-out sets written apart from the training data; measured values and history in docs/nlu.md.
# v1 guided a round of data additions (near-duplicates were filtered out), v2 was never looked at for training.
HOLDOUTS = {"nlu_holdout.yml": 0.96, "nlu_holdout_v2.yml": 0.89}
MIN_EMERGENCY_RECALL = 0.95  # bot level: NLU plus the safety net of integrity/content/safety.yml


def rasa(*args: str, out: Path) -> subprocess.CompletedProcess[str]:
    require_model()
    return subprocess.run([str(RASA), *args, "--model", str(MODEL), "--out", str(out)],
                          cwd=REPO, env=rasa_env(), capture_output=True, text=True, timeout=600)


def test_every_dialogue_path_is_predicted(tmp_path: Path) -> None:
    result = rasa("test", "core", "--stories", "tests/stories", "--fail-on-prediction-errors", out=tmp_path)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert "- story" not in (tmp_path / "failed_test_stories.yml").read_text()


@pytest.mark.parametrize(("holdout", "min_accuracy"), HOLDOUTS.items())
def test_held_out_examples_are_understood(tmp_path: Path, holdout: str, min_accuracy: float) -> None:
    result = rasa("test", "nlu", "--nlu", f"tests/data/{holdout}", out=tmp_path)
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads((tmp_path / "intent_report.json").read_text())
    errors = json.loads((tmp_path / "intent_errors.json").read_text())
    content = default_content()

    def topic(intent: str) -> str | None:
        route = content.route_for_intent(intent)
        return route.topic if route else None

    # Judged on the contract topic: a follow-up intent whose topic is the expected one ("hoe lang ben ik
    # beschermd?" -> vraag_bescherming, topic melden) is not a miss; a fallback always is.
    misses = [f"{e['text']!r}: {e['intent']} -> {e['intent_prediction']['name']}" for e in errors
              if topic(e["intent_prediction"]["name"]) != topic(e["intent"])]
    total = sum(v["support"] for k, v in report.items() if isinstance(v, dict) and k in content.intents)
    assert 1 - len(misses) / total >= min_accuracy, "\n".join(misses)

    emergencies = sum(v["support"] for k, v in report.items() if k.startswith("noodsituatie"))
    missed = [e["text"] for e in errors if e["intent"].startswith("noodsituatie")
              and not e["intent_prediction"]["name"].startswith("noodsituatie")
              and content.safety_route(normalise(e["text"])) is None]
    assert 1 - len(missed) / emergencies >= MIN_EMERGENCY_RECALL, missed
