"""The gateway's async handlers: a Telegram update in, Rasa's answer (or a channel text) out.

Rasa only ever sees a pseudonymous sender id (`bot.pseudonym.sender_id`), never a Telegram id or name. The
logs name a conversation by that pseudonym at most and never contain what anybody wrote.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum
from typing import TypeVar

from telegram import Bot, CallbackQuery, LinkPreviewOptions, Message, MessageEntity, Update
from telegram.constants import ChatAction, ChatType, ParseMode
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError
from telegram.ext import ContextTypes
from telegram.warnings import PTBDeprecationWarning

from bot import pseudonym
from bot.rasa_client import RasaClient, RasaUnavailable
from bot.ratelimit import RateLimiter
from bot.telegram.files import FileIntake
from bot.telegram.formatting import OutgoingMessage, PayloadStore, button_title, escape, render

logger = logging.getLogger(__name__)
T = TypeVar("T")

CHANNEL = "telegram"
MAX_INPUT = 4000
# Telegram commands that are a Rasa intent payload; /privacy and /stop are answered by the gateway itself.
COMMAND_PAYLOADS = {"start": "/greet", "help": "/help", "melden": "/melding_starten", "opvolgen": "/opvolgen"}
RESTART = "/restart"
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def _chat_id(update: Update) -> int:
    """The chat of an update that `Gateway._admit` let through (it refuses updates without one)."""
    if update.effective_chat is None:
        raise ValueError("update without a chat")
    return update.effective_chat.id


class Verdict(Enum):
    ALLOW = "allow"
    NOTIFY = "notify"  # over the limit: tell the user once per window
    SILENT = "silent"  # over the limit and already told


class Throttle:
    """The per-sender rate limit, with the 'slow down' notice sent once per window rather than per message."""

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter
        self._told_until: dict[str, float] = {}

    def check(self, key: str) -> Verdict:
        if self.limiter.allow(key):
            return Verdict.ALLOW
        now = self.limiter.clock()
        if self._told_until.get(key, 0.0) > now:
            return Verdict.SILENT
        if len(self._told_until) > 10_000:
            self._told_until = {k: until for k, until in self._told_until.items() if until > now}
        self._told_until[key] = now + self.limiter.window
        return Verdict.NOTIFY


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries of a Bot API call: flood control (429) waits as told, network errors back off."""

    attempts: int = 4
    backoff: float = 1.0
    max_wait: float = 60.0
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep)

    async def run(self, call: Callable[[], Awaitable[T]], what: str, who: str) -> T:
        for attempt in range(1, self.attempts + 1):
            try:
                return await call()
            except RetryAfter as exc:
                if attempt == self.attempts:
                    raise
                delay = min(retry_after_seconds(exc), self.max_wait)
                reason = "flood control"
            except BadRequest:  # a NetworkError subclass, but retrying cannot help
                raise
            except NetworkError as exc:  # includes TimedOut
                if attempt == self.attempts:
                    raise
                delay = self.backoff * 2 ** (attempt - 1)
                reason = type(exc).__name__
            logger.warning("Telegram %s for %s failed (%s); retry %d of %d in %.1f s",
                           what, who, reason, attempt, self.attempts - 1, delay)
            await self.sleep(delay)
        raise AssertionError("unreachable")


def retry_after_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that retry_after will become a timedelta
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def addressed_to_bot(message: Message, bot: Bot) -> bool:
    """In a group: a command (for us), an @mention of us, or a reply to one of our messages."""
    replied = message.reply_to_message
    if replied and replied.from_user and replied.from_user.id == bot.id:
        return True
    username = (bot.username or "").lower()
    entities = {**message.parse_entities(), **message.parse_caption_entities()}
    return any(_names_bot(entity, text, bot.id, username) for entity, text in entities.items())


