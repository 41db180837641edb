"""Scores of one pipeline's predictions on one test set (pure Python: runs in both venvs).

Definitions (docs/benchmarks.md repeats them):
- intent accuracy and macro-F1: the best real intent, the FallbackClassifier decision undone (as `rasa test nlu`
  reports them); macro-F1 averages the F1 of every intent in the gold labels (as `rasa test nlu` does);
- topic accuracy: the best real intent mapped to its contract topic (integrity/content/topics.yml), as `bin/ask`
  does before its safety net, compared with the accepted topics;
- out of scope: `out_of_scope` or `nlu_fallback` (FallbackClassifier kept). OOS recall is over the out-of-scope
  cases; false OOS is the share of in-domain cases (not smalltalk, not out of scope) that get one of the two;
- emergencies missed: emergency cases whose best real intent is not an emergency topic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

OUT_OF_SCOPE = {"out_of_scope", "nlu_fallback"}
NO_TOPIC = {"smalltalk", "out_of_scope"}


@dataclass(frozen=True)
class Case:
    text: str
    intent: str | None  # None when the set gives only contract topics (the shared dev set)
    topics: tuple[str, ...]  # accepted contract topics, the expected one first


@dataclass(frozen=True)
class Scores:
    cases: int
    intent_accuracy: float | None
    intent_macro_f1: float | None
    topic_accuracy: float
    oos_recall: float | None
    false_oos: float | None
    emergencies_missed: int


def macro_f1(gold: list[str], predicted: list[str]) -> float:
    labels = sorted(set(gold))
    total = 0.0
    for label in labels:
        true_pos = sum(1 for g, p in zip(gold, predicted, strict=True) if g == label and p == label)
        pred_pos = sum(1 for p in predicted if p == label)
        gold_pos = sum(1 for g in gold if g == label)
        precision = true_pos / pred_pos if pred_pos else 0.0
        recall = true_pos / gold_pos if gold_pos else 0.0
        total += 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return total / len(labels) if labels else 0.0


def _rate(hits: list[bool]) -> float | None:
    return sum(hits) / len(hits) if hits else None


def score(cases: list[Case], predictions: list[dict[str, Any]], topic_of: Callable[[str], str]) -> Scores:
    if len(cases) != len(predictions):
        raise ValueError(f"{len(predictions)} predictions for {len(cases)} cases")
    best = [p["ranking"][0][0] if p["ranking"] else "nlu_fallback" for p in predictions]
    labelled = [(case.intent, intent) for case, intent in zip(cases, best, strict=True) if case.intent is not None]
    gold_intents, predicted_intents = [g for g, _ in labelled], [p for _, p in labelled]
    topics = [topic_of(intent) for intent in best]
    oos = [p["intent"] in OUT_OF_SCOPE for p in predictions]
    return Scores(
        cases=len(cases),
        intent_accuracy=_rate([g == p for g, p in labelled]) if labelled else None,
        intent_macro_f1=macro_f1(gold_intents, predicted_intents) if labelled else None,
        topic_accuracy=_rate([t in c.topics for c, t in zip(cases, topics, strict=True)]) or 0.0,
        oos_recall=_rate([o for c, o in zip(cases, oos, strict=True) if c.topics[0] == "out_of_scope"]),
        false_oos=_rate([o for c, o in zip(cases, oos, strict=True) if c.topics[0] not in NO_TOPIC]),
        emergencies_missed=sum(1 for c, t in zip(cases, topics, strict=True)
                               if c.topics[0] == "noodsituatie" and t != "noodsituatie"),
    )
