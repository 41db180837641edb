"""The web chat's connection to Rasa (bot/webchat.py `ChatService`): the configured timeout, no proxy from the
environment, one client reused, closed on shutdown."""

from __future__ import annotations

from pathlib import Path

import httpx

from bot.webchat import ChatService, ChatSettings


async def test_one_client_with_the_timeout_and_no_environment_proxy(tmp_path: Path) -> None:
    service = ChatService.from_settings(ChatSettings("http://127.0.0.1:5005", 7.5, tmp_path, None, 20, 120, 60.0))
    assert service.rasa is None
    service.start()
    rasa = service.rasa
    assert rasa is not None
    client: httpx.AsyncClient = rasa._client
    assert client.timeout == httpx.Timeout(7.5)
    assert client.trust_env is False
    service.start()
    assert service.rasa is rasa, "started once"
    await service.aclose()
    assert service.rasa is None and client.is_closed
    await service.aclose()  # closing twice is harmless
    assert service.rasa is None
