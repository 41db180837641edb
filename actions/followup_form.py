"""Rasa form glue for the follow-up with a receipt code: status, messages both ways, additions.

Logic and texts: integrity.report_flow and integrity/content/reporting.yml; storage: integrity.reports.reporter.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.orm import Session

from actions.answer import current_profile
from actions.forms import DATE, emergency_first, forget_until_now, in_thread, reset
from actions.safety import guarded, reject_unvalidated
from integrity import report_flow
from integrity.report_flow import report_texts
from integrity.reports import errors, evidence, reporter, schemas
from integrity.staff import analytics

logger = logging.getLogger(__name__)
FOLLOWUP_SLOTS = ("followup_code", "followup_addition", "followup_cancelled")
CHAT_THROTTLE = "chat"  # the counter every chat sender shares (reporter.SHARED_MAX_FAILURES)
_PSEUDONYM = re.compile(r"[a-z][a-z-]{0,30}-[0-9a-f]{32}")  # bot.pseudonym.sender_id


def throttle_key(tracker: Tracker) -> str:
    """Whom a wrong receipt code is counted against: the client the channel saw, never a name the caller picks.

    The web chat's session id comes from the browser (a new one per reload), so that channel sends the
    pseudonym of the client address it saw as metadata `client` (bot/webchat.py); Telegram's sender id is the
    pseudonym of the Telegram user, which the user cannot change per message. Only the Rasa server can call the
    action server (actions/server.py) and only the channels reach Rasa's REST channel, so this metadata comes
    from a channel. The shared CHAT_THROTTLE counter limits guessing by many clients at once.
    """
    metadata = tracker.latest_message.get("metadata") or {}
    client = metadata.get("client")
    if isinstance(client, str) and _PSEUDONYM.fullmatch(client):
        return client
    return str(tracker.sender_id)


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


def add_message_with_files(session: Session, code: str, text: str, owner: str) -> evidence.Attached:
    """The reporter's message and the files sent in this chat, stored together (one transaction).

    No throttle key: this code was accepted already, an error now is no guess and must not block the
    reporter (a wrong code is only ever typed at the code question).
    """
    report_id = reporter.add_reporter_message(session, code, text, throttle_key=None)
    return evidence.attach_pending(session, report_id, owner) if report_id else evidence.Attached(0, 0)


def attach_only(session: Session, code: str, owner: str) -> evidence.Attached:
    if not evidence.pending(session, owner):  # no Argon2 work for nothing
        return evidence.Attached(0, 0)
    report_id, _ = reporter.authenticate_reporter(session, code, None)
    return evidence.attach_pending(session, report_id, owner, notify=True)  # the staff hear of it as of a message


def tell_files(files: evidence.Attached, dispatcher: CollectingDispatcher) -> None:
    texts = report_texts()
    if files.attached:
        dispatcher.utter_message(text=texts["files"]["attached"].format(count=files.attached))
    if files.left:
        dispatcher.utter_message(text=texts["files"]["left"].format(count=files.left))


async def attach_files_sent(tracker: Tracker, dispatcher: CollectingDispatcher) -> None:
    """At the end of a follow-up without a message: the files sent in this chat still go to the report."""
    code = tracker.get_slot("followup_code")
    if not code:
        return
    try:
        tell_files(await in_thread(lambda session: attach_only(session, code, tracker.sender_id)), dispatcher)
    except errors.ReportError as exc:
        logger.warning("Follow-up files not attached: %s", type(exc).__name__)
        dispatcher.utter_message(text=exc.user_message)


def render_view(view: schemas.ReporterView) -> list[str]:
    texts = report_texts()["followup"]
    statuses = report_flow.status_labels("chat")
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
            key = throttle_key(tracker)
            view = await in_thread(lambda session: reporter.follow_up(session, str(value), throttle_key=key,
                                                                     shared_key=CHAT_THROTTLE))
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
            await attach_files_sent(tracker, dispatcher)
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
            files = await in_thread(lambda session: add_message_with_files(session, code, text, tracker.sender_id))
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
        tell_files(files, dispatcher)
        return {"followup_addition": None}  # ask whether there is more


class ActionFollowupFinish(Action):
    def name(self) -> str:
        return "action_followup_finish"

    @guarded(fallback=lambda tracker: [*reset(FOLLOWUP_SLOTS), *forget_until_now()])
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> list[EventType]:
        dispatcher.utter_message(text=report_texts()["followup"]["done"])
        return [*reset(FOLLOWUP_SLOTS), *forget_until_now()]
