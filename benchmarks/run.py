"""`make bench`: measure and write docs/benchmarks.md.

- `rasa train` of the full data (forced): wall time and peak memory;
- NLU comparison: config.yml, diet-light, diet-transformer and a TF-IDF + logistic-regression baseline on the
  same held-out sets (benchmarks.nlu_compare);
- the chat turn against Rasa's own floor (a minimal assistant served by the same Rasa, turns interleaved) and the
  memory of both Rasa servers (benchmarks.rasa_floor);
- chat turn latency and throughput through the REST channel + action server at 1, 20 and 100 concurrent users,
  and under 200+ simulated users with think time (benchmarks.think_time_load);
- report submission with SQLite and PostgreSQL;
- the back-office case list at 10,000 reports, when benchmarks/caselist.py exists;
- unlocking a staff member's key at login with the production Argon2 parameters (benchmarks.key_unlock).

Quick runs: --skip-train, --skip-nlu, --skip-chat, --skip-reports, --pipelines [NAME ...] (a subset of the Rasa
pipelines; the baseline always runs).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import action_validation, key_unlock, markdown, rasa_floor, think_time_load
from benchmarks.chat_load import bench_chat_load
from benchmarks.measure import cold_cache, machine, run_measured
from benchmarks.nlu_compare import RASA_PIPELINES, bench_nlu
from benchmarks.reports import bench_reports
from devtools.stack import MODEL, RASA, REPO, rasa_env, running_stack

REPORTS, REPORT_THREADS = 200, 16
CASE_LIST_MODULE = "benchmarks.caselist"


def bench_training(work: Path) -> tuple[float, float]:
    out = work / "models"
    seconds, peak = run_measured(
        [str(RASA), "train", "--data", "nlu", "stories", "--domain", "domain.yml", "--config", "config.yml",
         "--out", str(out), "--fixed-model-name", "bench", "--force"], REPO,
        cold_cache(rasa_env(), work / "train-cache"), work / "train.log")
    shutil.rmtree(out, ignore_errors=True)
    return seconds, peak


def bench_case_list() -> tuple[dict[str, float] | None, str]:
    """The back-office benchmark, if its module exists: (result, note)."""
    if importlib.util.find_spec(CASE_LIST_MODULE) is None:
        return None, "Not measured: `benchmarks/caselist.py` does not exist yet."
    function: Callable[[], dict[str, float]] = importlib.import_module(CASE_LIST_MODULE).bench_case_list
    return function(), ""


MEASURED_INPUTS = ("config.yml", "domain.yml", "nlu", "stories", "rasa_plugins", "experiments/pipelines")


def commit() -> str:
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True)
    return result.stdout.strip() or "unknown"


def inputs_fingerprint() -> str:
    """Hash of what the measurements depend on: the NLU/dialogue inputs and the trained model's timestamp."""
    digest = hashlib.sha256(str(MODEL.stat().st_mtime_ns if MODEL.exists() else 0).encode())
    for name in MEASURED_INPUTS:
        path = REPO / name
        for file in sorted(path.rglob("*") if path.is_dir() else [path]):
            if file.is_file() and "__pycache__" not in file.parts:
                digest.update(str(file.relative_to(REPO)).encode() + file.read_bytes())
    return digest.hexdigest()


def step(name: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {name}", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--skip-nlu", action="store_true")
    parser.add_argument("--skip-chat", action="store_true")
    parser.add_argument("--skip-reports", action="store_true")
    parser.add_argument("--pipelines", nargs="*", choices=list(RASA_PIPELINES),
                        help="Rasa pipelines to compare (none: the baseline only)")
    parser.add_argument("--users", type=int, nargs="+", default=[1, 20, 100], help="concurrency levels")
    parser.add_argument("--load-users", type=int, nargs="+", default=[50, 100, 150, 200, 300],
                        help="simulated users with think time (benchmarks.think_time_load)")
    parser.add_argument("--load-seconds", type=float, default=45.0)
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks.md")
    args = parser.parse_args()
    if not MODEL.is_file():
        raise SystemExit("no trained model: run `make model` first")
    started, load_before = time.monotonic(), os.getloadavg()
    commit_before, inputs_before = commit(), inputs_fingerprint()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        step("rasa train")
        train = None if args.skip_train else bench_training(work)
        step("NLU comparison")
        nlu_results, sizes = (None, {}) if args.skip_nlu else bench_nlu(work, args.pipelines)
        step("chat load")
        chat, validation, floor, load = None, None, None, None
        if not args.skip_chat:
            with running_stack(work / "logs") as stack:
                chat = bench_chat_load(stack.webhook, args.users)
                step("think-time load")
                load = think_time_load.bench_think_time(stack.webhook, args.load_users, args.load_seconds)
            step("Rasa floor")
            floor = rasa_floor.bench_floor()
            validation = action_validation.bench_action_validation()
    step("reports")
    reports = None if args.skip_reports else bench_reports(REPORTS, REPORT_THREADS)
    step("case list")
    case_list, case_note = bench_case_list()
    step("key unlock at login")
    unlock = key_unlock.bench_key_unlock()
    minutes = (time.monotonic() - started) / 60
    command = " ".join(["python -m benchmarks.run", *sys.argv[1:]])
    measured = (f"Commit {commit_before}." if inputs_fingerprint() == inputs_before else
                f"**The NLU inputs or the trained model changed during the run** (commit {commit_before} at the "
                f"start, {commit()} at the end): sections may have measured different versions.")
    lines = [
        "# Benchmarks",
        "",
        f"Produced by `make bench` (`{command}`) on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        f"the run took {minutes:.0f} min.",
        f"Machine: {machine()}. Load average (1 min) {load_before[0]:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end (other work shares this machine; times are upper bounds). {measured}",
        "",
        *markdown.training(train),
        *markdown.nlu(nlu_results, sizes),
        *rasa_floor.table(floor),
        *markdown.chat(chat),
        *think_time_load.table(load, args.load_seconds),
        *action_validation.table(validation),
        *markdown.reports(reports, REPORTS, REPORT_THREADS),
        *markdown.case_list(case_list, case_note),
        *key_unlock.table(unlock),
    ]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
