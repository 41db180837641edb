"""What the assistant remembers of a conversation between turns: topic, situation, how far the person went.

Kept in one Rasa slot (`dialogue`, see domain.yml) as a small JSON object. It holds no user text: only route
names, fact names, a stage number and the ids of the blocks already shown.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

PENDING_QUESTIONS = ("procedure", "danger", "after_emergency")


@dataclass(frozen=True)
class DialogueState:
    route: str | None = None  # the current topic route (pesten, fraude_corruptie, ...); None before any topic
    stage: int = 0  # index in the escalation ladder of the route's kind (content/topics.yml `stages`)
    facts: frozenset[str] = frozenset()  # situation facts (content/situations.yml) that hold for this topic
    shown: tuple[str, ...] = ()  # ids of the blocks already shown in this conversation
    pending: str | None = None  # "procedure" (informal or formal?), "danger" (in danger now?), "after_emergency"
    pending_route: str | None = None  # the route the open question is about
    alternative: str | None = None  # "danger": the route to answer when the person is not in danger

    def as_slot(self) -> dict[str, Any]:
        return {"route": self.route, "stage": self.stage, "facts": sorted(self.facts), "shown": list(self.shown),
                "pending": self.pending, "pending_route": self.pending_route, "alternative": self.alternative}

    @classmethod
    def from_slot(cls, value: Any) -> DialogueState:
        """Read the slot; anything malformed (an old or hand-made tracker) gives a fresh state, never an error."""
        if not isinstance(value, dict):
            return cls()

        def text(key: str) -> str | None:
            item = value.get(key)
            return item if isinstance(item, str) and item else None

        stage = value.get("stage")
        facts = value.get("facts")
        shown = value.get("shown")
        pending = text("pending")
        return cls(
            route=text("route"),
            stage=stage if isinstance(stage, int) and 0 <= stage < 10 else 0,
            facts=frozenset(f for f in facts if isinstance(f, str)) if isinstance(facts, list) else frozenset(),
            shown=tuple(s for s in shown if isinstance(s, str))[-50:] if isinstance(shown, list) else (),
            pending=pending if pending in PENDING_QUESTIONS else None,
            pending_route=text("pending_route"),
            alternative=text("alternative"),
        )

    def seen(self, block: str) -> bool:
        return block in self.shown

    def showing(self, *blocks: str) -> DialogueState:
        new = tuple(b for b in blocks if b not in self.shown)
        return replace(self, shown=(*self.shown, *new)[-50:])

    def with_topic(self, route: str, facts: frozenset[str], *, kept: frozenset[str]) -> DialogueState:
        """A topic answer: a new topic starts at the first stage and keeps only `kept` of the facts before it
        (all of them before any topic: a clarifying turn); the same topic keeps its stage and its facts."""
        same = route == self.route
        carried = self.facts if same or self.route is None else kept & self.facts
        return replace(self, route=route, stage=self.stage if same else 0, facts=carried | facts,
                       pending=None, pending_route=None, alternative=None)

    def asking(self, pending: str | None, pending_route: str | None = None,
               alternative: str | None = None) -> DialogueState:
        return replace(self, pending=pending, pending_route=pending_route, alternative=alternative)

    def at_stage(self, stage: int) -> DialogueState:
        return replace(self, stage=max(0, stage))

    def knowing(self, facts: frozenset[str]) -> DialogueState:
        return replace(self, facts=self.facts | facts)
