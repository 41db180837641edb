"""From what the NLU understood to what the bot says and whom it points to.

One function, `decide`, serves the chat (actions/) and `bin/ask`, so both always agree.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from integrity.content import Content, Route, default_content
from integrity.profiles import Actor, Profile

FALLBACK_INTENT = "nlu_fallback"
NO_ACTOR_KINDS = ("smalltalk", "out_of_scope")
OPTION_KINDS = ("psychosocial", "violation", "advice", "reporting", "actor_info")  # offered as "did you mean"
FALLBACK_CHOICES = 2
SURE_EMERGENCY = 0.8  # below this, an emergency answer also offers the likeliest other topics


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class BotMessage:
    text: str
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True)
class Decision:
    route: str
    topic: str
    actors: tuple[str, ...]
    confidence: float
    messages: tuple[BotMessage, ...]
    pending_route: str | None = None  # a psychosocial route awaiting the informal/formal choice
    fallback: bool = False

    @property
    def reply(self) -> str:
        return self.messages[0].text


@dataclass
class _Texts:
    profile: Profile
    content: Content
    overrides: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.overrides = {**self.content.messages, **self.profile.messages}

    def message(self, key: str) -> str:
        return self.overrides[key]

    def answer(self, route: str) -> str:
        return answer_text(route, self.profile, self.content)


def answer_text(route: str, profile: Profile, content: Content | None = None) -> str:
    """The answer for a route: the organisation's own wording if its profile has one, else the common text."""
    return profile.answers.get(route) or (content or default_content()).answers[route]


def normalise(text: str) -> str:
    """Lower case without accents, for matching aliases."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _contact_lines(actor: Actor, content: Content) -> list[str]:
    return [f"{content.contact_labels[key]}: {value}" for key, value in actor.contact.items()]


def actor_card(actor: Actor, texts: _Texts, *, detailed: bool = False) -> str:
    intro = texts.message("actor_intro").format(name=actor.name, role=actor.role, when=actor.when)
    lines = [f"{intro} {actor.role}"]
    if detailed:
        lines.append(actor.when)
    lines.extend(_contact_lines(actor, texts.content))
    return "\n".join(lines)


def _actor_messages(actor_ids: tuple[str, ...], texts: _Texts, *, detailed: bool = False) -> list[BotMessage]:
    actors = [texts.profile.actors[a] for a in actor_ids]
    text = actor_card(actors[0], texts, detailed=detailed)
    if len(actors) > 1:
        more = ", ".join(a.name for a in actors[1:3])
        text += f"\n{texts.message('actor_more')} {more}."
    return [BotMessage(text)]


def mentioned_actor(parse: dict[str, Any], profile: Profile) -> str | None:
    """The actor the user named: the NLU's entity, else the longest alias from the profile found in the text."""
    for entity in parse.get("entities") or []:
        if entity.get("entity") == "actor" and entity.get("value") in profile.actors:
            return str(entity["value"])
    text = f" {re.sub(r'[^a-z0-9&/]+', ' ', normalise(parse.get('text') or ''))} "
    best: tuple[int, str] | None = None
    for actor in profile.actors.values():
        for alias in (*actor.aliases, normalise(actor.id.replace("_", " "))):
            needle = f" {re.sub(r'[^a-z0-9&/]+', ' ', normalise(alias)).strip()} "
            if needle.strip() and needle in text and (best is None or len(needle) > best[0]):
                best = (len(needle), actor.id)
    return best[1] if best else None


def _ranking(parse: dict[str, Any]) -> list[tuple[str, float]]:
    ranking = parse.get("intent_ranking") or [parse.get("intent") or {}]
    return [(r["name"], float(r.get("confidence") or 0.0)) for r in ranking
            if r.get("name") and r["name"] != FALLBACK_INTENT]


def report_offer(texts: _Texts) -> BotMessage:
    return BotMessage(texts.message("report_offer"), (Button(texts.message("button_report"), "/melding_starten"),))


def _topic_decision(route: Route, confidence: float, texts: _Texts) -> Decision:
    actors = texts.profile.routing[route.name]
    messages = [BotMessage(texts.answer(route.name)), *_actor_messages(actors, texts)]
    pending = None
    if route.kind == "psychosocial":
        buttons = (Button(texts.message("button_informal"), "/kies_informeel"),
                   Button(texts.message("button_formal"), "/kies_formeel"))
        messages.append(BotMessage(texts.message("clarify_procedure"), buttons))
        pending = route.name
    elif route.kind in ("violation", "reporting"):
        messages.append(report_offer(texts))
    return Decision(route.name, route.topic, actors, confidence, tuple(messages), pending_route=pending)


def _emergency_decision(route: Route, confidence: float, texts: _Texts,
                        ranked: list[tuple[Route, float]] | None = None) -> Decision:
    messages = [BotMessage(texts.answer(route.name)), BotMessage(texts.message("emergency_more"))]
    if ranked is not None and confidence < SURE_EMERGENCY:
        buttons = _topic_buttons(ranked, texts, skip=route)
        if buttons:
            messages.append(BotMessage(texts.message("emergency_not"), tuple(buttons)))
    return Decision(route.name, route.topic, texts.profile.routing[route.name], confidence, tuple(messages))


def _choice_decision(route: Route, confidence: float, texts: _Texts, pending_route: str | None) -> Decision:
    content, profile = texts.content, texts.profile
    base = content.routes[pending_route if pending_route in profile.routing else "psychosociaal_welzijn"]
    formal = route.name == "procedure_formeel"
    actors = profile.formal_routing.get(base.name, profile.routing[base.name]) if formal \
        else profile.routing[base.name]
    messages = [BotMessage(texts.message("after_formal" if formal else "after_informal")),
                *_actor_messages(actors, texts)]
    if formal:
        messages.append(report_offer(texts))
    return Decision(base.name, base.topic, actors, confidence, tuple(messages))


