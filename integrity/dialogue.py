"""The conversation around a question: the situation facts, how far the person went, and follow-up questions.

routing.decide calls in here for everything that depends on what was said before: which actors fit the topic
*and* the situation (never the manager the user names as the problem), the answer text for a ROUTE@FACT, the
next step of the escalation ladder, and the answer to a follow-up within the current topic.
"""

from __future__ import annotations

from integrity.content import Content, Route
from integrity.dialogue_state import DialogueState
from integrity.followups import earlier_stages, followup_text, stage_name
from integrity.messages import BotMessage, Button
from integrity.replies import (
    Decision,
    Texts,
    actor_message,
    first_sentence,
    more_button,
    report_offer,
)
from integrity.situation import answered_with, conversation_facts, fact_kind, facts_in, ordered

MANAGER = "leidinggevende"
GENERAL_WELLBEING = "psychosociaal_welzijn"
FAMILY = {"psychosocial": "psychosocial", "violation": "violation", "reporting": "violation", "advice": "advice"}
# Follow-ups that point to a (possibly) different person: show that person's card, not a pointer.
NEW_PERSON = ("vraag_volgende_stap", "vraag_chef_betrokken", "represailles", "vraag_intern_eerst",
              "vraag_bereikbaarheid", "eigen_situatie")
REPORT_FOLLOWUPS = ("ik_getuige",)  # after these, a violation topic offers the report form again
TOPIC_KINDS = ("psychosocial", "violation", "advice", "reporting")


def current_topic(state: DialogueState, content: Content) -> str | None:
    route = content.routes.get(state.route or "")
    return route.topic if route else None


def stays_in_topic(route: Route, state: DialogueState, content: Content) -> bool:
    """The general well-being intent inside a more specific psychosocial topic ("ik wil niet meer op die dienst
    werken" while talking about bullying) adds to that topic; it does not switch away from it."""
    current = content.routes.get(state.route or "")
    return route.name == GENERAL_WELLBEING and current is not None and current.kind == "psychosocial" \
        and current.name != GENERAL_WELLBEING


def kept_facts(route: Route, state: DialogueState, content: Content) -> frozenset[str]:
    """What a new topic keeps of the facts before it: who the people are always; the rest (my own situation, a
    step already taken) only within the same family of topics."""
    old = content.routes.get(state.route or "")
    if old is not None and FAMILY.get(old.kind) == FAMILY.get(route.kind):
        return state.facts
    return conversation_facts(state.facts)


def effective_kind(route: Route, facts: frozenset[str], texts: Texts) -> str:
    """A fact can change the kind of answer: police violence is an integrity violation, not a well-being matter."""
    for fact in ordered(facts):
        kind = fact_kind(fact)
        key = f"{route.name}@{fact}"
        if kind and (key in texts.profile.situation_routing or key in texts.profile.answers):
            return kind
    return route.kind


def answer_key(route: Route, facts: frozenset[str], texts: Texts) -> str:
    for fact in ordered(facts):
        if texts.has_answer(f"{route.name}@{fact}"):
            return f"{route.name}@{fact}"
    return route.name


def situation_answer(route: Route, new_facts: frozenset[str], state: DialogueState, texts: Texts) -> str | None:
    """The follow-up answer that a fact stated in this topic message calls for (e.g. reprisals), if any."""
    for fact in ordered(new_facts):
        followup = answered_with(fact)
        if followup:
            kind = effective_kind(route, state.facts, texts)
            found = followup_text(followup, texts.profile, route=route.name, kind=kind,
                                  stage=stage_name(texts.content, kind, state.stage))
            if found:
                return found[1]
    return None


def without_avoided(actors: tuple[str, ...], state: DialogueState, texts: Texts) -> tuple[str, ...]:
    """Never suggest the person the user names as the problem (today: their own manager)."""
    if "manager_involved" not in state.facts:
        return actors
    kept = tuple(a for a in actors if a != MANAGER)
    return kept or tuple(a for a in texts.profile.handoff if a != MANAGER) or texts.profile.fallback


def actors_for(route: Route, state: DialogueState, texts: Texts) -> tuple[str, ...]:
    """The actors for a topic in this situation and at this stage, most fitting first: a later stage first (the
    person one step further), then a situation fact, then the topic's own list; never the person to avoid."""
    profile = texts.profile
    kind = effective_kind(route, state.facts, texts)
    stage = stage_name(texts.content, kind, state.stage)
    chosen: tuple[str, ...] | None = None
    if state.stage > 0 and stage:
        chosen = profile.situation_routing.get(f"{route.name}.{stage}") or \
            profile.situation_routing.get(f"{kind}.{stage}") or None
        if chosen is None and stage == "formeel":
            chosen = profile.formal_routing.get(route.name)
    for fact in ordered(state.facts):
        chosen = chosen or profile.situation_routing.get(f"{route.name}@{fact}") or None
    return without_avoided(chosen or profile.routing[route.name], state, texts)


def skip_steps_taken(kind: str, new_facts: frozenset[str], state: DialogueState) -> DialogueState:
    """"I already reported it / already saw the confidant, nothing changed": start one step further."""
    if "already_reported" in new_facts and kind in ("psychosocial", "violation", "reporting"):
        return state.at_stage(max(state.stage, 1))
    return state


def offers_report(kind: str, state: DialogueState) -> bool:
    """The anonymous report form is for integrity violations someone else commits, not for one's own situation."""
    return kind in ("violation", "reporting") and "own_situation" not in state.facts


