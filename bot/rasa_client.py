"""Client for Rasa's REST channel, shared by every channel (terminal, Telegram, web chat)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx


class RasaUnavailable(RuntimeError):
    """Rasa (or the action server behind it) did not answer in time."""


@dataclass(frozen=True)
class BotReply:
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)


class RasaClient:
    def __init__(self, base_url: str, timeout: float = 30.0, client: httpx.AsyncClient | None = None) -> None:
        self.webhook = base_url.rstrip("/") + "/webhooks/rest/webhook"
        self._client = client or httpx.AsyncClient(timeout=timeout)

    async def send(self, sender: str, text: str, metadata: dict[str, Any] | None = None) -> list[BotReply]:
        payload: dict[str, Any] = {"sender": sender, "message": text}
        if metadata:
            payload["metadata"] = metadata
        try:
            response = await self._client.post(self.webhook, json=payload)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise RasaUnavailable(f"Rasa REST channel at {self.webhook} failed: {type(exc).__name__}") from exc
        return [BotReply(m.get("text", ""), m.get("buttons") or []) for m in response.json()]

    async def aclose(self) -> None:
        await self._client.aclose()
