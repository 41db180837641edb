"""The project's chat turn next to Rasa's own floor, served by the same Rasa in the same run, turns interleaved.

    .venv/bin/python -m benchmarks.rasa_floor [--turns 400]

The floor is the smallest Rasa assistant that still answers over the REST channel: a KeywordIntentClassifier, one
intent, one rule, one response, no action server. It is trained in a temporary directory. Both servers run at
the same time; one user sends a project turn (the conversations of benchmarks.chat_load), then a floor turn
("hallo"), and so on, so that both see the same machine load. Also reports the resident memory of both Rasa
servers after the run.
"""

from __future__ import annotations

import argparse
import datetime
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks.chat_load import CONVERSATIONS
from benchmarks.measure import cold_cache, machine, percentile, run_measured
from devtools.stack import RASA, REPO, Service, free_port, rasa_env, running_services, running_stack

FLOOR_CONFIG = """recipe: default.v1
language: nl
assistant_id: floor
pipeline:
  - name: KeywordIntentClassifier
policies:
  - name: RulePolicy
"""
FLOOR_DOMAIN = """version: "3.1"
intents:
  - greet
responses:
  utter_greet:
    - text: "Hallo!"
session_config:
  session_expiration_time: 60
  carry_over_slots_to_new_session: true
"""
FLOOR_NLU = """version: "3.1"
nlu:
- intent: greet
  examples: |
    - hallo
    - hoi
    - goeiedag
"""
FLOOR_RULES = """version: "3.1"
rules:
- rule: greet
  steps:
  - intent: greet
  - action: utter_greet
"""
WARM_UP = 20


@dataclass(frozen=True)
class Side:
    name: str
    p50_ms: float
    p95_ms: float
    rss_mb: float
    peak_rss_mb: float


@dataclass(frozen=True)
class FloorResult:
    turns: int
    project: Side
    floor: Side
    floor_train_s: float

    @property
    def ratio_p50(self) -> float:
        return self.project.p50_ms / self.floor.p50_ms

    @property
    def ratio_p95(self) -> float:
        return self.project.p95_ms / self.floor.p95_ms


def train_floor(work: Path) -> tuple[Path, float]:
    project = work / "floor"
    (project / "data").mkdir(parents=True)
    for name, text in (("config.yml", FLOOR_CONFIG), ("domain.yml", FLOOR_DOMAIN), ("data/nlu.yml", FLOOR_NLU),
                       ("data/rules.yml", FLOOR_RULES), ("endpoints.yml", "# no action server, Rasa's defaults\n")):
        (project / name).write_text(text, encoding="utf-8")
    seconds, _ = run_measured([str(RASA), "train", "--data", "data", "--domain", "domain.yml", "--config",
                               "config.yml", "--out", "models", "--fixed-model-name", "floor"], project,
                              cold_cache(rasa_env(), work / "floor-cache"), work / "floor-train.log")
    return project / "models" / "floor.tar.gz", seconds


def memory_mb(pid: int) -> tuple[float, float]:
    """Resident and peak resident memory of a process, from /proc."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def _turn(client: httpx.Client, webhook: str, sender: str, text: str) -> float:
    start = time.perf_counter()
    response = client.post(webhook, json={"sender": sender, "message": text})
    elapsed = (time.perf_counter() - start) * 1000
    if response.status_code != 200 or not response.json():
        raise RuntimeError(f"{webhook} answered {response.status_code}: {response.text[:200]}")
    return elapsed


def bench_floor(turns: int = 400) -> FloorResult:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        floor_model, floor_train = train_floor(work)
        port = free_port()
        floor = Service([str(RASA), "run", "--model", str(floor_model), "--interface", "127.0.0.1", "--port",
                         str(port), "--credentials", str(REPO / "credentials.yml"), "--endpoints",
                         str(floor_model.parent.parent / "endpoints.yml")],
                        rasa_env(SANIC_HOST="127.0.0.1"), work / "floor.log", f"http://127.0.0.1:{port}/")
        floor_hook = f"http://127.0.0.1:{port}/webhooks/rest/webhook"
        with running_stack(work / "logs") as stack, running_services({"floor": floor}), httpx.Client(timeout=60) as c:
            texts = [text for conversation in CONVERSATIONS for text in conversation]
            ours: list[float] = []
            theirs: list[float] = []
            sender = ""
            for n in range(WARM_UP + turns):
                if n % len(texts) == 0:
                    sender = f"floor-bench-{uuid.uuid4().hex[:8]}"
                project_ms = _turn(c, stack.webhook, sender, texts[n % len(texts)])
                floor_ms = _turn(c, floor_hook, sender, "hallo")
                if n >= WARM_UP:
                    ours.append(project_ms)
                    theirs.append(floor_ms)
            rasa = stack.services["rasa"].process
            assert rasa is not None and floor.process is not None
            project_memory, floor_memory = memory_mb(rasa.pid), memory_mb(floor.process.pid)
    return FloorResult(turns, Side("project", percentile(ours, 50), percentile(ours, 95), *project_memory),
                       Side("Rasa floor", percentile(theirs, 50), percentile(theirs, 95), *floor_memory),
                       floor_train)


def table(result: FloorResult | None) -> list[str]:
    lines = ["## Chat turn against Rasa's floor", ""]
    if result is None:
        return [*lines, "Not measured in this run (--skip-chat).", ""]
    return [*lines,
            "One user; each project turn (REST channel, NLU, rules, action server) is followed by a turn of a "
            "minimal Rasa assistant (KeywordIntentClassifier, one rule, one response, no action server) served "
            f"by the same Rasa at the same time ({result.turns} turns each after {WARM_UP} warm-up turns). Memory: "
            "resident set of each Rasa server process after the run (peak in brackets).", "",
            "| assistant | p50 ms | p95 ms | Rasa server memory MB |", "|---|---|---|---|",
            *(f"| {s.name} | {s.p50_ms:.1f} | {s.p95_ms:.1f} | {s.rss_mb:.0f} ({s.peak_rss_mb:.0f}) |"
              for s in (result.project, result.floor)),
            f"| **ratio** | **{result.ratio_p50:.2f}x** | **{result.ratio_p95:.2f}x** | |", "",
            f"The floor model trained in {result.floor_train_s:.0f} s (cold cache).", ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=400)
    args = parser.parse_args()
    print(f"Machine: {machine()}; {datetime.date.today()}; `.venv/bin/python -m benchmarks.rasa_floor "
          f"--turns {args.turns}`\n")
    print("\n".join(table(bench_floor(args.turns))))


if __name__ == "__main__":
    main()
