"""Telegram gateway: Telegram Bot API ↔ Rasa REST channel, with pseudonymous sender ids.

Run it with `python -m bot.telegram` (configuration from the environment, see `bot.telegram.config`).
"""
