"""The report conversation as plain logic: questions, answers that mean a button, checks and the summary.

The Rasa form (actions/reporting.py) only glues this to slots; the texts are in content/reporting.yml.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from integrity.content import CONTENT_DIR, Content, default_content
from integrity.errors import DataFileError
from integrity.profiles import Profile
from integrity.routing import Button, normalise
from integrity.yamlfile import load_mapping

# Order in which the form asks; report_contact only when not anonymous, report_edit only while correcting.
FIELDS = ("report_category", "report_what", "report_when", "report_where", "report_people", "report_evidence",
          "report_anonymous", "report_contact", "report_route")
OPTIONAL = ("report_people", "report_evidence")
REPORTABLE_KINDS = ("psychosocial", "violation", "advice", "reporting")
NOT_REPORTABLE = ("integriteitsbeleid", "melden")
LIMITS = {"report_what": 5000, "report_when": 500, "report_where": 500, "report_people": 2000,
          "report_evidence": 5000, "report_contact": 500}
_CONTACT = re.compile(r"[^@\s]+@[^@\s]+\.[a-z]{2,}|\+?[0-9][0-9 ./-]{7,}[0-9]", re.IGNORECASE)


@dataclass(frozen=True)
class Answer:
    """How an answer to a question is to be taken."""

    control: str | None = None  # "cancel" | "back" | None
    value: str | None = None  # the value to store (None: ask again)
    error: str | None = None  # Dutch message when the answer is not usable


@dataclass(frozen=True)
class ReportTexts:
    data: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def words(self, kind: str) -> set[str]:
        return {normalise(w) for w in self.data["words"][kind]}

    def is_word(self, text: str, kind: str) -> bool:
        return _plain(text) in self.words(kind)


def _plain(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w@+ -]", " ", normalise(text))).strip()


@lru_cache(maxsize=1)
def report_texts(path: Path = CONTENT_DIR / "reporting.yml") -> ReportTexts:
    data = load_mapping(path)
    for key in ("intro", "questions", "buttons", "words", "labels", "errors", "cancelled", "submitted", "followup",
                "statuses"):
        if key not in data:
            raise DataFileError(str(path), key, "is missing")
    for field in (*FIELDS, "report_confirm", "report_edit"):
        if field not in data["questions"]:
            raise DataFileError(str(path), f"questions.{field}", "is missing")
    return ReportTexts(data)


def categories(content: Content | None = None) -> list[str]:
    content = content or default_content()
    return [r.name for r in content.routes.values()
            if r.kind in REPORTABLE_KINDS and r.name not in NOT_REPORTABLE]


def required_fields(anonymous: str | None, editing: bool) -> list[str]:
    fields = [f for f in FIELDS if f != "report_contact" or anonymous == "nee"]
    return [*fields, *(["report_edit"] if editing else []), "report_confirm"]


def previous_field(field: str, anonymous: str | None) -> str | None:
    order = required_fields(anonymous, editing=False)
    index = order.index(field) if field in order else 0
    return order[index - 1] if index > 0 else None


def is_command(text: str) -> bool:
    """A channel command or button payload (/help, /kies_formeel, ...) typed in the middle of a form."""
    return bool(re.fullmatch(r"/\w+(\{.*\})?", text.strip()))


def control_of(text: str, texts: ReportTexts) -> str | None:
    if texts.is_word(text, "cancel") or text.strip() == "/annuleren":
        return "cancel"
    if texts.is_word(text, "back"):
        return "back"
    return None


def question_buttons(field: str, profile: Profile, category: str | None, texts: ReportTexts,
                     content: Content | None = None) -> list[Button]:
    content = content or default_content()
    labels = texts["buttons"]
    if field == "report_category":
        return [Button(content.routes[name].label, content.routes[name].label) for name in categories(content)]
    if field in OPTIONAL:
        return [Button(labels["skip"], labels["skip"])]
    if field == "report_anonymous":
        return [Button(labels["anonymous_yes"], labels["anonymous_yes"]),
                Button(labels["anonymous_no"], labels["anonymous_no"])]
    if field == "report_route":
        actors = profile.routing.get(category or "", profile.routing["melden"])
        return [Button(profile.actors[a].name, profile.actors[a].name) for a in actors]
    if field == "report_confirm":
        return [Button(labels[k], labels[k]) for k in ("send", "edit", "cancel")]
    if field == "report_edit":
        return [Button(texts["labels"][f], texts["labels"][f]) for f in FIELDS if f != "report_contact"]
    return []


def interpret(field: str, text: str, *, profile: Profile, category: str | None, intent: str | None,
              texts: ReportTexts, content: Content | None = None) -> Answer:
    """Turn the user's answer to `field` into a value, a control (cancel/back) or an error message."""
    content = content or default_content()
    control = control_of(text, texts)
    if control:
        return Answer(control=control)
    value = (text or "").strip()
    errors = texts["errors"]
    if is_command(value):
        return Answer(error=errors["command"])
    if field == "report_category":
        return _category(value, intent, content, errors)
    if field == "report_anonymous":
        if texts.is_word(value, "anonymous_yes"):
            return Answer(value="ja")
        if texts.is_word(value, "anonymous_no"):
            return Answer(value="nee")
        return Answer(error=errors["choose"])
    if field == "report_route":
        return _route(value, profile, category, errors)
    if field == "report_confirm":
        for word in ("send", "edit"):
            if texts.is_word(value, word):
                return Answer(value=word)
        return Answer(error=errors["choose"])
    if field == "report_edit":
        for name, label in texts["labels"].items():
            if _plain(value) in (_plain(label), _plain(name)):
                return Answer(value=name)
        return Answer(error=errors["choose"])
    if field in OPTIONAL and texts.is_word(value, "skip"):
        return Answer(value="")
    if field == "report_contact":
        if texts.is_word(value, "anonymous_yes"):
            return Answer(control="anonymous")
        if not _CONTACT.search(value):
            return Answer(error=errors["contact"])
    if not value:
        return Answer(error=errors["empty"])
    limit = LIMITS.get(field, 5000)
    if len(value) > limit:
        return Answer(error=errors["too_long"].format(length=len(value), limit=limit))
    return Answer(value=value)


def _category(value: str, intent: str | None, content: Content, errors: dict[str, str]) -> Answer:
    allowed = categories(content)
    for name in allowed:
        if _plain(value) in (_plain(content.routes[name].label), _plain(name)):
            return Answer(value=name)
    route = content.route_for_intent(intent or "")
    if route is not None and route.name in allowed:
        return Answer(value=route.name)
    return Answer(error=errors["choose"])


def _route(value: str, profile: Profile, category: str | None, errors: dict[str, str]) -> Answer:
    wanted = _plain(value)
    for actor_id in profile.routing.get(category or "", profile.routing["melden"]):
        actor = profile.actors[actor_id]
        if wanted in {_plain(actor.name), _plain(actor_id), *(_plain(a) for a in actor.aliases)}:
            return Answer(value=actor_id)
    return Answer(error=errors["choose"])


def summary(slots: dict[str, Any], profile: Profile, texts: ReportTexts, content: Content | None = None) -> str:
    content = content or default_content()
    labels = texts["labels"]
    lines = [texts["summary_intro"]]
    for field in FIELDS:
        value = slots.get(field)
        if field == "report_contact" and slots.get("report_anonymous") != "nee":
            continue
        if field == "report_category" and value in content.routes:
            value = content.routes[value].label
        elif field == "report_route" and value in profile.actors:
            value = profile.actors[value].name
        lines.append(f"- {labels[field]}: {value or texts['empty']}")
    return "\n".join(lines)
