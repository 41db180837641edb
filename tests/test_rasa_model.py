"""The trained model, judged by Rasa's own test commands: dialogue paths and held-out NLU examples."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from devtools.stack import MODEL, RASA, REPO, rasa_env
from tests.conftest import require_model

pytestmark = pytest.mark.rasa
HOLDOUT_MIN_ACCURACY = 0.90  # measured value and history: docs/nlu.md


def rasa(*args: str, out: Path) -> subprocess.CompletedProcess[str]:
    require_model()
    return subprocess.run([str(RASA), *args, "--model", str(MODEL), "--out", str(out)],
                          cwd=REPO, env=rasa_env(), capture_output=True, text=True, timeout=600)


def test_every_dialogue_path_is_predicted(tmp_path: Path) -> None:
    result = rasa("test", "core", "--stories", "tests/stories", "--fail-on-prediction-errors", out=tmp_path)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert not (tmp_path / "failed_test_stories.yml").read_text().strip("# \n").startswith("- story")


def test_held_out_examples_are_understood(tmp_path: Path) -> None:
    result = rasa("test", "nlu", "--nlu", "tests/data/nlu_holdout.yml", out=tmp_path)
    assert result.returncode == 0, result.stderr[-4000:]
    report = json.loads((tmp_path / "intent_report.json").read_text())
    errors = json.loads((tmp_path / "intent_errors.json").read_text())
    misses = [f"{e['text']!r}: {e['intent']} -> {e['intent_prediction']['name']}" for e in errors]
    assert report["accuracy"] >= HOLDOUT_MIN_ACCURACY, "\n".join(misses)
    emergencies = [e for e in errors if e["intent"].startswith("noodsituatie")
                   and not e["intent_prediction"]["name"].startswith("noodsituatie")]
    assert not emergencies, "every held-out emergency must be recognised"
