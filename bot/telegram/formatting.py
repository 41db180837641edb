"""Rasa replies → Telegram messages: escaped HTML text, split under Telegram's limit, inline keyboards."""

from __future__ import annotations

import hashlib
import html
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import InlineKeyboardButtonLimit, MessageLimit

from bot.rasa_client import BotReply

MAX_TEXT = MessageLimit.MAX_TEXT_LENGTH  # 4096, counted in UTF-16 code units after entity parsing
MAX_CALLBACK_BYTES = InlineKeyboardButtonLimit.MAX_CALLBACK_DATA  # 64
KEY_PREFIX = "~"  # callback data starting with this is a key into PayloadStore, never a payload itself


@dataclass(frozen=True)
class OutgoingMessage:
    html: str
    keyboard: InlineKeyboardMarkup | None = None


def escape(text: str) -> str:
    """Text for parse mode HTML: only <, > and & are special there."""
    return html.escape(text, quote=False)


def _units(char: str) -> int:
    """UTF-16 code units the character takes once escaped (Telegram counts text length in UTF-16)."""
    escaped = escape(char)
    return len(escaped) * (2 if ord(char) > 0xFFFF else 1)


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Cut `text` into pieces whose escaped form fits `limit`: at a blank line, else a line end, else a space."""
    pieces: list[str] = []
    rest = text.strip()
    while rest:
        used, end = 0, 0
        while end < len(rest) and used + _units(rest[end]) <= limit:
            used += _units(rest[end])
            end += 1
        if end == len(rest):
            pieces.append(rest)
            break
        cut = _cut(rest[:end + 1], end)  # a separator right after the fitting part is a fine cut too
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return [piece for piece in pieces if piece]


def _cut(window: str, end: int) -> int:
    """Where to cut: the last blank line, line end or space in the second half of the window, else at `end`."""
    for separator in ("\n\n", "\n", " "):
        at = window.rfind(separator)
        if end // 2 <= at <= end and at > 0:
            return at
    return end


class PayloadStore:
    """Callback data for a button payload: the payload itself if it fits 64 bytes, else a short key.

    Keys are remembered in memory (bounded, least recently used dropped); after a restart an old key is
    unknown and the caller falls back to the button's title.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._payloads: OrderedDict[str, str] = OrderedDict()

    def callback_data(self, payload: str) -> str:
        if len(payload.encode()) <= MAX_CALLBACK_BYTES and not payload.startswith(KEY_PREFIX):
            return payload
        key = KEY_PREFIX + hashlib.sha256(payload.encode()).hexdigest()[:24]
        self._payloads[key] = payload
        self._payloads.move_to_end(key)
        while len(self._payloads) > self.max_entries:
            self._payloads.popitem(last=False)
        return key

    def payload(self, data: str) -> str | None:
        """The payload behind callback data, or None for a key this process does not know (any more)."""
        if not data.startswith(KEY_PREFIX):
            return data
        return self._payloads.get(data)


def keyboard(buttons: Iterable[dict[str, str]], store: PayloadStore) -> InlineKeyboardMarkup | None:
    rows = [[InlineKeyboardButton(b["title"], callback_data=store.callback_data(b.get("payload") or b["title"]))]
            for b in buttons if b.get("title")]
    return InlineKeyboardMarkup(rows) if rows else None


def render(replies: Iterable[BotReply], store: PayloadStore) -> list[OutgoingMessage]:
    """One or more Telegram messages per Rasa reply; a reply's buttons go under its last piece."""
    messages: list[OutgoingMessage] = []
    for reply in replies:
        pieces = split_text(reply.text)
        if not pieces:  # buttons without text: put them under the previous message
            if messages and reply.buttons:
                previous = messages.pop()
                old = list(previous.keyboard.inline_keyboard) if previous.keyboard else []
                extra = keyboard(reply.buttons, store)
                rows = old + (list(extra.inline_keyboard) if extra else [])
                messages.append(OutgoingMessage(previous.html, InlineKeyboardMarkup(rows) if rows else None))
            continue
        messages.extend(OutgoingMessage(escape(piece)) for piece in pieces[:-1])
        messages.append(OutgoingMessage(escape(pieces[-1]), keyboard(reply.buttons, store)))
    return messages


def button_title(markup: InlineKeyboardMarkup | None, data: str) -> str | None:
    """The title of the button with this callback data in a message's keyboard (fallback for unknown keys)."""
    for row in markup.inline_keyboard if markup else ():
        for button in row:
            if button.callback_data == data:
                return button.text
    return None
