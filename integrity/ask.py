"""The `bin/ask` contract (shared/contract/ask.md): JSONL questions in, JSONL answers out.

Runs in the Rasa virtualenv: it parses with the trained Rasa model and answers with the same
routing as the chat (integrity.routing.decide). Only answers go to stdout; logs go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from integrity.errors import DataFileError
from integrity.jsonlines import json_lines
from integrity.profiles import Profile, available_profiles, get_profile
from integrity.routing import decide
from integrity.settings import DEFAULT_PROFILE

logger = logging.getLogger("bin/ask")
Parser = Callable[[str], Awaitable[dict[str, Any]]]
DEFAULT_MODEL = Path("models/integrity.tar.gz")


def answer_line(question: dict[str, Any], parse: dict[str, Any], profile: Profile) -> dict[str, Any]:
    decision = decide(parse, profile)
    answer = {k: v for k, v in question.items() if k not in ("topic", "actors", "confidence", "reply")}
    answer.update(topic=decision.topic, actors=list(decision.actors),
                  confidence=round(decision.confidence, 4), reply=decision.reply)
    return answer


def read_questions(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, Any] | None, str | None]]:
    """Yield (line number, question, error) for every non-blank line."""
    for number, question, error in json_lines(lines):
        if error:
            yield number, None, error
        elif not isinstance(question, dict) or not isinstance(question.get("text"), str):
            yield number, None, f"line {number}: expected an object with a string field 'text'"
        else:
            yield number, question, None


async def answer_all(lines: Iterable[str], parse: Parser, profile: Profile, out: IO[str]) -> int:
    """Answer every question; a bad line gets an error object in its place. Returns the number of bad lines."""
    bad = 0
    for _number, question, error in read_questions(lines):
        if error or question is None:
            bad += 1
            logger.error("%s", error)
            out.write(json.dumps({"error": error}, ensure_ascii=False) + "\n")
            continue
        result = await parse(question["text"])
        out.write(json.dumps(answer_line(question, result, profile), ensure_ascii=False) + "\n")
        out.flush()
    return bad


def rasa_parser(model: Path) -> Parser:
    from rasa.core.agent import Agent  # imported here: only the Rasa virtualenv has it

    agent = Agent.load(str(model))

    async def parse(text: str) -> dict[str, Any]:
        return await agent.parse_message(text)

    return parse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bin/ask", description=__doc__)
    parser.add_argument("--profile", default=DEFAULT_PROFILE, help="organisation profile (default: %(default)s)")
    parser.add_argument("--model", type=Path, default=Path(os.environ.get("INTEGRITY_MODEL") or DEFAULT_MODEL),
                        help="trained Rasa model (default: $INTEGRITY_MODEL or %(default)s)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(name)s: %(message)s")
    try:
        profile = get_profile(args.profile)
    except DataFileError as exc:
        print(f"bin/ask: {exc}. Known profiles: {', '.join(available_profiles())}", file=sys.stderr)
        return 2
    if not args.model.is_file():
        print(f"bin/ask: no trained model at {args.model}; run `make model`", file=sys.stderr)
        return 2
    # Keep stdout for answers only: anything the libraries print goes to stderr.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    parse = rasa_parser(args.model)
    bad = asyncio.run(answer_all(sys.stdin, parse, profile, out))
    out.flush()
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
