"""From what the NLU understood, and what the conversation already holds, to what the bot says and whom it points to.

One function, `decide`, serves the chat (actions/) and `bin/ask`, so both always agree. The conversation state
(`DialogueState`: topic, situation facts, stage, blocks shown, open question) goes in and the updated state comes
out with the decision; `bin/ask` passes a fresh state for every message.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from integrity import dialogue
from integrity.actor_mentions import profile_matcher
from integrity.content import Content, Route, default_content
from integrity.dialogue_state import DialogueState
from integrity.messages import BotMessage, Button
from integrity.profiles import Profile
from integrity.replies import (
    Decision,
    Texts,
    actor_message,
    asks_permission,
    more_button,
    report_offer,
)
from integrity.report_flow import report_texts
from integrity.situation import facts_in
from integrity.textnorm import normalise

__all__ = ["Decision", "answer_text", "decide", "mentioned_actor"]

FALLBACK_INTENT = "nlu_fallback"
NO_ACTOR_KINDS = ("smalltalk", "out_of_scope")
OPTION_KINDS = ("psychosocial", "violation", "advice", "reporting", "actor_info")  # offered as "did you mean"
TOPIC_KINDS = ("psychosocial", "violation", "advice", "reporting")
AFTER_SHOCK = "psychosociaal_welzijn"  # the route after an emergency has passed, unless the message says more
FALLBACK_CHOICES = 2
PLAUSIBLE = 0.12  # a topic below this confidence is not offered as "did you mean"
SURE_EMERGENCY = 0.7  # an emergency intent less confident than this asks "are you in danger now?" first
FOLLOWUP_FLOOR = 0.25  # in a topic, a follow-up (or another topic) this likely is answered under the threshold
TELEGRAM_NOTE_AFTER = ("greet", "vraag_anoniem")  # answers that add the Telegram line on Telegram only
SURE_OUT_OF_SCOPE = 0.75  # in a topic, a less certain out-of-scope message gets "I don't know" plus the human


def answer_text(route: str, profile: Profile, content: Content | None = None) -> str:
    """The answer for a route: the organisation's own wording if its profile has one, else the common text."""
    return profile.answers.get(route) or (content or default_content()).answers[route]


def mentioned_actor(parse: dict[str, Any], profile: Profile) -> str | None:
    """The actor the user named, found with the profile's names and aliases (integrity/actor_mentions.py)."""
    return profile_matcher(profile).best(parse.get("text") or "")


def sure_emergency(confidence: float, ranked: list[tuple[Route, float]]) -> bool:
    """Confident enough to lead with emergency numbers. A clear winner at 0.5 is not enough: everyday sentences
    ("soms zou ik alles willen laten vallen") reach that too (docs/dialogue.md)."""
    return confidence >= SURE_EMERGENCY


def _ranking(parse: dict[str, Any]) -> list[tuple[str, float]]:
    ranking = parse.get("intent_ranking") or [parse.get("intent") or {}]
    return [(r["name"], float(r.get("confidence") or 0.0)) for r in ranking
            if r.get("name") and r["name"] != FALLBACK_INTENT]


def _ranked_routes(parse: dict[str, Any], content: Content) -> list[tuple[Route, float]]:
    ranked = [(content.route_for_intent(name), conf) for name, conf in _ranking(parse)]
    return [(route, conf) for route, conf in ranked if route is not None]


def topic_decision(route: Route, confidence: float, texts: Texts, state: DialogueState, text: str = "",
                   prefix: str = "") -> Decision:
    """A topic answer, one actor card, and the question or offer that fits the kind of topic and the situation."""
    facts = facts_in(text, kind=route.kind)
    state = state.with_topic(route.name, facts, kept=dialogue.kept_facts(route, state, texts.content))
    kind = dialogue.effective_kind(route, state.facts, texts)
    state = dialogue.skip_steps_taken(kind, facts, state)
    actors = dialogue.actors_for(route, state, texts)
    key = dialogue.answer_key(route, state.facts, texts)
    block = f"answer:{key}"
    if state.seen(block):
        first = BotMessage(texts.message("answer_seen").format(label=route.label), (more_button(texts),))
    else:
        verdict = texts.verdict(route.name) if asks_permission(text) else None
        body = dialogue.situation_answer(route, facts, state, texts) or texts.answer(key)
        if "manager_involved" in state.facts and kind in ("violation", "reporting", "psychosocial"):
            body = f"{body}\n{texts.message('manager_note')}"
        first = BotMessage(" ".join(p for p in (prefix, verdict, body) if p))
    messages = [first, actor_message(actors, texts, state.shown)]
    state = state.showing(block, f"card:{actors[0]}")
    pending = None
    if kind == "psychosocial" and state.stage == 0:
        buttons = (Button(texts.message("button_informal"), "/kies_informeel"),
                   Button(texts.message("button_formal"), "/kies_formeel"))
        messages.append(BotMessage(texts.message("clarify_procedure"), buttons))
        pending = route.name
        state = state.asking("procedure", route.name)
    elif dialogue.offers_report(kind, state):
        messages.append(report_offer(texts))
    return Decision(route.name, route.topic, actors, confidence, tuple(messages), pending_route=pending, state=state)


