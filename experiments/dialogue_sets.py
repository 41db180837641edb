"""Bot-level measurements on the held-out sets, through the trained model and integrity.routing.decide.

    .venv-rasa/bin/python -m experiments.dialogue_sets [--model models/integrity.tar.gz] [--json]

- emergencies: every `noodsituatie*` example of the held-out NLU sets must lead with emergency numbers
  (decision.emergency), both as a first message and inside a conversation about bullying;
- not_emergencies.yml: no message may lead with emergency numbers (first message, and after a topic);
- topic accuracy and fallback rate of the held-out NLU sets at bot level (the contract topic of the decision);
- follow-up understanding: followups_holdout.yml asked after a first topic answer, intent accuracy and the share
  answered as a follow-up (not a topic switch, not "I don't understand").
Prints one JSON object with the figures and the misses (docs/dialogue.md quotes it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml

from integrity.content import default_content
from integrity.profiles import get_profile
from integrity.routing import decide

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
HOLDOUTS = ("nlu_holdout.yml", "nlu_holdout_v2.yml")


def examples(path: Path) -> list[tuple[str, str]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    rows = []
    for block in data["nlu"]:
        for line in block["examples"].splitlines():
            text = line.strip()[2:].strip() if line.strip().startswith("- ") else ""
            if text:
                rows.append((block["intent"], text))
    return rows


async def measure(model: Path) -> dict[str, Any]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    content, profile = default_content(), get_profile("vlaamse-overheid")

    async def parse(text: str) -> dict[str, Any]:
        return await agent.parse_message(text)

    first = await parse("ik word al maanden gepest door mijn collega's")
    in_topic = decide(first, profile).state
    result: dict[str, Any] = {}
    missed, topics_ok, fallbacks, total = [], 0, 0, 0
    for name in HOLDOUTS:
        for intent, text in examples(DATA / name):
            parsed = await parse(text)
            decision = decide(parsed, profile)
            expected = content.route_for_intent(intent)
            total += 1
            topics_ok += expected is not None and decision.topic == expected.topic
            fallbacks += decision.fallback
            if intent.startswith("noodsituatie"):
                later = decide(parsed, profile, state=in_topic)
                if not (decision.emergency and later.emergency):
                    missed.append(text)
    emergencies = sum(1 for n in HOLDOUTS for i, _ in examples(DATA / n) if i.startswith("noodsituatie"))
    result["holdout_topic_acc"] = round(topics_ok / total, 4)
    result["holdout_fallback_rate"] = round(fallbacks / total, 4)
    result["emergency_recall"] = round(1 - len(missed) / emergencies, 4)
    result["emergency_missed"] = missed
    false_alarms = []
    harmless = examples(DATA / "not_emergencies.yml")
    for _, text in harmless:
        parsed = await parse(text)
        if decide(parsed, profile).emergency or decide(parsed, profile, state=in_topic).emergency:
            false_alarms.append(text)
    result["not_emergencies"] = len(harmless)
    result["false_emergencies"] = false_alarms
    followups = examples(DATA / "followups_holdout.yml")
    intent_ok, answered, wrong = 0, 0, []
    for intent, text in followups:
        parsed = await parse(text)
        decision = decide(parsed, profile, state=in_topic)
        intent_ok += (parsed.get("intent") or {}).get("name") == intent
        ok = decision.topic == "pesten" and not decision.fallback
        answered += ok
        if (parsed.get("intent") or {}).get("name") != intent:
            wrong.append(f"{text!r}: {intent} -> {(parsed.get('intent') or {}).get('name')}")
    result["followup_intent_acc"] = round(intent_ok / len(followups), 4)
    result["followup_answered_in_topic"] = round(answered / len(followups), 4)
    result["followup_misses"] = wrong
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=Path("models/integrity.tar.gz"))
    args = parser.parse_args()
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")  # Rasa logs to stdout: keep it for JSON
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    result = asyncio.run(measure(args.model))
    out.write(json.dumps(result, ensure_ascii=False, indent=1) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
