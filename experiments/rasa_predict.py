"""Parse texts with a trained Rasa model (run in .venv-rasa).

    .venv-rasa/bin/python -m experiments.rasa_predict MODEL TEXTS.json PREDICTIONS.json
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path
from typing import Any

from experiments.predictions import FALLBACK, prediction, read_texts, write_predictions


def to_prediction(parse: dict[str, Any]) -> dict[str, Any]:
    intent = (parse.get("intent") or {}).get("name")
    ranking = [(r["name"], float(r["confidence"])) for r in parse.get("intent_ranking") or []
               if r.get("name") != FALLBACK]
    return prediction(ranking, fallback=intent == FALLBACK)


async def parse_all(model: Path, texts: list[str]) -> list[dict[str, Any]]:
    from rasa.core.agent import Agent  # only the Rasa virtualenv has it

    agent = Agent.load(str(model))
    return [to_prediction(await agent.parse_message(text)) for text in texts]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model", type=Path)
    parser.add_argument("texts", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    write_predictions(args.out, asyncio.run(parse_all(args.model, read_texts(args.texts))))


if __name__ == "__main__":
    main()
