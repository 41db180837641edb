"""The web chat channel: one browser chat session -> a pseudonymous Rasa sender, with rate limits per session
and per client IP. The HTTP routes that serve it are `backoffice/routes/chat.py` (the web app hosts the page).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bot import pseudonym
from bot.rasa_client import BotReply, RasaClient
from bot.ratelimit import RateLimiter
from bot.texts import channel_texts
from integrity.profiles import available_profiles

CHANNEL = "web"


@dataclass(frozen=True)
class ChatSettings:
    rasa_url: str
    rasa_timeout: float
    key_dir: Path  # the pseudonym secret lives here
    profile: str | None
    session_limit: int
    ip_limit: int
    window: float


@dataclass
class ChatService:
    """What the chat routes need, kept on the web app's state: the Rasa client, sender secret and rate limiters.

    `start()` (in the app's lifespan, so the HTTP client belongs to the server's event loop) opens the client;
    tests set `transport` first to put a fake Rasa behind it.
    """

    settings: ChatSettings
    secret: bytes = field(repr=False)
    per_session: RateLimiter
    per_ip: RateLimiter
    metadata: dict[str, str]
    transport: httpx.AsyncBaseTransport | None = None
    rasa: RasaClient | None = None

    @classmethod
    def from_settings(cls, settings: ChatSettings) -> ChatService:
        if settings.profile and settings.profile not in available_profiles():
            raise ValueError(f"INTEGRITY_PROFILE '{settings.profile}' is not a profile in integrity/profiles/ "
                             f"(available: {', '.join(available_profiles())})")
        channel_texts()  # a broken texts file fails at start, not at the first message
        metadata = {"channel": CHANNEL}
        if settings.profile:
            metadata["profile"] = settings.profile
        return cls(
            settings=settings,
            secret=pseudonym.load_or_create_secret(settings.key_dir),
            per_session=RateLimiter(settings.session_limit, settings.window),
            per_ip=RateLimiter(settings.ip_limit, settings.window),
            metadata=metadata,
        )

    def start(self) -> None:
        if self.rasa is None:
            # trust_env=False: Rasa is an internal service; an HTTP(S)_PROXY meant for the internet must not apply.
            client = httpx.AsyncClient(timeout=self.settings.rasa_timeout, transport=self.transport, trust_env=False)
            self.rasa = RasaClient(self.settings.rasa_url, client=client)

    async def aclose(self) -> None:
        if self.rasa is not None:
            await self.rasa.aclose()
            self.rasa = None

    async def send(self, session: str, text: str, client: str | None = None) -> list[BotReply]:
        """`client`: the pseudonym of the client address (`client_pseudonym`), which the action server counts
        wrong receipt codes against (the session id is the browser's choice)."""
        self.start()
        assert self.rasa is not None
        sender = pseudonym.sender_id(self.secret, CHANNEL, session)
        metadata = dict(self.metadata)
        if client:
            metadata["client"] = client
        return await self.rasa.send(sender, text, metadata)

    def client_pseudonym(self, address: str) -> str:
        return pseudonym.sender_id(self.secret, "web-ip", address)
