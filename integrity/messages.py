"""What the bot says, channel-neutral: a text and its buttons (an intent payload each). A leaf module."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class BotMessage:
    text: str
    buttons: tuple[Button, ...] = ()
