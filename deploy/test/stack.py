"""The test stack of `make deploy-test`: its settings, podman and podman-compose commands, health checks, phases,
start in stages and clean-up (deploy/test/run.py runs the phases)."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "var" / "deploy-test"
SECRETS = OUT / "secrets"
PROJECT = "integrity-test"
PUBLIC_HOST = "integriteit.test"
HTTPS_PORT, HTTP_PORT = 18443, 18080
BASE = f"https://localhost:{HTTPS_PORT}"
TIME_LIMIT = 30 * 60
UPGRADE_TAG = "upgrade"  # the image tag of the next release in the upgrade test
UPGRADE_IMAGES = [f"localhost/integrity-rasa:{UPGRADE_TAG}", f"localhost/integrity-app:{UPGRADE_TAG}"]
ENV = {
    **os.environ,
    "CONTAINERS_CONF": str(REPO / "deploy" / "podman" / "containers.conf"),
    "SECRETS_DIR": str(SECRETS), "PUBLIC_HOST": PUBLIC_HOST, "PUBLISH_ADDRESS": "127.0.0.1",
    "HTTPS_PORT": str(HTTPS_PORT), "HTTP_PORT": str(HTTP_PORT),
    "TELEGRAM_API_BASE_URL": "http://fake-telegram:8081", "TELEGRAM_SOURCE_RANGES": "172.31.251.0/24",
    "COMPOSE_FILES": str(REPO / "deploy" / "test" / "compose.test.yaml"),
}


@dataclass
class Account:
    """The coordinator account of this run; its password opens its key pair (test values, no real data)."""

    staff_user: str = field(default_factory=lambda: "coordinator" + secrets.token_hex(3))
    staff_password: str = field(default_factory=lambda: "deploy-test-" + secrets.token_urlsafe(12))


ACCOUNT = Account()  # run.py replaces it with the kept one for --reuse


class DeployTestError(RuntimeError):
    pass


class TimeLimit(BaseException):
    pass


def log(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} deploy-test: {message}", flush=True)


def check(condition: object, message: str) -> None:
    if not condition:
        raise DeployTestError(message)


# --- commands -----------------------------------------------------------------------------------------------------


def run(*args: str, check_rc: bool = True, timeout: float = 900, quiet: bool = False,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, cwd=REPO, env=env or ENV, capture_output=True, text=True, timeout=timeout)
    if check_rc and result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-25:])
        raise DeployTestError(f"command failed ({result.returncode}): {' '.join(args)}\n{tail}")
    if not quiet and result.returncode == 0 and result.stderr.strip():
        errors = [line for line in result.stderr.splitlines() if "systemd" not in line and "syslog" not in line]
        if errors:
            print("\n".join(errors[-5:]), file=sys.stderr)
    return result


def compose(*args: str, timeout: float = 600, tag: str | None = None) -> subprocess.CompletedProcess[str]:
    """podman-compose on the test project; `tag`: the image tag of the application images (TAG), else latest."""
    return run(str(REPO / "deploy" / "compose.sh"), "-p", PROJECT, "--profile", "telegram", *args, timeout=timeout,
               quiet=True, env={**ENV, "TAG": tag} if tag else None)


def podman(*args: str, check_rc: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return run("podman", *args, check_rc=check_rc, timeout=timeout, quiet=True)


def container(service: str, index: int = 1) -> str:
    return f"{PROJECT}_{service}_{index}"


def healthy(name: str) -> bool:
    """Run the container's health check now (podman 4.3 needs systemd timers to run it by itself)."""
    return podman("healthcheck", "run", name, check_rc=False, timeout=30).returncode == 0


def wait_healthy(names: list[str], timeout: float = 300) -> None:
    deadline, waiting = time.monotonic() + timeout, list(names)
    while waiting:
        waiting = [name for name in waiting if not healthy(name)]
        if not waiting:
            return
        if time.monotonic() > deadline:
            raise DeployTestError(f"not healthy after {timeout:.0f} s: {', '.join(waiting)} "
                                  f"(logs in {OUT / 'logs'})")
        time.sleep(2)


