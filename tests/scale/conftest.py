"""Two Rasa servers sharing one Redis (tracker store + lock store, deploy/endpoints.yml) and one action server."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from actions.internal_token import new_token
from devtools.stack import REPO, StackError, action_server, free_port, rasa_env, rasa_server, running_services
from tests.conftest import ReportStore, require_model
from tests.scale.redis_server import RedisError, RedisServer, running_redis

ENDPOINTS = REPO / "deploy" / "endpoints.yml"
TRACKER_PREFIX = "integrity:tracker:"  # key_prefix in deploy/endpoints.yml + Rasa's "tracker:"


@dataclass
class Pair:
    """Rasa server A and B (their REST webhooks), the Redis behind them and the server logs."""

    a: str
    b: str
    redis: RedisServer
    logs: list[Path]

    def say(self, server: str, sender: str, text: str) -> list[dict[str, Any]]:
        response = httpx.post(f"{server}/webhooks/rest/webhook", json={"sender": sender, "message": text},
                              timeout=60)
        response.raise_for_status()
        return response.json()

    def stored(self, sender: str) -> str | None:
        """The conversation exactly as Redis holds it (JSON text), or None."""
        return self.redis.get(TRACKER_PREFIX + sender)

    def events(self, sender: str) -> list[dict[str, Any]]:
        stored = self.stored(sender)
        assert stored is not None, f"no tracker for {sender} in Redis"
        return json.loads(stored)["events"]


@pytest.fixture(scope="session")
def redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """redis-server with deploy/redis.conf on a free port, with a password, removed afterwards."""
    try:
        with running_redis(tmp_path_factory.mktemp("redis"), password=secrets.token_hex(16)) as server:
            yield server
    except RedisError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def pair(tmp_path_factory: pytest.TempPathFactory, report_store: ReportStore, redis: RedisServer) -> Iterator[Pair]:
    require_model()
    base = tmp_path_factory.mktemp("scale")
    actions_port, port_a, port_b = free_port(), free_port(), free_port()
    env = rasa_env(ACTION_ENDPOINT_URL=f"http://127.0.0.1:{actions_port}/webhook", REDIS_HOST="127.0.0.1",
                   REDIS_PORT=str(redis.port), REDIS_PASSWORD=redis.password, ACTION_SERVER_TOKEN=new_token(),
                   **report_store.env)
    services = {
        "actions": action_server(actions_port, env, base / "actions.log"),
        "rasa-a": rasa_server(port_a, env, base / "rasa-a.log", ENDPOINTS),
        "rasa-b": rasa_server(port_b, env, base / "rasa-b.log", ENDPOINTS),
    }
    try:
        with running_services(services, startup_timeout=150):
            yield Pair(f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}", redis,
                       [s.log for s in services.values()])
    except StackError as exc:
        pytest.fail(str(exc))
