"""`make bench`: measure and write docs/benchmarks.md.

- `rasa train` of the full data (forced): wall time and peak memory.
- One chat turn through the Rasa REST channel + action server, sequential: p50/p95/p99 latency.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from benchmarks.measure import machine, percentile, run_measured
from benchmarks.reports import bench_reports
from devtools.stack import MODEL, RASA, REPO, rasa_env, running_stack

MESSAGES = [
    "mag ik een fles wijn van een leverancier aannemen",
    "mijn collega wordt al weken uitgelachen door het team",
    "ik vermoed dat iemand facturen vervalst",
    "hoe bereik ik de vertrouwenspersoon",
    "ik heb te veel werkdruk en slaap slecht",
    "wat is het weer morgen",
    "hallo",
    "/kies_formeel",
]


def bench_training(work: Path) -> tuple[float, float]:
    out = work / "models"
    seconds, peak = run_measured(
        [str(RASA), "train", "--data", "nlu", "stories", "--domain", "domain.yml", "--config", "config.yml",
         "--out", str(out), "--fixed-model-name", "bench", "--force"], REPO, rasa_env(), work / "train.log")
    shutil.rmtree(out, ignore_errors=True)
    return seconds, peak


def bench_chat_turns(work: Path, turns: int) -> tuple[list[float], int]:
    with running_stack(work / "logs") as stack, httpx.Client(timeout=60) as client:
        sender = "bench-" + uuid.uuid4().hex
        for text in MESSAGES:  # warm-up
            client.post(stack.webhook, json={"sender": sender, "message": text}).raise_for_status()
        latencies, errors = [], 0
        for i in range(turns):
            sender = f"bench-{i // len(MESSAGES)}-{uuid.uuid4().hex[:6]}" if i % len(MESSAGES) == 0 else sender
            start = time.perf_counter()
            response = client.post(stack.webhook, json={"sender": sender, "message": MESSAGES[i % len(MESSAGES)]})
            latencies.append((time.perf_counter() - start) * 1000)
            if response.status_code != 200 or not response.json():
                errors += 1
        return latencies, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=400)
    parser.add_argument("--skip-train", action="store_true")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "benchmarks.md")
    args = parser.parse_args()
    if not MODEL.is_file():
        raise SystemExit("no trained model: run `make model` first")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        train = None if args.skip_train else bench_training(work)
        latencies, errors = bench_chat_turns(work, args.turns)
    reports = bench_reports()
    lines = [
        "# Benchmarks",
        "",
        f"Produced by `make bench` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        f"Machine: {machine()}.",
        "",
        "## Training (`rasa train --force`, full data, config.yml)",
        "",
    ]
    if train:
        lines += [f"- wall time: {train[0]:.0f} s (budget: 180 s)", f"- peak memory: {train[1]:.0f} MB"]
    else:
        lines += ["- not measured in this run (`--skip-train`)"]
    lines += [
        "",
        "## One chat turn: REST channel → Rasa (NLU + rules) → action server → reply",
        "",
        f"Sequential, one client on localhost, {len(latencies)} turns over {len(MESSAGES)} different messages "
        f"(topic questions, an actor question, out of scope, a greeting and a button payload), after a warm-up.",
        "",
        "| p50 ms | p95 ms | p99 ms | max ms | errors |",
        "|---|---|---|---|---|",
        f"| {percentile(latencies, 50):.1f} | {percentile(latencies, 95):.1f} | {percentile(latencies, 99):.1f} | "
        f"{max(latencies):.1f} | {errors} |",
        "",
        "## Report submission (service layer: validate, seal, Argon2 receipt hash, store)",
        "",
        "200 reports submitted concurrently from 16 threads, production Argon2 parameters.",
        "",
        "| database | stored | seconds | reports/s | p50 ms | p95 ms |",
        "|---|---|---|---|---|---|",
        *[f"| {name} | {r['stored']:.0f}/{r['reports']:.0f} | {r['seconds']:.1f} | {r['per_second']:.1f} | "
          f"{r['p50_ms']:.0f} | {r['p95_ms']:.0f} |" for name, r in reports.items()],
        "",
    ]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
