"""Facts about the situation behind a question (content/situations.yml): found in the text or stated by an intent."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from integrity.errors import DataFileError
from integrity.textnorm import normalise
from integrity.yamlfile import load_mapping

SITUATIONS_FILE = Path(__file__).parent / "content" / "situations.yml"
ROUTE_KINDS = ("psychosocial", "violation", "advice", "reporting")


@dataclass(frozen=True)
class Fact:
    name: str
    patterns: tuple[re.Pattern[str], ...]
    unless: tuple[re.Pattern[str], ...] = ()
    kinds: tuple[str, ...] = ROUTE_KINDS
    intents: tuple[str, ...] = ()
    kind: str | None = None  # the kind a ROUTE@FACT answer takes
    answer_with: str | None = None  # a follow-up whose answer replaces the topic answer when the fact is new
    conversation: bool = False  # holds for the whole conversation (who the people are), not only for one topic

    def found_in(self, normalised_text: str) -> bool:
        return any(p.search(normalised_text) for p in self.patterns) and \
            not any(p.search(normalised_text) for p in self.unless)


def _patterns(value: Any, path: Path, where: str) -> tuple[re.Pattern[str], ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(p, str) and p for p in value):
        raise DataFileError(str(path), where, "must be a list of regular expressions")
    compiled = []
    for number, pattern in enumerate(value):
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise DataFileError(str(path), f"{where}[{number}]", f"invalid regular expression ({exc})") from exc
    return tuple(compiled)


def _names(value: Any, path: Path, where: str, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DataFileError(str(path), where, "must be a list of names")
    if allowed is not None:
        for name in value:
            if name not in allowed:
                raise DataFileError(str(path), where, f"unknown kind '{name}', expected one of {allowed}")
    return tuple(value)


@lru_cache(maxsize=4)
def load_facts(path: Path = SITUATIONS_FILE) -> tuple[Fact, ...]:
    data = load_mapping(path)
    facts = data.get("facts")
    if not isinstance(facts, dict) or not facts:
        raise DataFileError(str(path), "facts", "must be a mapping of fact names")
    result = []
    for name, spec in facts.items():
        where = f"facts.{name}"
        if not isinstance(spec, dict):
            raise DataFileError(str(path), where, "must be a mapping")
        kind = spec.get("kind")
        if kind is not None and kind not in ROUTE_KINDS:
            raise DataFileError(str(path), f"{where}.kind", f"unknown kind '{kind}', expected one of {ROUTE_KINDS}")
        fact = Fact(name, _patterns(spec.get("patterns"), path, f"{where}.patterns"),
                    _patterns(spec.get("unless"), path, f"{where}.unless"),
                    _names(spec.get("kinds"), path, f"{where}.kinds", ROUTE_KINDS) or ROUTE_KINDS,
                    _names(spec.get("intents"), path, f"{where}.intents"), kind,
                    str(spec["answer_with"]) if spec.get("answer_with") else None,
                    spec.get("scope", "topic") == "conversation")
        if spec.get("scope", "topic") not in ("topic", "conversation"):
            raise DataFileError(str(path), f"{where}.scope", "must be 'topic' or 'conversation'")
        if not fact.patterns and not fact.intents:
            raise DataFileError(str(path), where, "needs patterns or intents")
        result.append(fact)
    return tuple(result)


def fact_names() -> tuple[str, ...]:
    return tuple(f.name for f in load_facts())


def facts_in(text: str, *, kind: str | None = None, intent: str | None = None,
             facts: tuple[Fact, ...] | None = None) -> frozenset[str]:
    """The facts a message states: by its intent, or by its words when the route kind is one they apply to.

    `kind` None means a follow-up: every fact is looked for.
    """
    plain = normalise(text)
    found = set()
    for fact in facts or load_facts():
        stated = intent is not None and intent in fact.intents
        if stated or ((kind is None or kind in fact.kinds) and fact.found_in(plain)):
            found.add(fact.name)
    return frozenset(found)


def ordered(facts: frozenset[str] | set[str]) -> list[str]:
    """Facts in priority order (the order of situations.yml)."""
    return [name for name in fact_names() if name in facts]


def fact_kind(name: str) -> str | None:
    return next((f.kind for f in load_facts() if f.name == name), None)


def answered_with(name: str) -> str | None:
    return next((f.answer_with for f in load_facts() if f.name == name), None)


def conversation_facts(names: frozenset[str]) -> frozenset[str]:
    """The facts that stay when the topic changes."""
    return frozenset(f.name for f in load_facts() if f.conversation and f.name in names)
