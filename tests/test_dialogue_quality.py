"""The quality bar of issue 11, measured through the real dialogue (docs/dialogue.md has the figures).

- The dev conversations (shared/eval) and our own held-out conversations, scored by shared/eval/converse_score.py
  through bin/converse.
- experiments.dialogue_sets: no emergency numbers for any of the everyday sentences of not_emergencies.yml,
  emergency recall on the held-out NLU sets, and follow-ups understood within the topic.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from devtools.stack import REPO, rasa_env
from tests.conftest import require_model

pytestmark = pytest.mark.rasa
SCORER = REPO.parent / "shared" / "eval" / "converse_score.py"
GATES = {  # file: (conversation_pass, turn_pass)
    SCORER.parent / "conversations-dev.jsonl": (0.90, 0.95),
    REPO / "tests" / "data" / "conversations_holdout.jsonl": (0.85, 0.93),
}


@pytest.mark.parametrize("path", GATES, ids=lambda p: p.name)
def test_conversations_meet_the_bar(path) -> None:
    if not SCORER.is_file():
        pytest.skip("shared/eval is not beside the repository")
    require_model()
    result = subprocess.run([sys.executable, str(SCORER), str(path), "--json"], cwd=REPO, env=rasa_env(),
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.splitlines()[-1])
    conversation_pass, turn_pass = GATES[path]
    assert summary["false_emergencies"] == 0 and summary["contract_violations"] == 0, summary
    assert summary["conversation_pass"] >= conversation_pass and summary["turn_pass"] >= turn_pass, summary


def test_no_false_alarms_and_every_emergency_found() -> None:
    require_model()
    result = subprocess.run([str(REPO / ".venv-rasa" / "bin" / "python"), "-m", "experiments.dialogue_sets"],
                            cwd=REPO, env=rasa_env(), capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(result.stdout)
    assert figures["not_emergencies"] >= 150
    assert figures["false_emergencies"] == [], figures["false_emergencies"]
    assert figures["emergency_recall"] == 1.0, figures["emergency_missed"]
    assert figures["followup_answered_in_topic"] >= 0.85, figures["followup_misses"]