def emergency_decision(route: Route, confidence: float, texts: Texts, state: DialogueState) -> Decision:
    messages = (BotMessage(texts.answer(route.name)), BotMessage(texts.message("emergency_more")))
    return Decision(route.name, route.topic, texts.profile.routing[route.name], confidence, messages,
                    emergency=True, state=state.asking("after_emergency", route.name))


def after_emergency(parse: dict[str, Any], texts: Texts, state: DialogueState,
                    ranked: list[tuple[Route, float]]) -> Decision:
    """"It's over, he's safe now; who can I talk to?" right after the numbers: the normal answer for what was
    said (the likeliest topic, else the well-being route after a shock), not the numbers again."""
    text = parse.get("text") or ""
    topic = next((r for r, conf in ranked if r.kind in TOPIC_KINDS and conf >= PLAUSIBLE), None)
    return topic_decision(topic or texts.content.routes[AFTER_SHOCK], ranked[0][1] if ranked else 0.0, texts,
                          state.asking(None), text)


def danger_question(route: Route, confidence: float, texts: Texts, state: DialogueState,
                    ranked: list[tuple[Route, float]], text: str = "") -> Decision:
    """An uncertain emergency: ask first. Yes shows the emergency numbers, no gives the normal answer."""
    alternative = next((r for r, conf in ranked if r.kind in OPTION_KINDS and conf >= PLAUSIBLE), None)
    if alternative is not None and alternative.kind in TOPIC_KINDS:  # "no" answers it with what was said here
        state = state.knowing(facts_in(text, kind=alternative.kind))
    buttons = (Button(texts.message("button_danger_yes"), "/bevestigen"),
               Button(texts.message("button_danger_no"), "/ontkennen"))
    topic = alternative.topic if alternative else dialogue.current_topic(state, texts.content) or route.topic
    new_state = state.asking("danger", route.name, alternative.name if alternative else None)
    return Decision(route.name, topic, (), confidence, (BotMessage(texts.message("danger_question"), buttons),),
                    state=new_state)


def _choice_decision(route: Route, confidence: float, texts: Texts, state: DialogueState) -> Decision:
    content, profile = texts.content, texts.profile
    current = state.pending_route or state.route
    base_name = current if current in profile.routing and content.routes[current].kind == "psychosocial" \
        else "psychosociaal_welzijn"
    base = content.routes[base_name]
    formal = route.name == "procedure_formeel"
    ladder = content.stages["psychosocial"]
    state = replace(state.with_topic(base.name, frozenset(), kept=state.facts),
                    stage=ladder.index("formeel") if formal else 0)
    actors = dialogue.actors_for(base, state, texts)
    messages = (BotMessage(texts.message("after_formal" if formal else "after_informal")),
                actor_message(actors, texts, state.shown))
    state = state.showing(f"card:{actors[0]}")
    return Decision(base.name, base.topic, actors, confidence, messages, state=state)


def _handoff_decision(route: Route, confidence: float, texts: Texts, state: DialogueState) -> Decision:
    current = texts.content.routes.get(state.route or "")
    useful = current is not None and current.kind not in NO_ACTOR_KINDS and current.name in texts.profile.routing
    actors = dialogue.actors_for(current, state, texts) if useful and current else \
        dialogue.without_avoided(texts.profile.handoff, state, texts)
    messages = (BotMessage(texts.message("handoff")), actor_message(actors, texts, force=True))
    return Decision(route.name, route.topic, actors, confidence, messages,
                    state=state.asking(None).showing(f"card:{actors[0]}"))


