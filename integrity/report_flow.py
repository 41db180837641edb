"""The report conversation as plain logic: questions, answers that mean a button, checks and the summary.

The Rasa forms (actions/report_form.py, followup_form.py) only glue this to slots; texts: content/reporting.yml.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from integrity.content import CONTENT_DIR, Content, default_content
from integrity.errors import DataFileError
from integrity.messages import Button
from integrity.profiles import Actor, Profile
from integrity.report_fields import SLOT_LIMITS
from integrity.textnorm import normalise
from integrity.yamlfile import load_mapping

# Order in which the form asks; report_contact only when not anonymous, report_edit only while correcting.
FIELDS = ("report_category", "report_what", "report_when", "report_where", "report_people", "report_evidence",
          "report_anonymous", "report_contact", "report_route")
OPTIONAL = ("report_people", "report_evidence")
STATUS_USES = ("chat", "title", "explanation", "staff")  # where a report status is named (reporting.yml)
REPORTABLE_KINDS = ("psychosocial", "violation", "advice", "reporting")
NOT_REPORTABLE = ("integriteitsbeleid", "melden")
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


def status_labels(use: str) -> dict[str, str]:
    """Report status value -> its Dutch name for `use` (one of STATUS_USES)."""
    return {status: uses[use] for status, uses in report_texts()["statuses"].items()}


@lru_cache(maxsize=1)
def report_texts(path: Path = CONTENT_DIR / "reporting.yml") -> ReportTexts:
    data = load_mapping(path)
    for key in ("intro_lines", "intro_telegram", "intro_controls", "intro_organisation", "generic_organisation",
                "form_categories", "external_note", "external_channel", "joiner_or", "questions", "buttons", "words",
                "labels", "errors", "cancelled", "submitted", "files", "followup", "statuses"):
        if key not in data:
            raise DataFileError(str(path), key, "is missing")
    for field in (*FIELDS, "report_confirm", "report_edit"):
        if field not in data["questions"]:
            raise DataFileError(str(path), f"questions.{field}", "is missing")
    for status, uses in data["statuses"].items():
        for use in STATUS_USES:
            if not isinstance(uses, dict) or not isinstance(uses.get(use), str):
                raise DataFileError(str(path), f"statuses.{status}.{use}", "is missing")
    if not isinstance(data["intro_lines"], list) or not all(isinstance(line, str) for line in data["intro_lines"]):
        raise DataFileError(str(path), "intro_lines", "must be a list of texts")
    texts = ReportTexts(data)
    # The intro without organisation or channel, for callers that have neither (bin/ask through integrity.routing).
    data["intro"] = intro_text(None, None, texts)
    return texts


def intro_text(profile: Profile | None, channel: str | None, texts: ReportTexts) -> str:
    """What the bot explains before the first question: to whom the report goes (the organisation's integrity
    coordinators), the deadlines, the receipt code; what Telegram itself knows only on Telegram."""
    organisation = (texts["intro_organisation"].format(name=profile.name) if profile is not None
                    else texts["generic_organisation"])
    lines = [line.format(organisation=organisation) for line in texts["intro_lines"]]
    if channel == "telegram":
        lines.append(texts["intro_telegram"])
    lines.append(texts["intro_controls"])
    return "\n".join(line.strip() for line in lines)


def categories(content: Content | None = None) -> list[str]:
    """Every topic a report can have: also the old psychosocial ones, for stored reports and back office filters."""
    content = content or default_content()
    return [r.name for r in content.routes.values()
            if r.kind in REPORTABLE_KINDS and r.name not in NOT_REPORTABLE]


def form_categories(texts: ReportTexts | None = None, content: Content | None = None) -> list[str]:
    """The topics the chat's report form offers: integrity violations only (reporting.yml `form_categories`).

    Bullying, harassment, violence, discrimination and stress follow the well-being procedure (the trusted
    person, the prevention adviser), not an anonymous report to the integrity coordinators.
    """
    texts = texts or report_texts()
    allowed = categories(content)
    names = texts["form_categories"]
    if not isinstance(names, list) or not names:
        raise DataFileError(str(CONTENT_DIR / "reporting.yml"), "form_categories", "must be a non-empty list")
    for name in names:
        if name not in allowed:
            raise DataFileError(str(CONTENT_DIR / "reporting.yml"), f"form_categories.{name}",
                                f"is not a report category; use one of {', '.join(allowed)}")
    return list(names)


def recipients(profile: Profile, category: str | None) -> list[str]:
    """The actors a chat report can go to (profile `report_recipients`), the topic's own actors first."""
    topic = profile.routing.get(category or "", profile.routing.get("melden", ()))
    if not profile.report_recipients:  # a profile built without the field: the topic's actors, minus external ones
        return [a for a in topic if a not in profile.external_channels]
    first = [a for a in topic if a in profile.report_recipients]
    return [*first, *(a for a in profile.report_recipients if a not in first)]


