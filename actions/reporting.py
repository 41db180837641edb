"""Rasa form glue for the anonymous report and the follow-up with a receipt code.

Logic and texts: integrity.report_flow and integrity/content/reporting.yml; storage: integrity.reports.
Nothing here logs what the user typed; every action is guarded (actions.safety), so that not even an unexpected
error puts a message, a slot or a receipt code into a log.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from functools import lru_cache
from typing import Any, TypeVar

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session, sessionmaker

from actions.routing import current_profile
from actions.safety import guarded, reject_unvalidated
from integrity import report_flow
from integrity.content import default_content
from integrity.profiles import Profile
from integrity.report_flow import FIELDS, interpret, report_texts
from integrity.reports import crypto, db, errors, receipts, reporter, schemas, submission, validation
from integrity.routing import answer_text
from integrity.staff import analytics
from integrity.textnorm import normalise
from rasa_plugins.redaction import REDACT_SLOT

logger = logging.getLogger(__name__)
REPORT_SLOTS = (*FIELDS, "report_confirm", "report_edit", "report_editing", "report_cancelled")
FOLLOWUP_SLOTS = ("followup_code", "followup_addition", "followup_cancelled")
DATE = "%d/%m/%Y"
T = TypeVar("T")


@lru_cache(maxsize=1)
def sessions() -> sessionmaker[Session]:
    return db.session_factory()


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


def channel_of(tracker: Tracker) -> str:
    channel = (tracker.latest_message.get("metadata") or {}).get("channel")
    return channel if channel in validation.CHANNELS else "terminal"


def submission_id(tracker: Tracker) -> str | None:
    """The same id for every attempt to send one report, so that a retry after a crash cannot store it twice.

    Derived, not stored in a slot (that would change the domain): a keyed hash of the sender, the random message
    id of the message that started the report and the time its intro ran (the first `action_report_intro` since
    the last report was sent or cancelled: an intro that resumes an unconfirmed report keeps the id). Only the
    tracker holds those, and only while the report is being made, so even with the key directory the stored id
    cannot be traced back to a sender. None if the tracker has no intro (nothing to deduplicate against).
    """
    last_user: dict[str, Any] = {}
    start = None
    for event in tracker.events:
        if event.get("event") == "user":
            last_user = event
        elif event.get("event") == "slot" and event.get("name") == REDACT_SLOT and event.get("value"):
            start = None  # that report is done: the next intro starts a new one
        elif event.get("event") == "action" and event.get("name") == "action_report_intro" and start is None:
            start = f"{last_user.get('message_id')}\0{event.get('timestamp')!r}"
    if start is None:
        return None
    secret = receipts.installation_secret().secret
    material = f"{tracker.sender_id}\0{start}".encode()
    return hashlib.blake2b(material, key=secret, digest_size=32, person=b"integrity-submit").hexdigest()


class ActionReportIntro(Action):
    """Explain what happens with a report; pre-fill the category from the topic just discussed.

    If the last report was confirmed but never finished (the action server died while storing it, so the user
    got no answer), its answers are kept and the form shows the summary again: sending it then stores it once
    (same submission id), and the user can still correct or cancel it.
    """

    def name(self) -> str:
        return "action_report_intro"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        profile = current_profile(tracker)
        channel = (tracker.latest_message.get("metadata") or {}).get("channel")
        dispatcher.utter_message(text=report_flow.intro_text(profile, channel, report_texts()))
        if tracker.get_slot("report_confirm") == "send" and not tracker.get_slot("report_cancelled"):
            return [SlotSet("report_confirm", None), SlotSet("report_edit", None), SlotSet("report_editing", None)]
        events = [*reset(REPORT_SLOTS), SlotSet("profile", profile.id)]
        analytics.note(profile.id, "report_started")  # a count only, in the background
        last = tracker.get_slot("last_route")
        if last in report_flow.form_categories():
            events.append(SlotSet("report_category", last))
        return events


class AskReportQuestion(Action):
    """`action_ask_<slot>`: the question for one field, with its buttons (subclassed per field below)."""

    field = ""

    def name(self) -> str:
        return f"action_ask_{self.field}"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        texts = report_texts()
        profile = current_profile(tracker)
        if self.field == "report_confirm":
            dispatcher.utter_message(text=report_flow.summary(tracker.current_slot_values(), profile, texts))
        buttons = report_flow.question_buttons(self.field, profile, tracker.get_slot("report_category"), texts)
        dispatcher.utter_message(text=report_flow.question_text(self.field, profile, texts),
                                 buttons=[{"title": b.title, "payload": b.payload} for b in buttons] or None)
        return []


for _field in (*FIELDS, "report_confirm", "report_edit"):
    globals()[f"AskReport{_field.title().replace('_', '')}"] = type(
        f"AskReport{_field.title().replace('_', '')}", (AskReportQuestion,), {"field": _field})


class ValidateReportForm(FormValidationAction):
    def name(self) -> str:
        return "validate_report_form"

    @guarded(fallback=reject_unvalidated)  # an error: the form keeps every answer and asks its question again
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        return await super().run(dispatcher, tracker, domain)

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> list[str]:
        if tracker.get_slot("report_cancelled"):
            return []
        return report_flow.required_fields(tracker.get_slot("report_anonymous"),
                                           bool(tracker.get_slot("report_editing")))

    def check(self, field: str, text: Any, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
        if field in report_flow.OPTIONAL and text == "":
            # A skip made earlier, validated again when the form resumes (a retry after a storage error): keep it.
            return {field: ""}
        texts, profile = report_texts(), current_profile(tracker)
        answer = interpret(field, str(text or ""), profile=profile, category=tracker.get_slot("report_category"),
                           intent=(tracker.latest_message.get("intent") or {}).get("name"), texts=texts)
        if answer.control == "cancel":
            return {field: None, "report_cancelled": True, "requested_slot": None}
        if answer.control == "back":
            previous = report_flow.previous_field(field, tracker.get_slot("report_anonymous"))
            return {field: None, **({previous: None} if previous else {})}
        if answer.control == "anonymous":
            return {field: None, "report_anonymous": "ja"}
        if answer.error:
            dispatcher.utter_message(text=answer.error)
            return {field: None}
        if field not in ("report_category", "report_route", "report_confirm", "report_edit", "report_anonymous"):
            emergency_first(str(text), dispatcher, profile)
        if field == "report_confirm" and answer.value == "edit":
            return {"report_confirm": None, "report_edit": None, "report_editing": True}
        if field == "report_edit":
            return {answer.value: None, "report_edit": answer.value, "report_confirm": None}
        if field == "report_category" and tracker.get_slot("report_route"):
            return {field: answer.value, "report_route": None}  # the suggested actors depend on the topic
        return {field: answer.value}


def _validator(field: str) -> Any:
    async def validate(self: ValidateReportForm, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                       domain: DomainDict) -> dict[str, Any]:
        return self.check(field, value, dispatcher, tracker)

    return validate


for _field in (*FIELDS, "report_confirm", "report_edit"):
    setattr(ValidateReportForm, f"validate_{_field}", _validator(_field))


def keep_answers_and_retry(tracker: Tracker) -> list[EventType]:
    """Back to the summary with every answer kept: "verzenden" tries again (with the same submission id)."""
    return [SlotSet("report_confirm", None), FollowupAction("report_form")]


class ActionReportFinish(Action):
    """After the form: store the report (or cancel), show the receipt code once, forget the conversation."""

    def name(self) -> str:
        return "action_report_finish"

    @guarded(fallback=keep_answers_and_retry)
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        texts = report_texts()
        if tracker.get_slot("report_cancelled") or tracker.get_slot("report_confirm") != "send":
            dispatcher.utter_message(text=texts["cancelled"])
            return [*reset(REPORT_SLOTS), *forget_until_now()]
        slots = tracker.current_slot_values()
        draft = schemas.ReportDraft(
            category=slots["report_category"], what_happened=slots["report_what"],
            profile_id=current_profile(tracker).id, channel=channel_of(tracker),
            when=slots.get("report_when") or "", where=slots.get("report_where") or "",
            people_involved=slots.get("report_people") or "", evidence=slots.get("report_evidence") or "",
            anonymous=slots.get("report_anonymous") != "nee", contact=slots.get("report_contact"),
            preferred_route=slots.get("report_route"))
        try:
            public_key = crypto.load_public_key()
        except crypto.KeyFileError as exc:
            logger.error("Reports are not set up: %s", exc)
            dispatcher.utter_message(text=texts["errors"]["no_keys"])
            return [*reset(REPORT_SLOTS), *forget_until_now()]
        try:
            sid = submission_id(tracker)
            submitted = await in_thread(lambda session: submission.submit_report(session, draft, public_key,
                                                                               submission_id=sid))
        except errors.SubmissionConflict as exc:  # stored, taken up, its code lost: retrying cannot help
            logger.warning("%s", exc.operator_message)
            dispatcher.utter_message(text=exc.user_message)
            return [*reset(REPORT_SLOTS), *forget_until_now()]
        except errors.ReportValidationError as exc:
            logger.warning("Report rejected: %s", exc.operator_message)
            dispatcher.utter_message(text=exc.user_message)
            return keep_answers_and_retry(tracker)
        except Exception as exc:  # the database is down or locked: keep every answer, confirm nothing
            # The class only: a database error's text can quote the statement and its parameters.
            logger.error("Report could not be stored (%s); the user keeps their answers and may retry",
                         type(exc).__name__)
            dispatcher.utter_message(text=texts["errors"]["storage"])
            return keep_answers_and_retry(tracker)
        logger.info("Report stored: reference=%s category=%s", submitted.reference, draft.category)
        analytics.note(draft.profile_id, "report_submitted")
        dispatcher.utter_message(text=texts["submitted"].strip().format(
            reference=submitted.reference, code=submitted.receipt_code, ack_due=submitted.ack_due.strftime(DATE)))
        return [*reset(REPORT_SLOTS), *forget_until_now()]


class ActionAskFollowupCode(Action):
    def name(self) -> str:
        return "action_ask_followup_code"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(text=report_texts()["followup"]["ask_code"])
        return []


def added_in_this_followup(tracker: Tracker) -> bool:
    """Whether this follow-up (since the form started) already stored an addition: then the next question is
    "anything else?". Read from the bot's own "added" message, so no extra slot is needed."""
    added = report_texts()["followup"]["added"]
    for event in reversed(tracker.events):
        if event.get("event") == "bot" and event.get("text") == added:
            return True
        if event.get("event") == "active_loop" and event.get("name") == "followup_form":
            return False
    return False