def _actor_info_decision(route: Route, confidence: float, texts: Texts, parse: dict[str, Any],
                         state: DialogueState) -> Decision:
    asked = mentioned_actor(parse, texts.profile)
    actors = (asked,) if asked else texts.profile.routing[route.name]
    messages = (actor_message(actors, texts, detailed=True),)
    return Decision(route.name, route.topic, actors, confidence, messages,
                    state=state.asking(None).showing(f"card:{actors[0]}"))


def _report_flow_decision(route: Route, confidence: float, texts: Texts, state: DialogueState) -> Decision:
    """The first thing the report (or follow-up) form says; the forms themselves run in actions/."""
    flow = report_texts()
    first = flow["intro"].strip() if route.name == "report_start" else flow["followup"]["ask_code"]
    return Decision(route.name, route.topic, texts.profile.report_recipients, confidence, (BotMessage(first),),
                    state=state.asking(None))


def _smalltalk_decision(route: Route, confidence: float, texts: Texts, state: DialogueState) -> Decision:
    text = texts.message(route.name)
    if route.name == "greet":
        text = f"{text}\n{texts.message('privacy_notice')}"
    return Decision(route.name, route.topic, (), confidence, (BotMessage(text),), state=state.asking(None))


def _topic_buttons(ranked: list[tuple[Route, float]], texts: Texts, skip: Route | None = None) -> list[Button]:
    """Buttons for the likeliest answerable topics the classifier really considers, one per contract topic."""
    options: list[Route] = []
    for route, conf in ranked:
        if conf < PLAUSIBLE:
            break
        if route.kind in OPTION_KINDS and route != skip and all(route.topic != o.topic for o in options):
            options.append(route)
        if len(options) == FALLBACK_CHOICES:
            break
    return [Button(o.label, f"/{texts.content.intent_for_route(o.name)}") for o in options]


def _fallback_decision(parse: dict[str, Any], texts: Texts, state: DialogueState) -> Decision:
    ranked = _ranked_routes(parse, texts.content)
    if not ranked:
        route = texts.content.routes["out_of_scope"]
        return Decision(route.name, route.topic, (), 0.0, (BotMessage(texts.message("out_of_scope")),),
                        fallback=True, state=state.asking(None))
    top, confidence = ranked[0]
    # What the message says about the situation holds even when its topic is unsure (a button comes next).
    state = state.knowing(facts_in(parse.get("text") or "", kind=top.kind)) if top.kind in OPTION_KINDS else state
    if state.pending == "danger" and state.pending_route in texts.content.routes and \
            (top.name == "bevestigen" or top.kind == "emergency"):  # an unsure "yes" to "are you in danger?"
        return emergency_decision(texts.content.routes[state.pending_route], confidence, texts, state)
    if top.kind == "emergency":  # a low confidence never hides emergency numbers: it asks first
        return danger_question(top, confidence, texts, state, ranked, parse.get("text") or "")
    if state.route and top.kind == "followup" and confidence >= FOLLOWUP_FLOOR:
        return dialogue.followup_decision(top, confidence, texts, state, parse.get("text") or "",
                                          mentioned_actor(parse, texts.profile))
    if state.route and top.kind in TOPIC_KINDS and top.name != state.route and confidence >= FOLLOWUP_FLOOR:
        return topic_decision(top, confidence, texts, state, parse.get("text") or "")  # a switch, said unsurely
    buttons = _topic_buttons(ranked, texts)
    if state.route:
        return dialogue.unknown_followup(confidence, texts, state, buttons)
    if top.kind == "out_of_scope":
        messages = [BotMessage(texts.message("out_of_scope"))]
        if buttons:
            messages.append(BotMessage(texts.message("fallback_maybe"), tuple(buttons)))
        return Decision(top.name, top.topic, (), confidence, tuple(messages), fallback=True, state=state.asking(None))
    buttons.append(Button(texts.message("button_none"), "/mens_spreken"))
    actors = texts.profile.fallback
    person = f"{texts.message('fallback_person')}\n{actor_message(actors, texts, others=False).text}"
    replies = (BotMessage(texts.message("fallback_intro"), tuple(buttons)), BotMessage(person))
    return Decision(top.name, top.topic, actors, confidence, replies, fallback=True, state=state.asking(None))


