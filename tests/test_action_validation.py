"""Rasa validates action server responses with a validator built once (rasa_plugins/action_validation.py).

Run in the Rasa virtualenv: the same acceptance and the same refusal, with the same message, as Rasa's own
`jsonschema.validate` path, for a good response and for malformed ones.
"""

from __future__ import annotations

import subprocess

import pytest

from devtools.stack import REPO, rasa_env

pytestmark = pytest.mark.rasa

CHECK = r'''
import jsonschema
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig
original = RemoteAction._validate_action_result
import rasa_plugins  # what `rasa run` imports for endpoints.yml's tracker store
assert RemoteAction._validate_action_result is not original, "not installed"
import rasa_plugins.action_validation as fast
assert fast.install() and RemoteAction._validate_action_result is fast.validate_action_result, "installed twice"
action = RemoteAction("action_route", EndpointConfig("http://127.0.0.1:1"))
good = {"events": [{"event": "slot", "name": "dialogue", "value": {"route": "pesten"}}],
        "responses": [{"text": "hoi", "buttons": [], "decision": {"topic": "pesten"}}]}
assert action._validate_action_result(good) and original(action, good)
assert fast._fast_check(__import__("json").dumps(action.action_response_format_spec(), sort_keys=True)) is not None
malformed = [{"responses": "geen lijst"}, {"events": [{"event": "slot"}]}, {"events": "x"}, {"responses": [1]},
             {"events": [{"event": "bestaat_niet"}]}]
for payload in malformed:
    messages = []
    for check in (original, RemoteAction._validate_action_result):
        try:
            check(action, payload)
        except jsonschema.ValidationError as error:
            messages.append(error.message)
        else:
            raise SystemExit(f"accepted {payload}")
    assert messages[0] == messages[1] and "Failed to validate Action server response" in messages[1], messages
print("ok", len(malformed))
'''


def test_once_built_validator_accepts_and_refuses_like_rasa() -> None:
    result = subprocess.run([str(REPO / ".venv-rasa" / "bin" / "python"), "-c", CHECK], cwd=REPO, env=rasa_env(),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok 5")


def test_the_benchmark_switch_keeps_rasas_own_validation() -> None:
    script = ("from rasa.core.actions.action import RemoteAction\n"
              "original = RemoteAction._validate_action_result\n"
              "import rasa_plugins\n"
              "assert RemoteAction._validate_action_result is original\n")
    env = {**rasa_env(), "INTEGRITY_STOCK_ACTION_VALIDATION": "1"}
    result = subprocess.run([str(REPO / ".venv-rasa" / "bin" / "python"), "-c", script], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
