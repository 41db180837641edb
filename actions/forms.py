"""What the report and follow-up forms share: the database glue (one transaction per use case, off the event
loop), the emergency check inside a form, and resetting and forgetting slots.

Nothing in actions/ logs what the user typed; every action is guarded (actions.safety), so that not even an
unexpected error puts a message, a slot or a receipt code into a log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import lru_cache
from typing import TypeVar

from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session, sessionmaker

from actions.settings import domain_settings
from integrity.content import default_content
from integrity.profiles import Profile
from integrity.reports import db
from integrity.routing import answer_text
from integrity.staff import analytics
from integrity.textnorm import normalise
from rasa_plugins.redaction import REDACT_SLOT

T = TypeVar("T")
DATE = "%d/%m/%Y"


@lru_cache(maxsize=1)
def sessions() -> sessionmaker[Session]:
    return db.session_factory(domain_settings().database_url)


analytics.use_database(lambda: sessions())  # the conversation counts go to the same database


async def in_thread(work: Callable[[Session], T]) -> T:
    """Run one use case's database work in its own transaction (`db.run`: committed before the answer, a SQLite
    lock retried) off the event loop: with its Argon2 hashing (about 0.4 s of CPU), one report or receipt-code
    check would otherwise hold up every other conversation on this action server."""

    return await asyncio.to_thread(db.run, sessions(), work)


def emergency_first(text: str, dispatcher: CollectingDispatcher, profile: Profile) -> None:
    """A report answer that reads like an emergency still gets the emergency numbers, without leaving the form."""
    route = default_content().safety_route(normalise(text or ""))
    if route is not None:  # the turn's decision goes with the message, as action_route does (bin/converse)
        decision = {"route": route.name, "topic": None, "actors": list(profile.routing[route.name]),
                    "emergency": True, "fallback": False}
        dispatcher.utter_message(text=answer_text(route.name, profile), decision=decision)


def reset(slots: tuple[str, ...]) -> list[EventType]:
    return [SlotSet(slot, None) for slot in slots]


def forget_until_now() -> list[EventType]:
    """Mark this point of the conversation: the tracker store blanks what was said up to here (rasa_plugins.
    redaction). The slot is cleared again at once: a marker in time, not a state, so a report or follow-up
    started later keeps its answers and its code until it is done and marks its own point."""
    return [SlotSet(REDACT_SLOT, True), SlotSet(REDACT_SLOT, None)]