def _names_bot(entity: MessageEntity, text: str, bot_id: int, username: str) -> bool:
    if entity.type == MessageEntity.BOT_COMMAND:
        target = text.partition("@")[2].lower()
        return entity.offset == 0 and (not target or target == username)
    if entity.type == MessageEntity.MENTION:
        return text.lower() == f"@{username}"
    return entity.type == MessageEntity.TEXT_MENTION and entity.user is not None and entity.user.id == bot_id


class Gateway:
    """Every handler of the application; the dependencies are explicit, nothing is global."""

    def __init__(self, rasa: RasaClient, secret: bytes, texts: dict[str, str], *, profile: str | None = None,
                 throttle: Throttle | None = None, payloads: PayloadStore | None = None,
                 retry: RetryPolicy | None = None, files: FileIntake | None = None) -> None:
        self.rasa, self.secret, self.texts = rasa, secret, texts
        self.files = files
        self.metadata = {"channel": CHANNEL, **({"profile": profile} if profile else {})}
        self.throttle = throttle or Throttle(RateLimiter())
        self.payloads = payloads or PayloadStore()
        self.retry = retry or RetryPolicy()

    def sender(self, user_id: int) -> str:
        return pseudonym.sender_id(self.secret, CHANNEL, user_id)

    # --- private chat handlers -------------------------------------------------------------------------------

    async def command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/start, /help, /melden, /opvolgen: the matching Rasa payload; unknown commands get the help."""
        message = update.effective_message
        name = (message.text or "").split(maxsplit=1)[0].lstrip("/").partition("@")[0].lower() if message else ""
        if sender := await self._admit(update, context):
            await self._converse(context.bot, _chat_id(update), sender,
                                 COMMAND_PAYLOADS.get(name, COMMAND_PAYLOADS["help"]))

    async def privacy(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if sender := await self._admit(update, context):
            await self._say(context.bot, _chat_id(update), self.texts["privacy"], sender)

    async def stop(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Reset the conversation in Rasa (an open report or follow-up is dropped) and confirm."""
        if not (sender := await self._admit(update, context)):
            return
        chat_id = _chat_id(update)
        try:
            await self.rasa.send(sender, RESTART, self.metadata)
        except RasaUnavailable as exc:
            logger.warning("Rasa unavailable, conversation %s not reset: %s", sender, exc)
            await self._say(context.bot, chat_id, self.texts["unavailable"], sender)
            return
        logger.info("Conversation %s reset on request", sender)
        await self._say(context.bot, chat_id, self.texts["forgotten"], sender)

    async def text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        if not message or not message.text or not (sender := await self._admit(update, context)):
            return
        if len(message.text) > MAX_INPUT:
            logger.info("Message of %s not forwarded: %d characters", sender, len(message.text))
            notice = self.texts["too_long"].format(length=len(message.text), limit=MAX_INPUT)
            await self._say(context.bot, message.chat_id, notice, sender)
            return
        await self._converse(context.bot, message.chat_id, sender, message.text)

    async def file(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A photo or document: an evidence file for the report or follow-up of this chat (`bot.telegram.files`)."""
        message = update.effective_message
        if not message or not (sender := await self._admit(update, context)):
            return
        replies = [self.texts["not_text"]] if self.files is None else \
            await self.files.receive(context.bot, message, sender)
        for reply in replies:
            await self._say(context.bot, message.chat_id, reply, sender)

    async def not_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Voice, stickers, video...: nothing is forwarded or kept, the user is asked for text."""
        if sender := await self._admit(update, context):
            logger.info("Non-text message of %s not forwarded", sender)
            await self._say(context.bot, _chat_id(update), self.texts["not_text"], sender)

    async def button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A button press: its payload goes to Rasa like a typed message; the pressed keyboard is removed."""
        query = update.callback_query
        if query is None:
            return
        await self._answer(query)
        chat = update.effective_chat
        if chat is None or chat.type != ChatType.PRIVATE or not query.data:
            return
        if not (sender := await self._admit(update, context)):
            return
        markup = query.message.reply_markup if isinstance(query.message, Message) else None
        payload = self.payloads.payload(query.data) or button_title(markup, query.data)
        if payload is None:
            logger.info("Button of %s pressed on an old message; its payload is no longer known", sender)
            return
        if await self._converse(context.bot, chat.id, sender, payload) and markup:
            try:
                await query.edit_message_reply_markup(reply_markup=None)
            except TelegramError as exc:
                logger.info("Could not remove the keyboard for %s: %s", sender, type(exc).__name__)

    # --- groups --------------------------------------------------------------------------------------------------

    async def group_message(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Nothing from a group reaches Rasa; when addressed, the bot asks for a private chat."""
        message, chat = update.effective_message, update.effective_chat
        if not message or not chat or not addressed_to_bot(message, context.bot):
            return
        key = pseudonym.sender_id(self.secret, "telegram-group", chat.id)
        if self.throttle.check(key) is Verdict.ALLOW:
            logger.info("Refused a request in group %s", key)
            await self._say(context.bot, chat.id, self.texts["group_refusal"], key)

    # --- errors ----------------------------------------------------------------------------------------------------

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Log the error type and where it happened; not its message or the update, which may hold user text."""
        error = context.error
        if error is None:
            return
        frames = "".join(traceback.format_tb(error.__traceback__))
        logger.error("Unhandled %s while handling an update (message withheld)\n%s", type(error).__name__, frames)

    # --- helpers -----------------------------------------------------------------------------------------------------

    async def _admit(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | None:
        """The sender's pseudonym if this private-chat update may go on; tells a flooding user once per window."""
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None or chat.type != ChatType.PRIVATE:
            return None
        sender = self.sender(user.id)
        verdict = self.throttle.check(sender)
        if verdict is Verdict.NOTIFY:
            logger.info("Rate limit reached for %s", sender)
            await self._say(context.bot, chat.id, self.texts["rate_limited"], sender)
        return sender if verdict is Verdict.ALLOW else None

    async def _converse(self, bot: Bot, chat_id: int, sender: str, text: str) -> bool:
        """Send `text` to Rasa and its replies to the chat; False (and the 'unavailable' text) if Rasa failed."""
        with contextlib.suppress(TelegramError):  # only a courtesy
            await bot.send_chat_action(chat_id, ChatAction.TYPING)
        try:
            replies = await self.rasa.send(sender, text, self.metadata)
        except RasaUnavailable as exc:
            logger.warning("Rasa unavailable for %s: %s", sender, exc)
            await self._say(bot, chat_id, self.texts["unavailable"], sender)
            return False
        messages = render(replies, self.payloads)
        if not messages:
            logger.warning("Rasa sent no reply for %s", sender)
        logger.debug("Turn of %s: %d replies, %d messages", sender, len(replies), len(messages))
        await self._deliver(bot, chat_id, messages, sender)
        return True

    async def _say(self, bot: Bot, chat_id: int, text: str, sender: str) -> None:
        await self._deliver(bot, chat_id, [OutgoingMessage(escape(text))], sender)

    async def _deliver(self, bot: Bot, chat_id: int, messages: list[OutgoingMessage], sender: str) -> None:
        for index, message in enumerate(messages):
            async def send(message: OutgoingMessage = message) -> Message:
                return await bot.send_message(chat_id, message.html, parse_mode=ParseMode.HTML,
                                              reply_markup=message.keyboard, link_preview_options=NO_PREVIEW)
            try:
                await self.retry.run(send, "sendMessage", sender)
            except TelegramError as exc:
                logger.error("Could not deliver a reply to %s (%s); %d message(s) dropped",
                             sender, type(exc).__name__, len(messages) - index)
                return

    async def _answer(self, query: CallbackQuery) -> None:
        try:
            await query.answer()
        except TelegramError as exc:  # the query may be too old to answer; the press itself still counts
            logger.debug("Could not answer a callback query: %s", type(exc).__name__)
