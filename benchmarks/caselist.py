"""Back-office case list at 10,000 reports: render time of GET /beheer/meldingen through the real app.

A temporary SQLite database gets 10,000 reports of one organisation inserted directly (realistic metadata spread
over two years: statuses, acknowledgements, deadlines, categories, actors, assignees; some reporter messages and
replies; dummy sealed blobs and a wrapped report key per report for the coordinator (and the assignee), since the
list decrypts nothing but marks the cases the staff member holds no key for), plus a coordinator who logs in through
the app
(FastAPI TestClient, in process: no network, but every middleware, dependency, query and template runs).
Then the first page (default sort: next deadline) and a filtered page (open, overdue, one topic, sorted by date)
are each rendered `rounds` times. Target: p95 <= 100 ms.

    .venv/bin/python -m benchmarks.caselist
"""

from __future__ import annotations

import os
import random
import secrets
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from unittest import mock

from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlalchemy.orm import Session

from backoffice.app import create_app
from backoffice.settings import Settings
from benchmarks.measure import percentile
from integrity.reports import db, deadlines
from integrity.reports.cli import upgrade
from integrity.reports.models import (
    ActorRole,
    Author,
    Report,
    ReportKeyGrant,
    ReportMessage,
    ReportStatus,
    StatusChange,
)
from integrity.staff import accounts
from integrity.staff.models import Role

REPORTS = 10_000
ROUNDS = 100
PROFILE = "vlaamse-overheid"
PASSWORD = "benchmark wachtwoord 42"
CATEGORIES = ("fraude_corruptie", "belangenconflict", "pesten", "ongewenst_seksueel_gedrag", "geschenken",
              "discriminatie", "geweld", "lekken", "misbruik_middelen", "nevenactiviteiten")
ACTORS = (None, None, "audit_vlaanderen", "vertrouwenspersoon", "preventieadviseur_psychosociaal", "spreekbuis")
FILTERED = "/beheer/meldingen?status=open&te_laat=1&onderwerp=fraude_corruptie&sorteer=datum"


def _blob(size: int) -> bytes:
    return secrets.token_bytes(size)


def fill(session: Session, staff_ids: list[int], reports: int = REPORTS, seed: int = 5) -> None:
    """Insert `reports` reports with their first status change and some messages, in a few bulk statements."""
    rng = random.Random(seed)
    now = deadlines.utcnow()
    rows, changes, messages, grants = [], [], [], []
    for number in range(reports):
        created = now - timedelta(days=rng.uniform(0, 730))
        report_id = str(uuid.uuid4())
        age = (now - created).days
        acknowledged = created + timedelta(days=rng.uniform(0.1, 9)) if age > 3 and rng.random() < 0.93 else None
        if acknowledged is not None and acknowledged > now:
            acknowledged = None
        if acknowledged is None:
            status = ReportStatus.NIEUW
        elif age > 120 and rng.random() < 0.8:
            status = ReportStatus.AFGESLOTEN
        else:
            status = rng.choice((ReportStatus.ONTVANGEN, ReportStatus.IN_BEHANDELING, ReportStatus.DOORVERWEZEN))
        closed = min(now, created + timedelta(days=rng.uniform(30, 200))) if status == ReportStatus.AFGESLOTEN \
            else None
        rows.append({
            "id": report_id, "reference": f"M-{created.year}-B{number:05d}", "profile_id": PROFILE,
            "category": rng.choice(CATEGORIES), "target_actor": rng.choice(ACTORS), "status": status,
            "created_at": created, "acknowledged_at": acknowledged, "ack_due": deadlines.ack_due_for(created),
            "feedback_due": deadlines.feedback_due_for(created, acknowledged), "closed_at": closed,
            "close_reason_sealed": _blob(80) if closed else None, "receipt_hash": secrets.token_hex(32),
            "content_sealed": _blob(900), "content_for_reporter": _blob(890), "reporter_key_sealed": _blob(80),
            "assignee_id": rng.choice(staff_ids) if rng.random() < 0.3 else None, "public_key": _blob(32),
        })
        holders = {staff_ids[0]} | ({rows[-1]["assignee_id"]} if rows[-1]["assignee_id"] else set())
        if rng.random() < 0.02:  # a few the coordinator waits for ("wacht op toegang")
            holders.discard(staff_ids[0])
        grants += [{"report_id": report_id, "user_id": user_id, "wrapped_key": _blob(80), "granted_by": None,
                    "granted_at": created} for user_id in holders]
        changes.append({"report_id": report_id, "from_status": None, "to_status": ReportStatus.NIEUW,
                        "at": created, "actor_role": ActorRole.REPORTER})
        if rng.random() < 0.1:
            for _ in range(rng.randint(1, 3)):
                messages.append({"report_id": report_id, "author": Author.REPORTER, "body_sealed": _blob(200),
                                 "created_at": created + timedelta(days=rng.uniform(0, 20)),
                                 "body_for_reporter": _blob(190), "read_by_backoffice": rng.random() < 0.5,
                                 "read_by_reporter": True})
        if acknowledged is not None and rng.random() < 0.4:
            messages.append({"report_id": report_id, "author": Author.BACKOFFICE, "body_sealed": _blob(200),
                             "created_at": acknowledged + timedelta(days=rng.uniform(1, 60)),
                             "body_for_reporter": _blob(190), "read_by_backoffice": True,
                             "read_by_reporter": rng.random() < 0.7})
    session.execute(insert(Report), rows)
    session.execute(insert(StatusChange), changes)
    if messages:
        session.execute(insert(ReportMessage), messages)
    session.execute(insert(ReportKeyGrant), grants)
    session.commit()