class ActionAskFollowupAddition(Action):
    def name(self) -> str:
        return "action_ask_followup_addition"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        texts = report_texts()
        if added_in_this_followup(tracker):
            done = texts["buttons"]["no_more"]
            dispatcher.utter_message(text=texts["followup"]["ask_more"], buttons=[{"title": done, "payload": done}])
        else:
            skip = texts["buttons"]["skip"]
            dispatcher.utter_message(text=texts["followup"]["ask_addition"], buttons=[{"title": skip, "payload": skip}])
        return []


def render_view(view: schemas.ReporterView) -> list[str]:
    texts = report_texts()["followup"]
    statuses = report_texts()["statuses"]
    lines = [texts["status"].format(reference=view.reference, status=statuses[view.status.value],
                                    created=view.created_at.strftime(DATE),
                                    feedback_due=view.feedback_due.strftime(DATE))]
    for message in view.messages:
        lines.append(texts["message"].format(author=texts["authors"][message.author.value],
                                             date=message.created_at.strftime(DATE), text=message.text))
    if not view.messages:
        lines.append(texts["no_messages"])
    return lines


END_FOLLOWUP = {"followup_addition": "", "followup_cancelled": True, "requested_slot": None}


class ValidateFollowupForm(FormValidationAction):
    """The receipt code (throttled against guessing), then as many additions as the reporter wants to send."""

    def name(self) -> str:
        return "validate_followup_form"

    @guarded(fallback=reject_unvalidated)  # an error: the form keeps the accepted code, asks its question again
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        return await super().run(dispatcher, tracker, domain)

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: DomainDict) -> list[str]:
        return [] if tracker.get_slot("followup_cancelled") else ["followup_code", "followup_addition"]

    async def validate_followup_code(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                     domain: DomainDict) -> dict[str, Any]:
        texts = report_texts()
        if report_flow.control_of(str(value), texts) == "cancel":
            return {"followup_code": None, "followup_cancelled": True, "requested_slot": None}
        if report_flow.is_command(str(value)):  # not a code attempt: no throttling, ask again
            dispatcher.utter_message(text=texts["errors"]["command"])
            return {"followup_code": None}
        try:
            view = await in_thread(lambda session: reporter.follow_up(session, str(value),
                                                                     throttle_key=tracker.sender_id))
        except errors.FollowUpThrottled:
            dispatcher.utter_message(text=texts["followup"]["throttled"])
            return {"followup_code": None, "followup_cancelled": True, "requested_slot": None}
        except errors.UnknownReceipt:
            dispatcher.utter_message(text=texts["followup"]["unknown"])
            return {"followup_code": None}
        for line in render_view(view):
            dispatcher.utter_message(text=line)
        analytics.note(current_profile(tracker).id, "followup")
        return {"followup_code": str(value)}

    async def validate_followup_addition(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                         domain: DomainDict) -> dict[str, Any]:
        """Store one addition and ask for the next; skip, "nee", "bedankt" or "stop" end the follow-up."""
        texts = report_texts()
        text = str(value)
        if report_flow.control_of(text, texts) == "cancel" or texts.is_word(text, "skip") \
                or texts.is_word(text, "done"):
            return {"followup_addition": ""}
        if report_flow.is_command(text):  # a button payload or /help is no message for the integrity team
            dispatcher.utter_message(text=texts["errors"]["command"])
            return {"followup_addition": None}
        # The slot only ever holds a code that validate_followup_code accepted (with throttling) in this follow-up.
        code = tracker.get_slot("followup_code")
        if not code:
            dispatcher.utter_message(text=texts["followup"]["code_lost"])
            return {"followup_code": None, "followup_addition": None}
        emergency_first(text, dispatcher, current_profile(tracker))
        try:
            # No throttle key: this code was accepted already, an error now is no guess and must not block the
            # reporter (a wrong code is only ever typed at the code question).
            await in_thread(lambda session: reporter.add_reporter_message(session, code, text, throttle_key=None))
        except errors.ReportClosed:
            dispatcher.utter_message(text=texts["followup"]["closed"])
            return dict(END_FOLLOWUP)
        except (errors.ReportValidationError, errors.ReportBusy) as exc:  # too long, empty, busy: try again
            dispatcher.utter_message(text=exc.user_message)
            return {"followup_addition": None}
        except errors.UnknownReceipt:  # the report is gone (purged) or the code cannot open it any more
            logger.warning("Follow-up addition refused: the accepted receipt code no longer opens a report")
            dispatcher.utter_message(text=texts["followup"]["code_lost"])
            return {"followup_code": None, "followup_addition": None}
        except errors.ReportError as exc:
            logger.warning("Follow-up addition refused: %s", type(exc).__name__)
            dispatcher.utter_message(text=exc.user_message)
            return dict(END_FOLLOWUP)
        dispatcher.utter_message(text=texts["followup"]["added"])
        return {"followup_addition": None}  # ask whether there is more


class ActionFollowupFinish(Action):
    def name(self) -> str:
        return "action_followup_finish"

    @guarded(fallback=lambda tracker: [*reset(FOLLOWUP_SLOTS), *forget_until_now()])
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(text=report_texts()["followup"]["done"])
        return [*reset(FOLLOWUP_SLOTS), *forget_until_now()]
