"""Unlocking a staff member's key at login with the production Argon2 parameters (INTEGRITY_ARGON2_PROFILE=default).

Two measurements, `rounds` each after one warm-up, as wall time and as the process's CPU time (all its threads;
argon2-cffi hashes with 4 lanes in parallel): on a shared machine the wall time includes waiting for a core, the
CPU time is what the login costs.
- `kdf`: opening the private key with the password alone (`user_keys.unlock`: Argon2id at libsodium's MODERATE
  limits, 256 MiB, then SecretBox);
- `login`: the whole POST /beheer/aanmelden through the real app (FastAPI TestClient, in process): the password
  hash check (argon2-cffi, 64 MiB), the key opened with the password, the session stored with the key under the
  cookie's key, the redirect. Target: p95 <= 1.5 s.

    .venv/bin/python -m benchmarks.key_unlock
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from unittest import mock

from fastapi.testclient import TestClient

from backoffice.app import create_app
from backoffice.settings import Settings
from benchmarks.measure import percentile
from integrity.reports import db
from integrity.reports.cli import upgrade
from integrity.staff import accounts, user_keys
from integrity.staff.models import Role

ROUNDS = 8
PASSWORD = "benchmark wachtwoord 42"


def bench_key_unlock(rounds: int = ROUNDS) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = {"INTEGRITY_KEY_DIR": str(work / "keys"), "INTEGRITY_ARGON2_PROFILE": "default",
               "DATABASE_URL": f"sqlite:///{work / 'bench.db'}"}
        with mock.patch.dict(os.environ, env):
            os.environ.pop("BACKOFFICE_SECRET", None)
            engine = db.make_engine(env["DATABASE_URL"])
            upgrade(engine)
            with db.make_sessionmaker(engine).begin() as session:
                start = time.perf_counter()
                user = accounts.create_user(session, "coordinator", "Coördinator", Role.COORDINATOR, PASSWORD,
                                            profile_id="vlaamse-overheid")
                create_ms = (time.perf_counter() - start) * 1000
                kdf, kdf_cpu = [], []
                for number in range(rounds + 1):
                    start, cpu = time.perf_counter(), time.process_time()
                    if user_keys.unlock(user, PASSWORD) is None:
                        raise RuntimeError("the password does not open the key")
                    if number:
                        kdf.append((time.perf_counter() - start) * 1000)
                        kdf_cpu.append((time.process_time() - cpu) * 1000)
            engine.dispose()
            app = create_app(replace(Settings.from_env(), purge=False, login_ip_limit=10**6))
            logins, login_cpu = [], []
            with TestClient(app) as client:
                for number in range(rounds + 1):
                    client.cookies.clear()
                    page = client.get("/beheer/aanmelden")
                    token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
                    start, cpu = time.perf_counter(), time.process_time()
                    response = client.post("/beheer/aanmelden", data={
                        "csrf": token, "gebruiker": "coordinator", "wachtwoord": PASSWORD, "volgende": ""},
                        follow_redirects=False)
                    elapsed, cpu_ms = (time.perf_counter() - start) * 1000, (time.process_time() - cpu) * 1000
                    if response.status_code != 303:
                        raise RuntimeError(f"login answered {response.status_code}")
                    if number:
                        logins.append(elapsed)
                        login_cpu.append(cpu_ms)
    return {"rounds": float(rounds), "create_account_ms": create_ms,
            "kdf_p50_ms": percentile(kdf, 50), "kdf_max_ms": max(kdf),
            "kdf_cpu_p50_ms": percentile(kdf_cpu, 50),
            "login_p50_ms": percentile(logins, 50), "login_p95_ms": percentile(logins, 95), "login_max_ms": max(logins),
            "login_cpu_p50_ms": percentile(login_cpu, 50), "login_cpu_max_ms": max(login_cpu)}


def table(result: dict[str, float] | None) -> list[str]:
    lines = ["### Unlocking a staff key at login, production Argon2 parameters (issue 13)", ""]
    if result is None:
        return [*lines, "Not measured.", ""]
    keys = list(result)
    values = [f"{result[k]:.0f}" for k in keys]
    return [*lines, "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys), "| " + " | ".join(values) + " |",
            "", "Target: login p95 <= 1500 ms (password hash check + Argon2id key derivation + session).", ""]


if __name__ == "__main__":
    for name, value in bench_key_unlock().items():
        print(f"{name}: {value:.1f}")
