"""Render the benchmark results as the sections of docs/benchmarks.md."""

from __future__ import annotations

from benchmarks.chat_load import CONVERSATIONS, LoadResult
from benchmarks.nlu_compare import BASELINE, PipelineResult
from experiments.nlu_metrics import Scores


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def not_measured(flag: str) -> list[str]:
    return [f"Not measured in this run (`{flag}`).", ""]


def training(result: tuple[float, float] | None) -> list[str]:
    lines = ["## Training (`rasa train --force`, full data, config.yml)", ""]
    if result is None:
        return lines + not_measured("--skip-train")
    return [*lines, f"- wall time: {result[0]:.0f} s (budget: 45 s)", f"- peak memory: {result[1]:.0f} MB", ""]


def _scores_row(name: str, s: Scores) -> str:
    return (f"| {name} | {pct(s.intent_accuracy)} | {pct(s.intent_macro_f1)} | {pct(s.topic_accuracy)} | "
            f"{pct(s.oos_recall)} | {pct(s.false_oos)} | {s.emergencies_missed} |")


def nlu(results: list[PipelineResult] | None, sizes: dict[str, int]) -> list[str]:
    lines = ["## NLU comparison on the same held-out data", ""]
    if results is None:
        return lines + not_measured("--skip-nlu")
    lines += [
        "Every pipeline trains on the same `nlu/*.yml` examples and is scored on the same sets: "
        + ", ".join(f"{name} ({size} cases)" for name, size in sizes.items())
        + ". The baseline is scikit-learn TF-IDF (words 1–2 and character 2–5 n-grams) with a class-balanced "
        "logistic regression (`experiments/tfidf_baseline.py`, untuned), its probabilities passed through the "
        "same fallback rule as config.yml (threshold 0.4, ambiguity 0.05). Rasa pipelines: `rasa train nlu`.",
        "",
        "- intent accuracy / macro-F1: best real intent, FallbackClassifier undone (what `rasa test nlu` "
        "reports); macro-F1 over the intents of the set;",
        "- topic accuracy: best intent mapped to its contract topic (`integrity/content/topics.yml`), as `bin/ask` "
        "does before its safety net; the only measure the shared dev set allows (it gives topics, not intents);",
        "- OOS recall: out-of-scope cases answered `out_of_scope` or `nlu_fallback`; false OOS: in-domain cases "
        "(not smalltalk) answered one of those two;",
        "- emergencies missed: emergency cases whose best intent is not an emergency (NLU only, no safety net);",
        "- train s / peak MB: wall time and peak resident memory of the training process (Rasa's include about "
        "15 s of start-up and TensorFlow import).",
        "",
        "| pipeline | train s | peak MB | train time × baseline | peak memory × baseline |",
        "|---|---|---|---|---|",
    ]
    base = next((r for r in results if r.name == BASELINE), results[0])
    for r in results:
        lines.append(f"| {r.name} | {r.train_seconds:.0f} | {r.peak_mb:.0f} | "
                     f"{r.train_seconds / base.train_seconds:.1f} | {r.peak_mb / base.peak_mb:.1f} |")
    for set_name in sizes:
        lines += ["", f"### {set_name}", "",
                  "| pipeline | intent acc | intent macro-F1 | topic acc | OOS recall | false OOS "
                  "| emergencies missed |",
                  "|---|---|---|---|---|---|---|"]
        lines += [_scores_row(r.name, r.scores[set_name]) for r in results]
    lines += ["", "### Against the baseline (same run)", "",
              "Percentage points of topic accuracy (and intent accuracy where the set has intents) minus the "
              "baseline's; accuracy ratio in brackets.", "",
              "| pipeline | " + " | ".join(sizes) + " |", "|---|" + "---|" * len(sizes)]
    for r in results:
        if r is base:
            continue
        cells = []
        for set_name in sizes:
            s, b = r.scores[set_name], base.scores[set_name]
            topic = (f"topic {100 * (s.topic_accuracy - b.topic_accuracy):+.1f} pp "
                     f"(×{s.topic_accuracy / b.topic_accuracy:.2f})")
            if s.intent_accuracy is not None and b.intent_accuracy:
                topic = (f"intent {100 * (s.intent_accuracy - b.intent_accuracy):+.1f} pp "
                         f"(×{s.intent_accuracy / b.intent_accuracy:.2f}), {topic}")
            cells.append(topic)
        lines.append(f"| {r.name} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def chat(results: list[LoadResult] | None) -> list[str]:
    lines = ["## Chat turns under load: REST channel → Rasa (NLU + rules) → action server → reply", ""]
    if results is None:
        return lines + not_measured("--skip-chat")
    lines += [
        "One Rasa server and one action server on localhost (`devtools.stack.running_stack`). N simulated users "
        "(asyncio + httpx), each with its own sender id, hold conversations of "
        f"{min(map(len, CONVERSATIONS))}–{max(map(len, CONVERSATIONS))} turns (greeting, topic question, "
        "informal/formal button payload, follow-up question, out of scope, thanks), one turn after the other; "
        "all users at once, after a warm-up. An error is a non-200 answer, an empty reply or a timeout (120 s). "
        "Latency includes waiting in the server's queue, so it grows with the number of users.",
        "",
        "| users | turns | errors | seconds | turns/s | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [f"| {r.users} | {r.turns} | {r.errors} | {r.seconds:.1f} | {r.turns_per_second:.1f} | "
              f"{r.p50_ms:.0f} | {r.p95_ms:.0f} | {r.p99_ms:.0f} | {r.max_ms:.0f} |" for r in results]
    return [*lines, ""]


def reports(results: dict[str, dict[str, float]] | None, count: int, threads: int) -> list[str]:
    lines = ["## Report submission (service layer: validate, seal, Argon2 receipt hash, store)", ""]
    if results is None:
        return lines + not_measured("--skip-reports")
    return [
        *lines,
        f"{count} reports submitted concurrently from {threads} threads, production Argon2 parameters.",
        "",
        "| database | stored | seconds | reports/s | p50 ms | p95 ms |",
        "|---|---|---|---|---|---|",
        *[f"| {name} | {r['stored']:.0f}/{r['reports']:.0f} | {r['seconds']:.1f} | {r['per_second']:.1f} | "
          f"{r['p50_ms']:.0f} | {r['p95_ms']:.0f} |" for name, r in results.items()],
        "",
    ]


def case_list(result: dict[str, float] | None, note: str) -> list[str]:
    lines = ["## Back-office case-list render time at 10,000 reports", "",
             "<!-- Filled by benchmarks/caselist.py: bench_case_list() -> dict[str, float] "
             "(reports, p50_ms, p95_ms, p99_ms, ...). -->", ""]
    if result is None:
        return [*lines, note, ""]
    keys = list(result)
    values = [f"{result[k]:.0f}" if k == "reports" else f"{result[k]:.1f}" for k in keys]
    return [*lines, "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys), "| " + " | ".join(values) + " |", ""]
