"""A guard for custom actions: an error must never put what the user typed into a log.

Without it an exception in an action reaches rasa_sdk, which answers HTTP 500 with the error text and the whole
request body (the tracker: every message, slot and receipt code of the conversation), and Rasa writes that
answer to its log. A guarded action instead logs only its name, the exception class and the line it came from
(never `str(exc)`, never the tracker), drops the half-made reply, tells the user in Dutch that something went
wrong on our side and returns events that keep the conversation usable (default: none).

    class ActionSomething(Action):
        @guarded
        async def run(self, dispatcher, tracker, domain): ...

    class ValidateSomeForm(FormValidationAction):
        @guarded(fallback=reject_unvalidated)   # events to return after an error
        async def run(self, dispatcher, tracker, domain):
            return await super().run(dispatcher, tracker, domain)

    events = await guarded_run("action_name", dispatcher, some_coroutine())
"""

from __future__ import annotations

import functools
import logging
import traceback
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from pathlib import Path
from typing import Any, TypeVar, overload

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

logger = logging.getLogger(__name__)
GUARDED = "__guarded__"  # attribute set on a guarded method (tests check that every action has one)
Run = TypeVar("Run", bound=Callable[..., Coroutine[Any, Any, list[EventType]]])
Fallback = Callable[[Tracker], list[EventType]]


def apology() -> str | None:
    """The Dutch text for the user (content/reporting.yml `errors.unexpected`); None if it cannot be read."""
    try:
        from integrity.report_flow import report_texts

        return str(report_texts()["errors"]["unexpected"])
    except Exception as exc:  # the content files are broken: log that, still answer the request
        logger.error("The apology text cannot be read (%s)", type(exc).__name__)
        return None


def origin(exc: BaseException) -> str:
    """Where the exception was raised: file, line and function of the innermost frame (code, not data)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "unknown"
    frame = frames[-1]
    return f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}"


def report_failure(name: str, exc: BaseException, dispatcher: CollectingDispatcher) -> None:
    """Log the failure without its details and replace whatever the action said with the apology."""
    logger.error("Action %s failed with %s at %s (details are not logged: they may hold what the user typed)",
                 name, type(exc).__name__, origin(exc))
    dispatcher.messages.clear()  # half a reply (e.g. "added") would be wrong now
    text = apology()
    if text:
        dispatcher.utter_message(text=text)


def reject_unvalidated(tracker: Tracker) -> list[EventType]:
    """For a form's validation action: clear the answer that was being validated (Rasa has already put it in its
    slot), keep every answer accepted before. The form then asks its current question again; an unchecked value
    (a receipt code that was never verified) never stays in a slot."""
    return [SlotSet(name, None) for name in tracker.slots_to_validate() if name != "requested_slot"]


def _fallback_events(fallback: Fallback | None, tracker: Tracker, name: str) -> list[EventType]:
    if fallback is None:
        return []
    try:
        return list(fallback(tracker))
    except Exception as exc:
        logger.error("The fallback of action %s failed with %s at %s", name, type(exc).__name__, origin(exc))
        return []


@overload
def guarded(run: Run) -> Run: ...


@overload
def guarded(*, fallback: Fallback | None = None) -> Callable[[Run], Run]: ...


def guarded(run: Run | None = None, *, fallback: Fallback | None = None) -> Run | Callable[[Run], Run]:
    """Decorate an action's `run(self, dispatcher, tracker, domain)` (or another method with that signature)."""

    def decorate(method: Run) -> Run:
        @functools.wraps(method)
        async def wrapper(self: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any,
                          *args: Any, **kwargs: Any) -> list[EventType]:
            try:
                return await method(self, dispatcher, tracker, domain, *args, **kwargs)
            except Exception as exc:
                name = _name_of(self)
                report_failure(name, exc, dispatcher)
                return _fallback_events(fallback, tracker, name)

        setattr(wrapper, GUARDED, True)
        return wrapper  # type: ignore[return-value]

    return decorate(run) if run is not None else decorate


async def guarded_run(name: str, dispatcher: CollectingDispatcher, work: Awaitable[list[EventType]],
                      fallback: Iterable[EventType] = ()) -> list[EventType]:
    """Await an action's work; on an error do what `guarded` does and return `fallback`."""
    try:
        return await work
    except Exception as exc:
        report_failure(name, exc, dispatcher)
        return list(fallback)


def _name_of(action: Any) -> str:
    try:
        return str(action.name())
    except Exception:
        return type(action).__name__
