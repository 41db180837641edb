"""Compare NLU pipelines: training time and peak memory, held-out accuracy, k-fold cross-validation.

    python -m experiments.nlu_eval [--folds 3] [--skip-cv] [CONFIG ...]

Defaults to config.yml and experiments/pipelines/*.yml. Writes results/nlu-eval/<name>/ and prints a
Markdown table (paste it into docs/nlu.md with the date and the machine).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.measure import cold_cache, machine, run_measured

REPO = Path(__file__).resolve().parents[1]
RASA = REPO / ".venv-rasa" / "bin" / "rasa"
HOLDOUTS = {"v1": "tests/data/nlu_holdout.yml", "v2": "tests/data/nlu_holdout_v2.yml"}
ENV = {**os.environ, "SQLALCHEMY_SILENCE_UBER_WARNING": "1", "RASA_TELEMETRY_ENABLED": "false",
       "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(REPO)}


@dataclass
class Result:
    name: str
    train_seconds: float
    peak_mb: float
    holdout: dict[str, tuple[float, float, int]]  # set -> (accuracy, macro-F1, emergencies missed)
    cv_accuracy: float | None
    cv_macro_f1: float | None


def run(args: list[str], log: Path) -> tuple[float, float]:
    """Run with an empty Rasa training cache of its own, so training times are real (measure.cold_cache)."""
    try:
        with tempfile.TemporaryDirectory() as cache:
            return run_measured(args, REPO, cold_cache(ENV, Path(cache)), log)
    except RuntimeError as exc:
        sys.exit(str(exc))


def report(directory: Path) -> tuple[float, float, list[dict]]:
    data = json.loads((directory / "intent_report.json").read_text())
    errors_path = directory / "intent_errors.json"
    errors = json.loads(errors_path.read_text()) if errors_path.exists() else []
    return data["accuracy"], data["macro avg"]["f1-score"], errors


def evaluate(config: Path, folds: int, skip_cv: bool) -> Result:
    name = "config.yml (chosen)" if config.name == "config.yml" else config.stem
    out = REPO / "results" / "nlu-eval" / config.stem
    out.mkdir(parents=True, exist_ok=True)
    seconds, peak = run(
        [str(RASA), "train", "nlu", "-c", str(config), "--nlu", "nlu", "--out", str(out),
         "--fixed-model-name", "model"], out / "train.log")
    holdout = {}
    for label, path in HOLDOUTS.items():
        run([str(RASA), "test", "nlu", "-m", str(out / "model.tar.gz"), "--nlu", path,
             "--out", str(out / f"holdout-{label}")], out / f"holdout-{label}.log")
        accuracy, macro_f1, errors = report(out / f"holdout-{label}")
        missed = sum(1 for e in errors if e["intent"].startswith("noodsituatie")
                     and not e["intent_prediction"]["name"].startswith("noodsituatie"))
        holdout[label] = (accuracy, macro_f1, missed)
    cv_accuracy = cv_f1 = None
    if not skip_cv:
        run([str(RASA), "test", "nlu", "--cross-validation", "--folds", str(folds), "-c", str(config),
                      "--nlu", "nlu", "--out", str(out / "cv")], out / "cv.log")
        cv_accuracy, cv_f1, _ = report(out / "cv")
    return Result(name, seconds, peak, holdout, cv_accuracy, cv_f1)


def markdown(results: list[Result], folds: int) -> str:
    def pct(value: float | None) -> str:
        return "–" if value is None else f"{value:.1%}"

    lines = [f"Measured {time.strftime('%Y-%m-%d')} on {machine()}: `make nlu-eval` "
             f"(`python -m experiments.nlu_eval --folds {folds}`).", "",
             "| pipeline | train s (full data) | peak MB | held-out v1 acc / macro-F1 | held-out v2 acc / macro-F1 "
             f"| emergencies missed (NLU only, v1+v2) | {folds}-fold CV acc | CV macro-F1 |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        sets = " | ".join(f"{pct(acc)} / {pct(f1)}" for acc, f1, _ in r.holdout.values())
        missed = sum(m for _, _, m in r.holdout.values())
        lines.append(f"| {r.name} | {r.train_seconds:.0f} | {r.peak_mb:.0f} | {sets} | {missed} | "
                     f"{pct(r.cv_accuracy)} | {pct(r.cv_macro_f1)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("configs", nargs="*", type=Path)
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--skip-cv", action="store_true")
    args = parser.parse_args()
    configs = args.configs or [REPO / "config.yml", *sorted((REPO / "experiments" / "pipelines").glob("*.yml"))]
    results = []
    for config in configs:
        print(f"evaluating {config} ...", file=sys.stderr, flush=True)
        results.append(evaluate(config.resolve(), args.folds, args.skip_cv))
    print(markdown(results, args.folds))


if __name__ == "__main__":
    main()