# --- phases and the stack ---------------------------------------------------------------------------------------


class Phases:
    def __init__(self) -> None:
        self.timings: list[tuple[str, float, str]] = []
        self.results: dict[str, Any] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        log(f"--- {name}")
        start, status = time.monotonic(), "failed"
        try:
            yield
            status = "ok"
        finally:
            seconds = time.monotonic() - start
            self.timings.append((name, seconds, status))
            log(f"    {name}: {status} in {seconds:.1f} s")


def make_secrets() -> None:
    shutil.rmtree(SECRETS, ignore_errors=True)
    run(str(REPO / "deploy" / "make-secrets.sh"),
        env={**ENV, "TELEGRAM_BOT_TOKEN": "700000001:" + secrets.token_urlsafe(27).replace("-", "a")})
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={PUBLIC_HOST}",
        "-addext", f"subjectAltName=DNS:{PUBLIC_HOST},DNS:localhost,IP:127.0.0.1",
        "-keyout", str(SECRETS / "tls_private_key"), "-out", str(SECRETS / "tls_certificate"))
    for name in ("tls_private_key", "tls_certificate"):
        (SECRETS / name).chmod(0o444)


def start_stack() -> None:
    """In stages: podman 4.3 cannot wait for `service_healthy` (podman-compose skips those conditions on podman
    < 4.6), so each stage is started with --no-deps once the one before it passed its health checks."""
    compose("up", "-d", "--no-deps", "postgres", "redis")
    wait_healthy([container("postgres"), container("redis")], timeout=120)
    compose("run", "--rm", "-T", "--no-deps", "prepare")
    compose("up", "-d", "--no-deps", "rasa", "actions", "web")
    wait_healthy([container("rasa", 1), container("rasa", 2), container("actions", 1), container("actions", 2),
                  container("web")], timeout=420)
    compose("up", "-d", "--no-deps", "proxy")
    wait_healthy([container("proxy")], timeout=120)
    compose("up", "-d", "--no-deps", "telegram", "fake-telegram")
    wait_healthy([container("telegram"), container("fake-telegram")], timeout=120)


def save_logs() -> None:
    (OUT / "logs").mkdir(parents=True, exist_ok=True)
    names = podman("ps", "-a", "--filter", f"label=io.podman.compose.project={PROJECT}", "--format", "{{.Names}}",
                   check_rc=False).stdout.split()
    for name in names:
        result = podman("logs", name, check_rc=False)
        (OUT / "logs" / f"{name}.log").write_text(result.stdout + result.stderr)


def clean_up(keep: bool) -> None:
    save_logs()
    if keep:
        log(f"--keep: the stack is still running (deploy/compose.sh -p {PROJECT} down -v to remove it)")
        return
    compose("down", "-v", "-t", "5", timeout=300)
    podman("volume", "rm", "-f", f"{PROJECT}_restore_keys", check_rc=False)
    for image in UPGRADE_IMAGES:  # the upgrade test's next release (deploy/test/phases/upgrades.py)
        podman("rmi", image, check_rc=False)
    leftovers = podman("ps", "-a", "--filter", f"label=io.podman.compose.project={PROJECT}", "--format",
                       "{{.Names}}", check_rc=False).stdout.split()
    for name in leftovers:
        podman("rm", "-f", name, check_rc=False)
    shutil.rmtree(SECRETS, ignore_errors=True)



def kill(service: str, index: int) -> None:
    """SIGKILL one replica. podman does not apply the restart policy to a container stopped with `podman kill`, so
    the test starts it again itself (revive), as an orchestrator would."""
    podman("kill", container(service, index))


def revive(service: str, index: int) -> None:
    podman("start", container(service, index))


def lock_keys() -> str:
    """The conversation lock keys in Redis (db 1), to tell a waiting lock from a slow server."""
    result = podman("exec", container("redis"), "sh", "-c", 'redis-cli --no-auth-warning -a "$(cat '
                    '/run/secrets/redis_password)" -n 1 --scan', check_rc=False)
    return f"lock keys in Redis: {result.stdout.split() or 'none'}"

