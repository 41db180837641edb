"""Wiring of the Telegram gateway: the Application, its handlers, privacy-safe logging, and `main()`."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import secrets
import sys
import traceback
from collections.abc import Awaitable, Iterable
from typing import Any

from telegram import Update
from telegram.ext import (
    Application,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot import pseudonym
from bot.rasa_client import RasaClient
from bot.ratelimit import RateLimiter
from bot.telegram.config import ConfigError, TelegramConfig
from bot.telegram.files import FileIntake
from bot.telegram.handlers import COMMAND_PAYLOADS, Gateway, RetryPolicy, Throttle
from bot.texts import channel_texts
from bot.wait_ready import wait_ready

logger = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query"]  # no edits, no channel posts, no membership changes
PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
GROUP = filters.ChatType.GROUPS & filters.UpdateType.MESSAGE & ~filters.StatusUpdate.ALL
# Libraries that log request URLs (with the bot token), chat ids or whole updates below WARNING.
QUIET_LOGGERS = ("httpx", "httpcore", "telegram", "tornado.access", "apscheduler")
OWN_LOGGERS = "bot."


class PerChatUpdateProcessor(BaseUpdateProcessor):
    """Different chats are handled concurrently, so one slow Rasa turn does not hold up everybody; the
    updates of one chat are handled one after the other, in the order they came."""

    def __init__(self, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        lock = self._locks.setdefault(chat.id, asyncio.Lock())
        self._users[chat.id] = self._users.get(chat.id, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._users[chat.id] -= 1
            if not self._users[chat.id]:  # nobody waiting: forget the chat
                del self._users[chat.id], self._locks[chat.id]

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


def register_handlers(application: Application, gateway: Gateway) -> None:
    """Every handler in one place; the first matching one in this order handles an update."""
    application.add_handlers([
        MessageHandler(GROUP, gateway.group_message),
        CommandHandler(list(COMMAND_PAYLOADS), gateway.command, filters=PRIVATE),
        CommandHandler("privacy", gateway.privacy, filters=PRIVATE),
        CommandHandler("stop", gateway.stop, filters=PRIVATE),
        MessageHandler(PRIVATE & filters.COMMAND, gateway.command),  # unknown command: the help
        MessageHandler(PRIVATE & filters.TEXT, gateway.text),
        MessageHandler(PRIVATE & (filters.PHOTO | filters.Document.ALL), gateway.file),  # evidence files
        MessageHandler(PRIVATE & ~filters.TEXT & ~filters.StatusUpdate.ALL, gateway.not_text),
        CallbackQueryHandler(gateway.button),
    ])
    application.add_error_handler(gateway.on_error)


def build_application(config: TelegramConfig, rasa_client: RasaClient, *, secret: bytes,
                      texts: dict[str, str] | None = None, request: BaseRequest | None = None,
                      limiter: RateLimiter | None = None, retry: RetryPolicy | None = None,
                      files: FileIntake | None = None) -> Application:
    """The gateway application. It owns `rasa_client` and closes it on shutdown.

    `request` replaces the HTTP layer towards the Bot API (tests pass a fake Bot API there).
    """
    builder = Application.builder().token(config.token).concurrent_updates(PerChatUpdateProcessor())
    if config.api_base_url:
        builder = builder.base_url(f"{config.api_base_url}/bot").base_file_url(f"{config.api_base_url}/file/bot")
    if request is not None:
        builder = builder.request(request).get_updates_request(request)

    async def close_rasa(_: Application) -> None:
        await rasa_client.aclose()

    application = builder.post_shutdown(close_rasa).build()
    texts = texts or channel_texts()
    gateway = Gateway(rasa_client, secret, texts, profile=config.profile,
                      throttle=Throttle(limiter or RateLimiter(config.rate_limit, config.rate_window)),
                      retry=retry, files=files or FileIntake(texts))
    register_handlers(application, gateway)
    return application


class PrivacyFilter(logging.Filter):
    """Last line of defence for the logs: other libraries' records lose their arguments (which may hold chat
    ids, updates or request URLs) and exception messages; any record loses the given secrets (the bot token).
    Records of this project's own loggers (`bot.`) keep their arguments: they never log text or raw ids."""

    def __init__(self, hidden: Iterable[str] = ()) -> None:
        super().__init__()
        self.hidden = [value for value in hidden if value]

    def filter(self, record: logging.LogRecord) -> bool:
        own = record.name.startswith(OWN_LOGGERS)
        try:
            message = record.getMessage() if own or not record.args else f"{record.msg} [arguments withheld]"
        except (TypeError, ValueError):  # a broken format string must not break the caller
            message = f"{record.msg} [unformattable arguments withheld]"
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            if own:
                record.exc_text = "".join(traceback.format_exception(error)).rstrip()
            else:
                frames = "".join(traceback.format_tb(error.__traceback__))
                record.exc_text = f"{frames}{type(error).__name__} (message withheld)"
            record.exc_info = None
        for value in self.hidden:
            message = message.replace(value, "<hidden>")
            record.exc_text = record.exc_text and record.exc_text.replace(value, "<hidden>")
        record.msg, record.args = message, ()
        return True


def configure_logging(level: str = "INFO", hidden: Iterable[str] = ()) -> logging.Handler:
    """Log to stderr through the PrivacyFilter; chatty libraries only from WARNING up."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(PrivacyFilter(hidden))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    quiet_libraries()
    return handler


def quiet_libraries() -> None:
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def main() -> int:
    try:
        config = TelegramConfig.from_env()
        secret = pseudonym.load_or_create_secret()
        texts = channel_texts()
    except (ConfigError, ValueError, OSError) as exc:
        print(f"Telegram gateway not started: {exc}", file=sys.stderr)
        return 2
    if config.mode == "webhook" and importlib.util.find_spec("tornado") is None:
        print("Telegram gateway not started: webhook mode needs python-telegram-bot's webhook support "
              "(pip install 'python-telegram-bot[webhooks]'); or use TELEGRAM_MODE=polling.", file=sys.stderr)
        return 2
    configure_logging(config.log_level, hidden=[config.token])
    if wait_ready([config.rasa_url.rstrip("/") + "/"], timeout=3):
        logger.warning("Rasa at %s does not answer yet; users get the 'unavailable' text until it does",
                       config.rasa_url)
    application = build_application(config, RasaClient(config.rasa_url, timeout=config.rasa_timeout),
                                    secret=secret, texts=texts)
    logger.info("Telegram gateway starting in %s mode (Rasa at %s, profile %s)",
                config.mode, config.rasa_url, config.profile or "default")
    if config.mode == "webhook":
        application.run_webhook(listen=config.webhook_listen, port=config.webhook_port,
                                url_path=config.webhook_path, webhook_url=config.webhook_url,
                                secret_token=config.webhook_secret or secrets.token_urlsafe(32),
                                allowed_updates=ALLOWED_UPDATES)
    else:
        application.run_polling(allowed_updates=ALLOWED_UPDATES, bootstrap_retries=5)
    return 0
