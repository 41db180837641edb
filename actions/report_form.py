"""Rasa form glue for the anonymous report: intro, one question per field, validation, storing it.

Logic and texts: integrity.report_flow and integrity/content/reporting.yml; storage: integrity.reports.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.answer import current_profile
from actions.forms import DATE, emergency_first, forget_until_now, in_thread, reset
from actions.safety import guarded, reject_unvalidated
from integrity import report_flow
from integrity.report_flow import FIELDS, interpret, report_texts
from integrity.reports import errors, evidence, receipts, schemas, validation
from integrity.staff import analytics
from rasa_plugins.redaction import REDACT_SLOT

logger = logging.getLogger(__name__)
REPORT_SLOTS = (*FIELDS, "report_confirm", "report_edit", "report_editing", "report_cancelled")


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
            summary = report_flow.summary(tracker.current_slot_values(), profile, texts)
            files = await waiting_files(tracker)
            if files:
                summary += "\n" + texts["files"]["summary"].format(files="; ".join(files))
            dispatcher.utter_message(text=summary)
        buttons = report_flow.question_buttons(self.field, profile, tracker.get_slot("report_category"), texts)
        dispatcher.utter_message(text=report_flow.question_text(self.field, profile, texts),
                                 buttons=[{"title": b.title, "payload": b.payload} for b in buttons] or None)
        return []


async def waiting_files(tracker: Tracker) -> list[str]:
    """The files this chat sent so far, for the summary before "Verzenden" (none if the store cannot be read)."""
    try:
        files = await in_thread(lambda session: evidence.pending(session, tracker.sender_id))
    except Exception as exc:  # the summary must not fail on this; the files stay waiting all the same
        logger.warning("Waiting files not listed in the summary (%s)", type(exc).__name__)
        return []
    return [f"{file.label} ({file.metadata_summary})" for file in files]


class AskReportCategory(AskReportQuestion):
    field = "report_category"


class AskReportWhat(AskReportQuestion):
    field = "report_what"


class AskReportWhen(AskReportQuestion):
    field = "report_when"


class AskReportWhere(AskReportQuestion):
    field = "report_where"


class AskReportPeople(AskReportQuestion):
    field = "report_people"


class AskReportEvidence(AskReportQuestion):
    field = "report_evidence"


class AskReportAnonymous(AskReportQuestion):
    field = "report_anonymous"


class AskReportContact(AskReportQuestion):
    field = "report_contact"


class AskReportRoute(AskReportQuestion):
    field = "report_route"


class AskReportConfirm(AskReportQuestion):
    field = "report_confirm"


class AskReportEdit(AskReportQuestion):
    field = "report_edit"


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
        if field == "report_edit" and answer.value:
            return {answer.value: None, "report_edit": answer.value, "report_confirm": None}
        if field == "report_category" and tracker.get_slot("report_route"):
            return {field: answer.value, "report_route": None}  # the suggested actors depend on the topic
        return {field: answer.value}

    # One per slot of the form (rasa-sdk calls validate_<slot>); they all go through `check`.
    async def validate_report_category(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> dict[str, Any]:
        return self.check("report_category", value, dispatcher, tracker)

    async def validate_report_what(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: DomainDict) -> dict[str, Any]:
        return self.check("report_what", value, dispatcher, tracker)

    async def validate_report_when(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: DomainDict) -> dict[str, Any]:
        return self.check("report_when", value, dispatcher, tracker)

    async def validate_report_where(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: DomainDict) -> dict[str, Any]:
        return self.check("report_where", value, dispatcher, tracker)

    async def validate_report_people(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                domain: DomainDict) -> dict[str, Any]:
        return self.check("report_people", value, dispatcher, tracker)

    async def validate_report_evidence(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                  domain: DomainDict) -> dict[str, Any]:
        return self.check("report_evidence", value, dispatcher, tracker)

    async def validate_report_anonymous(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> dict[str, Any]:
        return self.check("report_anonymous", value, dispatcher, tracker)

    async def validate_report_contact(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: DomainDict) -> dict[str, Any]:
        return self.check("report_contact", value, dispatcher, tracker)

    async def validate_report_route(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                               domain: DomainDict) -> dict[str, Any]:
        return self.check("report_route", value, dispatcher, tracker)

    async def validate_report_confirm(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                 domain: DomainDict) -> dict[str, Any]:
        return self.check("report_confirm", value, dispatcher, tracker)

    async def validate_report_edit(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                              domain: DomainDict) -> dict[str, Any]:
        return self.check("report_edit", value, dispatcher, tracker)


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
            discarded = await in_thread(lambda session: evidence.discard_pending(session, tracker.sender_id))
            dispatcher.utter_message(text=texts["cancelled"] + (f" {texts['files']['discarded']}" if discarded else ""))
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
            sid = submission_id(tracker)
            # The files sent in this chat are attached in the same transaction: stored with the report or not at all.
            submitted, files = await in_thread(lambda session: evidence.submit_with_files(
                session, draft, tracker.sender_id, submission_id=sid))
        except errors.NoReaders as exc:  # nobody could ever read it: tell the operator, store nothing
            logger.error("Reports are not set up: %s", exc.operator_message)
            dispatcher.utter_message(text=texts["errors"]["no_keys"])
            return [*reset(REPORT_SLOTS), *forget_until_now()]
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
        if files.attached:
            dispatcher.utter_message(text=texts["files"]["attached"].format(count=files.attached))
        if files.left:
            dispatcher.utter_message(text=texts["files"]["left"].format(count=files.left))
        return [*reset(REPORT_SLOTS), *forget_until_now()]