def _handoff_decision(route: Route, confidence: float, texts: _Texts, last_route: str | None) -> Decision:
    profile = texts.profile
    last = texts.content.routes.get(last_route or "")
    useful = last is not None and last.kind not in NO_ACTOR_KINDS and last.name in profile.routing
    actors = profile.routing[last.name] if useful and last else profile.handoff
    messages = (BotMessage(texts.message("handoff")), *_actor_messages(actors, texts))
    return Decision(route.name, route.topic, actors, confidence, messages)


def _actor_info_decision(route: Route, confidence: float, texts: _Texts, parse: dict[str, Any]) -> Decision:
    asked = mentioned_actor(parse, texts.profile)
    actors = (asked,) if asked else texts.profile.routing[route.name]
    messages = _actor_messages(actors, texts, detailed=True)
    return Decision(route.name, route.topic, actors, confidence, tuple(messages))


def _report_flow_decision(route: Route, confidence: float, texts: _Texts) -> Decision:
    """The first thing the report (or follow-up) form says; the form itself runs in actions/reporting.py."""
    from integrity.report_flow import report_texts  # report_flow builds on this module

    flow = report_texts()
    first = flow["intro"].strip() if route.name == "report_start" else flow["followup"]["ask_code"]
    return Decision(route.name, route.topic, texts.profile.routing["melden"], confidence, (BotMessage(first),))


def _smalltalk_decision(route: Route, confidence: float, texts: _Texts) -> Decision:
    text = texts.message(route.name)
    if route.name == "greet":
        text = f"{text}\n{texts.message('privacy_notice')}"
    return Decision(route.name, route.topic, (), confidence, (BotMessage(text),))


def _ranked_routes(parse: dict[str, Any], content: Content) -> list[tuple[Route, float]]:
    ranked = [(content.route_for_intent(name), conf) for name, conf in _ranking(parse)]
    return [(route, conf) for route, conf in ranked if route is not None]


def _topic_buttons(ranked: list[tuple[Route, float]], texts: _Texts, skip: Route | None = None) -> list[Button]:
    """Buttons for the likeliest answerable topics, one per contract topic."""
    options: list[Route] = []
    for route, _ in ranked:
        if route.kind in OPTION_KINDS and route != skip and all(route.topic != o.topic for o in options):
            options.append(route)
        if len(options) == FALLBACK_CHOICES:
            break
    return [Button(o.label, f"/{texts.content.intent_for_route(o.name)}") for o in options]


def _fallback_decision(parse: dict[str, Any], texts: _Texts) -> Decision:
    ranked = _ranked_routes(parse, texts.content)
    if not ranked:
        route = texts.content.routes["out_of_scope"]
        return Decision(route.name, route.topic, (), 0.0, (BotMessage(texts.message("out_of_scope")),), fallback=True)
    top, confidence = ranked[0]
    if top.kind == "emergency":  # never let a low confidence hide emergency numbers
        return _emergency_decision(top, confidence, texts, ranked)
    buttons = _topic_buttons(ranked, texts)
    if top.kind == "out_of_scope":
        messages = [BotMessage(texts.message("out_of_scope"))]
        if buttons:
            messages.append(BotMessage(texts.message("fallback_maybe"), tuple(buttons)))
        return Decision(top.name, top.topic, (), confidence, tuple(messages), fallback=True)
    buttons.append(Button(texts.message("button_none"), "/mens_spreken"))
    actors = texts.profile.fallback
    person = f"{texts.message('fallback_person')}\n{actor_card(texts.profile.actors[actors[0]], texts)}"
    messages = (BotMessage(texts.message("fallback_intro"), tuple(buttons)), BotMessage(person))
    return Decision(top.name, top.topic, actors, confidence, messages, fallback=True)


def decide(parse: dict[str, Any], profile: Profile, content: Content | None = None, *,
           pending_route: str | None = None, last_route: str | None = None) -> Decision:
    """Turn a Rasa parse result (intent, intent_ranking, entities, text) into the bot's answer.

    `pending_route` is the psychosocial route for which the bot asked "informal or formal?";
    `last_route` is the route of the previous answer (used to hand over to the right person).
    """
    texts = _Texts(profile, content or default_content())
    intent = (parse.get("intent") or {}).get("name") or FALLBACK_INTENT
    confidence = float((parse.get("intent") or {}).get("confidence") or 0.0)
    route = texts.content.route_for_intent(intent)
    ranked = _ranked_routes(parse, texts.content)
    safety = texts.content.safety_route(normalise(parse.get("text") or ""))
    if safety is not None and (route is None or route.kind != "emergency"):
        safety_confidence = next((conf for r, conf in ranked if r == safety), 0.0)
        return _emergency_decision(safety, safety_confidence, texts)
    if route is None:
        return _fallback_decision(parse, texts)
    if route.kind in NO_ACTOR_KINDS:
        return _smalltalk_decision(route, confidence, texts)
    if route.kind == "emergency":
        return _emergency_decision(route, confidence, texts, ranked)
    if route.kind == "choice":
        return _choice_decision(route, confidence, texts, pending_route)
    if route.kind == "handoff":
        return _handoff_decision(route, confidence, texts, last_route)
    if route.kind == "actor_info":
        return _actor_info_decision(route, confidence, texts, parse)
    if route.kind == "report_flow":
        return _report_flow_decision(route, confidence, texts)
    return _topic_decision(route, confidence, texts)