def _answer_decision(route: Route, confidence: float, texts: Texts, state: DialogueState) -> Decision:
    """A bare yes, no or "tell me more": what it means depends on the question the bot asked."""
    content = texts.content
    if state.pending == "danger" and state.pending_route in content.routes:
        if route.name == "bevestigen":
            return emergency_decision(content.routes[state.pending_route], confidence, texts, state)
        if route.name == "ontkennen":
            if state.alternative in content.routes:
                return topic_decision(content.routes[state.alternative], confidence, texts, state.asking(None),
                                      prefix=texts.message("danger_no"))
            return dialogue.no_topic(route, confidence, texts, state.asking(None), texts.message("danger_no"))
    if route.name == "meer_info":
        return dialogue.more_decision(route, confidence, texts, state)
    text = texts.message("affirm" if route.name == "bevestigen" else "deny")
    return Decision(route.name, route.topic, (), confidence, (BotMessage(text),), state=state)


def decide(parse: dict[str, Any], profile: Profile, content: Content | None = None, *,
           state: DialogueState | None = None, pending_route: str | None = None,
           last_route: str | None = None, channel: str | None = None) -> Decision:
    """Turn a Rasa parse result (intent, intent_ranking, entities, text) into the bot's answer.

    `state` is what the conversation holds so far (a fresh one if None). `pending_route` (the psychosocial route
    for which the bot asked "informal or formal?") and `last_route` (the route of the previous answer) are the
    older, narrower way to pass the same and fill in a missing state. `channel` ("telegram", "web", ...) decides
    texts that apply to one channel only.
    """
    texts = Texts(profile, content or default_content())
    decision = _decide(parse, texts, state=state, pending_route=pending_route, last_route=last_route)
    if channel == "telegram" and (decision.route in TELEGRAM_NOTE_AFTER or
                                  (parse.get("intent") or {}).get("name") in TELEGRAM_NOTE_AFTER):
        note = BotMessage(texts.message("telegram_note"))
        decision = replace(decision, messages=(*decision.messages, note))
    return decision


def _decide(parse: dict[str, Any], texts: Texts, *, state: DialogueState | None,
            pending_route: str | None, last_route: str | None) -> Decision:
    profile = texts.profile
    state = state or DialogueState()
    if pending_route and not state.pending:
        state = state.asking("procedure", pending_route)
    if last_route and not state.route and last_route in texts.content.routes \
            and texts.content.routes[last_route].kind in OPTION_KINDS:
        state = replace(state, route=last_route)
    text = parse.get("text") or ""
    intent = (parse.get("intent") or {}).get("name") or FALLBACK_INTENT
    confidence = float((parse.get("intent") or {}).get("confidence") or 0.0)
    route = texts.content.route_for_intent(intent)
    ranked = _ranked_routes(parse, texts.content)
    safety = texts.content.safety_route(normalise(text))
    if state.pending == "after_emergency" and safety is None and "danger_over" in facts_in(text):
        return after_emergency(parse, texts, state, ranked)
    if safety is not None and (route is None or route.kind != "emergency" or not sure_emergency(confidence, ranked)):
        safety_confidence = next((conf for r, conf in ranked if r == safety), 0.0)
        return emergency_decision(safety, safety_confidence, texts, state)
    if route is None:
        return _fallback_decision(parse, texts, state)
    if route.kind == "emergency":
        if sure_emergency(confidence, ranked):
            return emergency_decision(route, confidence, texts, state)
        return danger_question(route, confidence, texts, state, ranked, text)
    if route.kind == "out_of_scope" and state.route and confidence < SURE_OUT_OF_SCOPE:
        return dialogue.unknown_followup(confidence, texts, state, _topic_buttons(ranked, texts))
    if route.kind in NO_ACTOR_KINDS:
        return _smalltalk_decision(route, confidence, texts, state)
    if route.kind == "answer":
        return _answer_decision(route, confidence, texts, state)
    if route.kind == "followup":
        return dialogue.followup_decision(route, confidence, texts, state, text, mentioned_actor(parse, profile))
    if dialogue.stays_in_topic(route, state, texts.content):
        context = texts.content.routes["toelichting"]
        return dialogue.followup_decision(context, confidence, texts, state, text)
    if route.kind == "choice":
        return _choice_decision(route, confidence, texts, state)
    if route.kind == "handoff":
        return _handoff_decision(route, confidence, texts, state)
    if route.kind == "actor_info":
        return _actor_info_decision(route, confidence, texts, parse, state)
    if route.kind == "report_flow":
        return _report_flow_decision(route, confidence, texts, state)
    return topic_decision(route, confidence, texts, state, text)
