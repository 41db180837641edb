"""Rasa's REST channel with the channels' own message limit (credentials.yml: `LimitedRestInput`).

The Telegram gateway and the web chat never send more than MAX_TEXT characters (bot/telegram/handlers.py
MAX_INPUT, backoffice/routes/chat.py TEXT_MAX). Stock Rasa takes any length: a 1 MB message kept the NLU busy for
22 s and stalled every other conversation. This channel refuses a longer text, or a message that is not text,
with 413/400 before Rasa looks at it; Sanic refuses bodies over SANIC_REQUEST_MAX_SIZE (devtools/stack.py,
deploy/compose.yaml) before even reading them. Same name ("rest"), so the URL stays /webhooks/rest/webhook.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.channels.rest import RestInput
from sanic.exceptions import InvalidUsage, PayloadTooLarge
from sanic.request import Request

MAX_TEXT = 4000  # characters, as the channels
log = logging.getLogger(__name__)


class LimitedRestInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def _extract_message(self, req: Request) -> Any:
        payload = req.json
        if not isinstance(payload, dict):
            raise InvalidUsage("the body must be a JSON object")
        text = payload.get("message")
        if not isinstance(text, str):
            raise InvalidUsage("'message' must be a string")
        if len(text) > MAX_TEXT:
            log.warning("REST channel: refused a message of %d characters (limit %d)", len(text), MAX_TEXT)
            raise PayloadTooLarge(f"message longer than {MAX_TEXT} characters")
        return text