def no_topic(route: Route, confidence: float, texts: Texts, state: DialogueState, prefix: str = "") -> Decision:
    text = " ".join(p for p in (prefix, texts.message("no_topic")) if p)
    return Decision(route.name, route.topic, (), confidence, (BotMessage(text),), state=state)


def _standalone(route: Route, confidence: float, texts: Texts, state: DialogueState,
                named: str | None = None) -> Decision:
    """A follow-up with no topic before it: answer it in general, with the person the profile names for it."""
    found = followup_text(route.name, texts.profile, route=None, kind=None, stage=None)
    own_topic = route.name if route.name in texts.profile.followup_routing else None
    topic_route = next((r for r in texts.content.routes.values() if r.topic == route.topic and r.name == r.topic), None)
    actors = texts.profile.followup_routing[own_topic] if own_topic else \
        texts.profile.routing.get(topic_route.name, ()) if topic_route else ()
    if named and route.name == "vraag_bereikbaarheid":
        actors = (named,)
    actors = without_avoided(actors, state, texts) if actors else ()
    if found is None or route.name == "toelichting":
        return no_topic(route, confidence, texts, state)
    messages = [BotMessage(found[1])]
    if actors:
        messages.append(actor_message(actors, texts, state.shown))
        state = state.showing(f"card:{actors[0]}")
    return Decision(route.name, route.topic, actors, confidence, tuple(messages),
                    state=state.showing(f"followup:{route.name}:{found[0]}"))


def followup_decision(route: Route, confidence: float, texts: Texts, state: DialogueState, text: str,
                      named: str | None = None) -> Decision:
    """Answer a follow-up question within the current topic, its situation and its stage."""
    content = texts.content
    state = state.asking(None).knowing(facts_in(text, intent=route.name))
    current = content.routes.get(state.route or "")
    if current is None or current.name not in texts.profile.routing:
        own_topic = content.routes.get(route.topic)  # "ben ik beschermd?" first: the topic melden starts here
        if route.name == "toelichting" or own_topic is None or own_topic.kind not in TOPIC_KINDS:
            return _standalone(route, confidence, texts, state, named)
        state = state.with_topic(own_topic.name, frozenset(), kept=state.facts)
        current = own_topic
    kind = effective_kind(current, state.facts, texts)
    ladder = content.stages.get(kind, ())
    if route.name == "vraag_volgende_stap" and ladder:
        state = state.at_stage(min(state.stage + 1, len(ladder) - 1))
    stage = stage_name(content, kind, state.stage)
    found = followup_text(route.name, texts.profile, route=current.name, kind=kind, stage=stage,
                          facts=ordered(state.facts), earlier=earlier_stages(content, kind, state.stage))
    if found is None:
        return unknown_followup(confidence, texts, state, [])
    key, answer = found
    specific = texts.profile.followup_routing.get(f"{route.name}.{kind}") or \
        texts.profile.followup_routing.get(route.name)
    actors = without_avoided(specific, state, texts) if specific else actors_for(current, state, texts)
    if named and route.name == "vraag_bereikbaarheid":  # "is Spreekbuis ook op zaterdag open?": that actor's hours
        actors = without_avoided((named,), state, texts)
    block = f"followup:{route.name}:{key}"
    first = BotMessage(f"{first_sentence(answer)} {texts.message('answer_seen').format(label=current.label)}",
                       (more_button(texts),)) if state.seen(block) else BotMessage(answer)
    messages = [first, actor_message(actors, texts, state.shown, force=route.name in NEW_PERSON,
                                     detailed=route.name == "vraag_bereikbaarheid", others=False)]
    if route.name in REPORT_FOLLOWUPS and offers_report(kind, state):
        messages.append(report_offer(texts))
    state = state.showing(block, f"card:{actors[0]}")
    return Decision(current.name, current.topic, actors, confidence, tuple(messages), state=state)


def unknown_followup(confidence: float, texts: Texts, state: DialogueState, buttons: list[Button]) -> Decision:
    """A question in the current topic that I cannot answer: say so, and name the human for this topic."""
    current = texts.content.routes.get(state.route or "")
    actors = actors_for(current, state, texts) if current and current.name in texts.profile.routing else \
        without_avoided(texts.profile.fallback, state, texts)
    name = texts.actor(actors[0]).name
    honest = BotMessage(texts.message("unknown_followup").format(name=name), tuple(buttons))
    card = actor_message(actors, texts, state.shown, others=False)
    route_name, topic = (current.name, current.topic) if current else ("out_of_scope", "out_of_scope")
    return Decision(route_name, topic, actors, confidence, (honest, card), fallback=True,
                    state=state.asking(None).showing(f"card:{actors[0]}"))


def more_decision(route: Route, confidence: float, texts: Texts, state: DialogueState) -> Decision:
    """"Meer weten?": the full answer of the current topic and the detailed card, even if shown before."""
    current = texts.content.routes.get(state.route or "")
    if current is None or current.name not in texts.profile.routing:
        return Decision(route.name, route.topic, (), confidence, (BotMessage(texts.message("more_none")),),
                        state=state)
    actors = actors_for(current, state, texts)
    messages = (BotMessage(texts.answer(answer_key(current, state.facts, texts))),
                actor_message(actors, texts, detailed=True, others=False))
    return Decision(current.name, current.topic, actors, confidence, messages, state=state.asking(None))