def external_channel(actor: Actor, texts: ReportTexts) -> str:
    """"het Comité P (www.comitep.be)": an external channel's name with its web address when the profile has one."""
    web = actor.contact.get("web")
    return texts["external_channel"]["with_web" if web else "name_only"].format(name=actor.name, web=web)


def question_text(field: str, profile: Profile, texts: ReportTexts) -> str:
    """The question for `field`; under "to whom" one sentence on the external channels, which the user contacts
    directly (a chat report never reaches them)."""
    question = texts["questions"][field]
    if field == "report_route" and profile.external_channels:
        channels = texts["joiner_or"].join(
            external_channel(profile.actors[a], texts) for a in profile.external_channels)
        question = f"{question}\n{texts['external_note'].format(channels=channels)}"
    return question


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
        return [Button(content.routes[name].label, content.routes[name].label)
                for name in form_categories(texts, content)]
    if field in OPTIONAL:
        return [Button(labels["skip"], labels["skip"])]
    if field == "report_anonymous":
        return [Button(labels["anonymous_yes"], labels["anonymous_yes"]),
                Button(labels["anonymous_no"], labels["anonymous_no"])]
    if field == "report_route":
        return [Button(profile.actors[a].name, profile.actors[a].name) for a in recipients(profile, category)]
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
        return _category(value, intent, profile, texts, content)
    if field == "report_anonymous":
        if texts.is_word(value, "anonymous_yes"):
            return Answer(value="ja")
        if texts.is_word(value, "anonymous_no"):
            return Answer(value="nee")
        return Answer(error=errors["choose"])
    if field == "report_route":
        return _route(value, profile, category, texts)
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
    limit = SLOT_LIMITS.get(field, 5000)
    if len(value) > limit:
        return Answer(error=errors["too_long"].format(length=len(value), limit=limit))
    return Answer(value=value)


def _category(value: str, intent: str | None, profile: Profile, texts: ReportTexts, content: Content) -> Answer:
    errors = texts["errors"]
    offered = form_categories(texts, content)
    chosen = next((name for name in categories(content)
                   if _plain(value) in (_plain(content.routes[name].label), _plain(name))), None)
    if chosen is None:
        route = content.route_for_intent(intent or "")
        chosen = route.name if route is not None and route.name in categories(content) else None
    if chosen in offered:
        return Answer(value=chosen)
    if chosen is not None and content.routes[chosen].kind == "psychosocial":
        people = [profile.actors[a].name for a in profile.routing.get(chosen, ())[:2]]
        return Answer(error=errors["psychosocial"].format(people=texts["joiner_or"].join(people)))
    return Answer(error=errors["choose"])


def _names(actor: Actor) -> set[str]:
    return {_plain(actor.name), _plain(actor.id), *(_plain(a) for a in actor.aliases)}


def _route(value: str, profile: Profile, category: str | None, texts: ReportTexts) -> Answer:
    wanted = _plain(value)
    for actor_id in recipients(profile, category):
        if wanted in _names(profile.actors[actor_id]):
            return Answer(value=actor_id)
    for actor_id in profile.external_channels:
        if wanted in _names(profile.actors[actor_id]):
            channel = external_channel(profile.actors[actor_id], texts)
            return Answer(error=texts["errors"]["external"].format(channel=channel[:1].upper() + channel[1:]))
    return Answer(error=texts["errors"]["choose"])


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
