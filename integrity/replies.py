"""The pieces a reply is made of: messages, buttons, actor cards and the texts they come from."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from integrity.content import Content
from integrity.dialogue_state import DialogueState
from integrity.messages import BotMessage, Button
from integrity.profiles import Actor, Profile
from integrity.textnorm import normalise

MAX_OTHER_ACTORS = 2
# "mag ik ...?", "mag dat?", "is dat toegelaten?": a question that wants a plain yes, no or "it depends" first.
_PERMISSION = re.compile(r"\b(mag|mogen)\s+(ik|je|we|wij|men|dat|dit|het|da|een)\b|"
                         r"\b(is|zijn)\s+(dat|dit|het|da)\s+(wel\s+)?(toegelaten|toegestaan|ok|oke|okay|in orde)\b|"
                         r"\bmag\s+dat\b|\bis\s+dat\s+erg\b")


@dataclass
class Texts:
    """The organisation's wording where its profile has one, else the common text."""

    profile: Profile
    content: Content
    overrides: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.overrides = {**self.content.messages, **self.profile.messages}

    def message(self, key: str) -> str:
        return self.overrides[key]

    def answer(self, key: str) -> str:
        return self.profile.answers.get(key) or self.content.answers[key]

    def has_answer(self, key: str) -> bool:
        return key in self.profile.answers or key in self.content.answers

    def verdict(self, route: str) -> str | None:
        return self.profile.verdicts.get(route) or self.content.verdicts.get(route)

    def actor(self, actor_id: str) -> Actor:
        return self.profile.actors[actor_id]


@dataclass(frozen=True)
class Decision:
    route: str
    topic: str
    actors: tuple[str, ...]
    confidence: float
    messages: tuple[BotMessage, ...]
    pending_route: str | None = None  # a psychosocial route awaiting the informal/formal choice
    fallback: bool = False
    emergency: bool = False  # the reply leads with emergency numbers
    state: DialogueState = field(default_factory=DialogueState)

    @property
    def reply(self) -> str:
        return self.messages[0].text


_ABOUT_REPORTING = re.compile(r"\b(melden|melding|aangeven|aankaarten|rapporteren|klacht)\b")


def asks_permission(text: str) -> bool:
    """"Mag ik ...?" about the topic itself; "mag ik dit melden?" is not (its answer is always yes)."""
    plain = normalise(text)
    return bool(_PERMISSION.search(plain)) and not _ABOUT_REPORTING.search(plain)


def words(messages: tuple[BotMessage, ...] | list[BotMessage]) -> int:
    return sum(len(m.text.split()) for m in messages)


def contact_lines(actor: Actor, content: Content) -> list[str]:
    return [f"{content.contact_labels[key]}: {value}" for key, value in actor.contact.items()]


def actor_card(actor: Actor, texts: Texts, *, detailed: bool = False) -> str:
    """'Je kan terecht bij X. What X does.' plus the contact lines (and when to go there, if detailed)."""
    lines = [f"{texts.message('actor_intro').format(name=actor.name)} {actor.role}"]
    if detailed:
        lines.append(actor.when)
    lines.extend(contact_lines(actor, texts.content))
    return "\n".join(lines)


def card_block(actor_id: str) -> str:
    return f"card:{actor_id}"


def actor_message(actor_ids: tuple[str, ...], texts: Texts, shown: tuple[str, ...] = (), *,
                  detailed: bool = False, force: bool = False, others: bool = True) -> BotMessage:
    """One card for the first actor (a one-line pointer if it was shown before), then the names of the others."""
    first = texts.actor(actor_ids[0])
    if card_block(first.id) in shown and not force and not detailed:
        text = texts.message("actor_seen").format(name=first.name)
    else:
        text = actor_card(first, texts, detailed=detailed)
    rest = [texts.actor(a).name for a in actor_ids[1:1 + MAX_OTHER_ACTORS]]
    if others and rest:
        text += f"\n{texts.message('actor_more')} {', '.join(rest)}."
    return BotMessage(text)


def first_sentence(text: str) -> str:
    match = re.match(r"(.+?[.!?])(\s|$)", text.strip(), re.S)
    return match.group(1) if match else text.strip()


def more_button(texts: Texts) -> Button:
    return Button(texts.message("button_more"), "/meer_info")


def report_offer(texts: Texts) -> BotMessage:
    return BotMessage(texts.message("report_offer"), (Button(texts.message("button_report"), "/melding_starten"),))
