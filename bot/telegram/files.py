"""Evidence files on Telegram: a photo or document message is fetched into memory, cleaned and kept (encrypted)
as a waiting file of the sender's chat, which the action server attaches to the report or follow-up message.

Nothing is written to disk: the Bot API file is downloaded into a bytearray (`File.download_as_bytearray`) after
its announced size was checked against `evidence.MAX_FILE_BYTES`. Metadata are removed unless the caption says
"metadata behouden". The waiting file belongs to the same pseudonymous sender id that Rasa and the action server
see. Telegram keeps its own copy of every file sent to a bot: the privacy notice (`bot/texts.yml`) says so.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker
from telegram import Bot, Message

from integrity.reports import db, evidence
from integrity.reports.errors import FileRefused
from integrity.settings import DomainSettings

logger = logging.getLogger(__name__)
KEEP_WORDS = "metadata behouden"


def too_big() -> str:
    return evidence.TOO_BIG.format(limit=evidence.MAX_FILE_BYTES // (1024 * 1024))


class FileIntake:
    """Takes photo and document messages for the report store; `sessions` is made on first use if not given."""

    def __init__(self, texts: dict[str, str], sessions: sessionmaker[Session] | None = None,
                 fetch_timeout: float = 60.0) -> None:
        self.texts = texts
        self._sessions = sessions
        self.fetch_timeout = fetch_timeout

    @property
    def sessions(self) -> sessionmaker[Session]:
        if self._sessions is None:
            self._sessions = db.session_factory(DomainSettings.from_env().database_url)  # the gateway's boundary
        return self._sessions

    async def _fetch(self, bot: Bot, file_id: str) -> bytes:
        telegram_file = await bot.get_file(file_id, read_timeout=self.fetch_timeout)
        if telegram_file.file_size and telegram_file.file_size > evidence.MAX_FILE_BYTES:
            raise FileRefused(f"{telegram_file.file_size} bytes announced by getFile", too_big())
        return bytes(await telegram_file.download_as_bytearray(read_timeout=self.fetch_timeout))

    async def receive(self, bot: Bot, message: Message, sender: str) -> list[str]:
        """The Dutch replies for one photo or document message (nothing is sent here)."""
        photo = bool(message.photo)
        if photo:
            chosen = message.photo[-1]  # the largest size Telegram made
            file_id, size = chosen.file_id, chosen.file_size
        elif message.document is not None:
            file_id, size = message.document.file_id, message.document.file_size
        else:
            return [self.texts["not_text"]]
        if size and size > evidence.MAX_FILE_BYTES:
            logger.info("File of %s refused before download: %d bytes", sender, size)
            return [too_big()]
        try:
            data = await self._fetch(bot, file_id)
        except FileRefused as exc:
            return [exc.user_message]
        except Exception as exc:  # TelegramError, a network error, a time-out, an answer that is not a file
            logger.warning("File of %s could not be fetched from Telegram (%s)", sender, type(exc).__name__)
            return [self.texts["file_fetch_failed"]]
        caption = (message.caption or "").strip()
        strip = KEEP_WORDS not in caption.lower()
        try:
            cleaned = await asyncio.to_thread(evidence.prepare, data, strip_metadata=strip)
            work: Callable[[Session], int] = lambda session: evidence.stage(session, sender, cleaned)  # noqa: E731
            await asyncio.to_thread(db.run, self.sessions, work)
        except FileRefused as exc:
            logger.info("File of %s refused: %s", sender, exc.operator_message)
            return [exc.user_message]
        except Exception as exc:  # the database is down or locked: nothing kept, the sender may send it again
            logger.error("File of %s could not be stored (%s)", sender, type(exc).__name__)
            return [self.texts["file_storage_down"]]
        logger.info("File of %s kept for its report: %s, %d bytes", sender, cleaned.kind.media_type,
                    len(cleaned.data))
        replies = [f"{evidence.describe(cleaned)} {evidence.WAITING}"]
        if photo:
            replies.append(self.texts["file_photo_note"])
        elif strip and cleaned.found:
            replies.append(self.texts["file_keep_hint"])
        if caption and caption.lower() != KEEP_WORDS:
            replies.append(self.texts["file_caption_ignored"])
        return replies
