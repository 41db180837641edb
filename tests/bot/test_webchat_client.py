"""The web chat's service (bot/webchat.py `ChatService`): the configured timeout, no proxy from the environment, one
client reused, closed on shutdown; the configured limits, window and key directory; an unknown profile refused."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from bot import pseudonym
from bot.webchat import ChatService, ChatSettings
from integrity.profiles import available_profiles


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


def test_the_configured_limits_window_and_key_directory_are_used(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SENDER_ID_SECRET", raising=False)
    service = ChatService.from_settings(ChatSettings("http://127.0.0.1:5005", 7.5, tmp_path, None, 20, 120, 33.0))
    assert (service.per_session.limit, service.per_session.window) == (20, 33.0)
    assert (service.per_ip.limit, service.per_ip.window) == (120, 33.0)
    assert service.secret == pseudonym.load_or_create_secret(tmp_path), "the secret lives in the key directory"
    assert (tmp_path / pseudonym.SECRET_FILE).is_file()


def test_an_unknown_profile_is_refused_with_the_available_ones(tmp_path: Path) -> None:
    with pytest.raises(ValueError) as refused:
        ChatService.from_settings(ChatSettings("http://127.0.0.1:5005", 7.5, tmp_path, "geen-profiel", 20, 120, 60.0))
    assert f"(available: {', '.join(available_profiles())})" in str(refused.value)
