"""Report submission throughput: N reports submitted concurrently through the service layer."""

from __future__ import annotations

import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

from benchmarks.measure import percentile
from devtools.postgres import temporary_postgres
from integrity.reports import casework, db, schemas, submission
from integrity.reports.cli import upgrade
from integrity.staff import accounts
from integrity.staff.models import Role

PASSWORD = "benchmark wachtwoord 42"


@contextmanager
def report_environment(work: Path):
    """Keys in a temporary directory; production Argon2 parameters (each submission costs two Argon2 hashes)."""
    env = {"INTEGRITY_KEY_DIR": str(work / "keys"), "INTEGRITY_ARGON2_PROFILE": "default"}
    with mock.patch.dict(os.environ, env):
        yield


def submit_concurrently(url: str, reports: int, threads: int) -> dict[str, float]:
    """Every report is sealed to its own key and wrapped for the organisation's coordinator."""
    engine = db.make_engine(url)
    upgrade(engine)
    sessions = db.make_sessionmaker(engine)
    with sessions.begin() as session:
        accounts.create_user(session, "coordinator", "Coördinator", Role.COORDINATOR, PASSWORD,
                             profile_id="vlaamse-overheid")
    draft = schemas.ReportDraft(category="fraude_corruptie", what_happened="Benchmark: facturen zonder offerte.",
                                profile_id="vlaamse-overheid", channel="web", preferred_route="audit_vlaanderen")

    def submit(_: int) -> float:
        start = time.perf_counter()
        db.run(sessions, lambda session: submission.submit_report(session, draft))
        return (time.perf_counter() - start) * 1000

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        latencies = list(pool.map(submit, range(reports)))
    elapsed = time.perf_counter() - start
    with sessions() as session:
        stored = len(casework.list_reports(session))
    engine.dispose()
    return {"reports": reports, "stored": stored, "seconds": elapsed, "per_second": reports / elapsed,
            "p50_ms": percentile(latencies, 50), "p95_ms": percentile(latencies, 95)}


def bench_reports(reports: int = 200, threads: int = 16) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp, report_environment(Path(tmp)):
        results["SQLite (file, WAL)"] = submit_concurrently(f"sqlite:///{tmp}/bench.db", reports, threads)
        with temporary_postgres() as server:
            results["PostgreSQL 15 (local, fsync off)"] = submit_concurrently(server.create_database(), reports,
                                                                              threads)
    return results
