"""NLU comparison on the same held-out data: the Rasa pipelines against a TF-IDF + logistic-regression baseline.

Every pipeline trains on nlu/*.yml in its own process (wall time and peak memory of that process), then a second
process predicts all test sets at once; the scores come from experiments.nlu_metrics.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.measure import cold_cache, run_measured
from devtools.stack import RASA, REPO, rasa_env
from experiments.nlu_data import read_examples
from experiments.nlu_eval import HOLDOUTS
from experiments.nlu_metrics import Case, Scores, score
from experiments.predictions import read_predictions
from integrity.content import default_content

RASA_PYTHON = RASA.parent / "python"
DEV_SET = REPO.parent / "shared" / "eval" / "dev.jsonl"
BASELINE = "tfidf-logreg (baseline)"
RASA_PIPELINES = {
    "config.yml (project)": REPO / "config.yml",
    "counts-logreg (config.yml until 8301b83)": REPO / "experiments" / "pipelines" / "counts-logreg.yml",
    "diet-light": REPO / "experiments" / "pipelines" / "diet-light.yml",
    "diet-transformer": REPO / "experiments" / "pipelines" / "diet-transformer.yml",
}


@dataclass(frozen=True)
class PipelineResult:
    name: str
    train_seconds: float
    peak_mb: float
    scores: dict[str, Scores]  # test set -> scores


def topic_mapper() -> Callable[[str], str]:
    content = default_content()

    def topic_of(intent: str) -> str:
        route = content.route_for_intent(intent)
        return route.topic if route else "out_of_scope"

    return topic_of


def test_sets(topic_of: Callable[[str], str]) -> dict[str, list[Case]]:
    """Held-out v1 and v2 (intents) and, when present, the shared dev set (contract topics only)."""
    sets = {f"held-out {label}": [Case(text, intent, (topic_of(intent),))
                                  for text, intent in read_examples([REPO / path])]
            for label, path in HOLDOUTS.items()}
    if DEV_SET.is_file():
        rows = [json.loads(line) for line in DEV_SET.read_text(encoding="utf-8").splitlines() if line.strip()]
        sets["shared dev"] = [Case(row["text"], None, tuple(row["topics_ok"])) for row in rows]
    return sets


def _measured(args: list[str], log: Path) -> tuple[float, float]:
    """Run one step with an empty Rasa training cache of its own (see benchmarks.measure.cold_cache)."""
    print(f"  {' '.join(Path(a).name if a.startswith('/') else a for a in args[:4])} ...", file=sys.stderr, flush=True)
    return run_measured(args, REPO, cold_cache(rasa_env(), log.parent / f"{log.stem}-cache"), log)


def _train_rasa(config: Path, out: Path) -> tuple[float, float, list[str]]:
    seconds, peak = _measured([str(RASA), "train", "nlu", "-c", str(config), "--nlu", "nlu", "--out", str(out),
                               "--fixed-model-name", "model"], out / "train.log")
    return seconds, peak, [str(RASA_PYTHON), "-m", "experiments.rasa_predict", str(out / "model.tar.gz")]


def _train_baseline(out: Path) -> tuple[float, float, list[str]]:
    model = out / "model.pkl"
    seconds, peak = _measured([str(RASA_PYTHON), "-m", "experiments.tfidf_baseline", "train", "nlu", str(model)],
                              out / "train.log")
    return seconds, peak, [str(RASA_PYTHON), "-m", "experiments.tfidf_baseline", "predict", str(model)]


def bench_nlu(work: Path, names: list[str] | None = None) -> tuple[list[PipelineResult], dict[str, int]]:
    """Train and score the baseline and the chosen Rasa pipelines; returns the results and the test set sizes."""
    topic_of = topic_mapper()
    sets = test_sets(topic_of)
    texts = [case.text for cases in sets.values() for case in cases]
    texts_file = work / "texts.json"
    texts_file.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
    results = []
    for name in [BASELINE, *[n for n in RASA_PIPELINES if names is None or n in names]]:
        print(f"NLU: {name}", file=sys.stderr, flush=True)
        out = work / f"nlu-{len(results)}"
        out.mkdir(parents=True)
        seconds, peak, predict = (_train_baseline(out) if name == BASELINE
                                  else _train_rasa(RASA_PIPELINES[name], out))
        _measured([*predict, str(texts_file), str(out / "predictions.json")], out / "predict.log")
        predictions = read_predictions(out / "predictions.json")
        scores, start = {}, 0
        for set_name, cases in sets.items():
            scores[set_name] = score(cases, predictions[start:start + len(cases)], topic_of)
            start += len(cases)
        results.append(PipelineResult(name, seconds, peak, scores))
    return results, {name: len(cases) for name, cases in sets.items()}
