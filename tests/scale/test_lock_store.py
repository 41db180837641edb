"""The lock store of deploy/endpoints.yml (rasa_plugins.redis_lock_store) excludes across processes.

Two processes (Rasa's Python, .venv-rasa) each take one conversation's lock 200 times and, holding it, increment a
counter in Redis non-atomically (tests/scale/lock_race.py). Every increment must survive, no lock may fail and no
lock key may be left behind. Rasa 3.6's own RedisLockStore, run the same way by hand, lost increments and stalled
for the 5 s ticket lifetime (docs/deployment.md); that race is not deterministic, so only the fix is tested here.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from devtools.stack import RASA, REPO, rasa_env
from tests.scale.redis_server import RedisServer

pytestmark = pytest.mark.rasa
ROUNDS = 200


def test_two_processes_never_hold_one_conversation_lock_at_once(redis: RedisServer) -> None:
    if not RASA.exists():
        pytest.fail("The Rasa virtualenv is missing: run the tests through `make test`.")
    run = subprocess.run([str(RASA.parent / "python"), "-W", "ignore", str(REPO / "tests/scale/lock_race.py"),
                          str(redis.port), redis.password, "atomic", str(ROUNDS)],
                         env=rasa_env(), capture_output=True, text=True, timeout=120, cwd=REPO, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result == {**result, "counter": 2 * ROUNDS, "errors": 0, "lock_keys_left": 0}
