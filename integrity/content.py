"""Organisation-independent content: intents, routes and the Dutch texts (integrity/content/*.yml)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from integrity.errors import DataFileError
from integrity.situation import fact_names
from integrity.yamlfile import load_mapping, require

CONTENT_DIR = Path(__file__).parent / "content"
TOPICS = (
    "integriteitsbeleid", "geschenken", "belangenvermenging", "nevenactiviteiten", "pesten",
    "ongewenst_seksueel_gedrag", "geweld_agressie", "discriminatie", "fraude_corruptie", "vertrouwelijkheid",
    "psychosociaal_welzijn", "melden", "actor_info", "noodsituatie", "smalltalk", "out_of_scope",
)
KINDS = (
    "psychosocial", "violation", "advice", "reporting", "actor_info", "handoff", "emergency", "smalltalk",
    "out_of_scope", "choice", "report_flow", "followup", "answer",
)
# Message keys the code relies on; answers.yml must define them all.
MESSAGE_KEYS = (
    "welcome", "privacy_notice", "help", "greet", "goodbye", "thanks", "bot_challenge", "out_of_scope",
    "actor_intro", "actor_more", "clarify_procedure", "button_informal", "button_formal", "after_informal",
    "after_formal", "report_offer", "button_report", "fallback_intro", "fallback_person", "button_none", "handoff",
    "emergency_more", "emergency_not", "fallback_maybe", "actor_seen", "answer_seen", "button_more",
    "danger_question", "button_danger_yes", "button_danger_no", "danger_no", "unknown_followup", "manager_note",
    "no_topic", "affirm", "deny", "more_none", "telegram_note",
)
STAGED_KINDS = ("psychosocial", "violation", "reporting")
CONTACT_FIELDS = ("phone", "email", "web", "hours", "where", "note")


@dataclass(frozen=True)
class Route:
    name: str
    topic: str
    kind: str
    label: str


@dataclass(frozen=True)
class Content:
    routes: dict[str, Route]
    intents: dict[str, str]  # Rasa intent -> route name
    answers: dict[str, str]  # route -> answer text
    messages: dict[str, str]
    contact_labels: dict[str, str]
    safety: dict[str, tuple[re.Pattern[str], ...]] = field(default_factory=dict)  # emergency route -> patterns
    stages: dict[str, tuple[str, ...]] = field(default_factory=dict)  # kind -> escalation ladder
    verdicts: dict[str, str] = field(default_factory=dict)  # route -> plain first answer to "mag ik ...?"

    def route_for_intent(self, intent: str) -> Route | None:
        name = self.intents.get(intent)
        return self.routes[name] if name else None

    def intent_for_route(self, route: str) -> str:
        return next(intent for intent, name in self.intents.items() if name == route)

    def safety_route(self, normalised_text: str) -> Route | None:
        """The emergency route whose safety pattern matches the (lower-case, accent-free) text, if any."""
        for route, patterns in self.safety.items():
            if any(p.search(normalised_text) for p in patterns):
                return self.routes[route]
        return None

    def answer_routes(self) -> list[str]:
        """Routes whose reply starts with a topic answer from answers.yml."""
        return [r.name for r in self.routes.values() if r.kind in ("psychosocial", "violation", "advice",
                                                                    "reporting", "emergency")]


def _load_stages(data: dict[str, Any], path: Path) -> dict[str, tuple[str, ...]]:
    stages = require(data, "stages", dict, path)
    for kind in STAGED_KINDS:
        ladder = stages.get(kind)
        if not isinstance(ladder, list) or not ladder or not all(isinstance(s, str) and s for s in ladder):
            raise DataFileError(str(path), f"stages.{kind}", "must be a non-empty list of stage names")
    for kind in stages:
        if kind not in STAGED_KINDS:
            raise DataFileError(str(path), f"stages.{kind}", f"only {', '.join(STAGED_KINDS)} have stages")
    return {kind: tuple(ladder) for kind, ladder in stages.items()}


def _load_routes(path: Path) -> tuple[dict[str, Route], dict[str, str]]:
    data = load_mapping(path)
    routes: dict[str, Route] = {}
    for name, spec in require(data, "routes", dict, path).items():
        where = f"routes.{name}"
        if not isinstance(spec, dict):
            raise DataFileError(str(path), where, "must be a mapping with topic, kind and label")
        topic = require(spec, "topic", str, path, where)
        kind = require(spec, "kind", str, path, where)
        if topic not in TOPICS:
            raise DataFileError(str(path), f"{where}.topic", f"unknown topic '{topic}'")
        if kind not in KINDS:
            raise DataFileError(str(path), f"{where}.kind", f"unknown kind '{kind}', expected one of {KINDS}")
        routes[name] = Route(name, topic, kind, require(spec, "label", str, path, where))
    intents = require(data, "intents", dict, path)
    for intent, route in intents.items():
        if route not in routes:
            raise DataFileError(str(path), f"intents.{intent}", f"refers to unknown route '{route}'")
    return routes, dict(intents)


def _string_map(data: dict[str, Any], key: str, path: Path) -> dict[str, str]:
    mapping = require(data, key, dict, path)
    for name, value in mapping.items():
        if not isinstance(value, str) or not value.strip():
            raise DataFileError(str(path), f"{key}.{name}", "must be a non-empty text")
    return {name: value.strip() for name, value in mapping.items()}


def _load_safety(path: Path, routes: dict[str, Route]) -> dict[str, tuple[re.Pattern[str], ...]]:
    safety: dict[str, tuple[re.Pattern[str], ...]] = {}
    for route, patterns in load_mapping(path).items():
        if route not in routes or routes[route].kind != "emergency":
            raise DataFileError(str(path), route, "must be an emergency route from topics.yml")
        if not isinstance(patterns, list) or not patterns:
            raise DataFileError(str(path), route, "must be a non-empty list of regular expressions")
        compiled = []
        for number, pattern in enumerate(patterns):
            try:
                compiled.append(re.compile(str(pattern)))
            except re.error as exc:
                raise DataFileError(str(path), f"{route}[{number}]", f"invalid regular expression ({exc})") from exc
        safety[route] = tuple(compiled)
    return safety


def load_content(directory: Path = CONTENT_DIR) -> Content:
    routes, intents = _load_routes(directory / "topics.yml")
    answers_path = directory / "answers.yml"
    data = load_mapping(answers_path)
    answers = _string_map(data, "answers", answers_path)
    messages = _string_map(data, "messages", answers_path)
    contact_labels = _string_map(data, "contact_labels", answers_path)
    safety = _load_safety(directory / "safety.yml", routes)
    stages = _load_stages(load_mapping(directory / "topics.yml"), directory / "topics.yml")
    verdicts = _string_map(data, "verdicts", answers_path) if data.get("verdicts") else {}
    for name in verdicts:
        if name not in routes:
            raise DataFileError(str(answers_path), f"verdicts.{name}", "is not a known route")
    for name in answers:
        base, _, fact = name.partition("@")
        if base not in routes or (fact and fact not in fact_names()):
            raise DataFileError(str(answers_path), f"answers.{name}",
                                "is not a known route, or ROUTE@FACT with a fact from situations.yml")
    content = Content(routes, intents, answers, messages, contact_labels, safety, stages, verdicts)
    for route in content.answer_routes():
        if route not in answers:
            raise DataFileError(str(answers_path), f"answers.{route}", "is missing")
    for key in MESSAGE_KEYS:
        if key not in messages:
            raise DataFileError(str(answers_path), f"messages.{key}", "is missing")
    for key in CONTACT_FIELDS:
        if key not in contact_labels:
            raise DataFileError(str(answers_path), f"contact_labels.{key}", "is missing")
    return content


def followup_texts(value: Any, content: Content, path: Path, where: str = "followups") -> dict[str, dict[str, str]]:
    """Follow-up answers (content/followups.yml, or a profile's `followups:`): follow-up route -> key -> text."""
    if not isinstance(value, dict):
        raise DataFileError(str(path), where, "must be a mapping of follow-up names")
    result: dict[str, dict[str, str]] = {}
    for name, texts in value.items():
        if name not in content.routes or content.routes[name].kind != "followup":
            raise DataFileError(str(path), f"{where}.{name}", "is not a follow-up route (content/topics.yml)")
        if not isinstance(texts, dict) or not texts:
            raise DataFileError(str(path), f"{where}.{name}", "must be a mapping of keys to texts")
        for key, text in texts.items():
            if not isinstance(text, str) or not text.strip():
                raise DataFileError(str(path), f"{where}.{name}.{key}", "must be a non-empty text")
        result[name] = {str(k): t.strip() for k, t in texts.items()}
    return result


@lru_cache(maxsize=1)
def default_content() -> Content:
    return load_content()