def _timed(client: TestClient, url: str, rounds: int) -> list[float]:
    latencies = []
    for _ in range(rounds):
        start = time.perf_counter()
        response = client.get(url)
        latencies.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200 or "Meldingen" not in response.text:
            raise RuntimeError(f"GET {url} answered {response.status_code}")
    return latencies


def bench_case_list(reports: int = REPORTS, rounds: int = ROUNDS) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        env = {"INTEGRITY_KEY_DIR": str(work / "keys"), "INTEGRITY_ARGON2_PROFILE": "test",
               "DATABASE_URL": f"sqlite:///{work / 'bench.db'}"}
        with mock.patch.dict(os.environ, env):
            os.environ.pop("BACKOFFICE_SECRET", None)
            engine = db.make_engine(env["DATABASE_URL"])
            upgrade(engine)
            sessions = db.make_sessionmaker(engine)
            with sessions() as session:
                coordinator = accounts.create_user(session, "coordinator", "Coördinator", Role.COORDINATOR,
                                                   PASSWORD, profile_id=PROFILE)
                handler = accounts.create_user(session, "handler", "Behandelaar", Role.HANDLER, PASSWORD,
                                               profile_id=PROFILE, actor="audit_vlaanderen")
                fill(session, [coordinator.id, handler.id], reports)
            engine.dispose()
            app = create_app(replace(Settings.from_env(), purge=False))
            with TestClient(app) as client:
                page = client.get("/beheer/aanmelden")
                token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
                login = client.post("/beheer/aanmelden", data={"csrf": token, "gebruiker": "coordinator",
                                                               "wachtwoord": PASSWORD, "volgende": ""})
                if login.status_code != 200:
                    raise RuntimeError(f"login failed with {login.status_code}")
                first = client.get("/beheer/meldingen")
                if f"{reports} meldingen" not in first.text.replace(".", ""):
                    raise RuntimeError("the case list does not show every report")
                _timed(client, "/beheer/meldingen", 5)  # warm-up: template compilation, SQLite page cache
                first_page = _timed(client, "/beheer/meldingen", rounds)
                filtered = _timed(client, FILTERED, rounds)
    everything = first_page + filtered
    return {"reports": float(reports), "requests": float(len(everything)),
            "p50_ms": percentile(everything, 50), "p95_ms": percentile(everything, 95),
            "p99_ms": percentile(everything, 99), "first_page_p95_ms": percentile(first_page, 95),
            "filtered_p95_ms": percentile(filtered, 95)}


if __name__ == "__main__":
    for name, value in bench_case_list().items():
        print(f"{name}: {value:.1f}")
