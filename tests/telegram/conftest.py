"""A fake Telegram Bot API (a `BaseRequest` that records calls and answers with Bot API JSON) and a harness that
drives real `Update`s through the real gateway `Application`, into the real Rasa server or a stand-in."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import queue
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from telegram import Update
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData

from bot import pseudonym
from bot.rasa_client import RasaClient
from bot.ratelimit import RateLimiter
from bot.telegram.app import build_application
from bot.telegram.config import TelegramConfig
from bot.telegram.files import FileIntake
from bot.telegram.handlers import RetryPolicy
from bot.texts import channel_texts
from devtools.stack import free_port

TOKEN = "123456789:TEST-fake-token-abcdefghijklmnop"
BOT_USER = {"id": 7000000001, "is_bot": True, "first_name": "Integriteitsassistent",
            "username": "integriteit_test_bot"}
USER_ID = 987654321
USERNAME = "jan_vertrouwelijk_42"
FIRST_NAME = "Jozefien"
LAST_NAME = "Vandermeersch"
TEXTS = channel_texts()


class FakeBotApi(BaseRequest):
    """Answers like the Bot API and records every call as (method, parameters)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []  # every attempt
        self.delivered: list[dict[str, Any]] = []  # sendMessage calls that succeeded
        self._failures: dict[str, deque[tuple[int, dict[str, Any]]]] = {}
        self._message_ids = itertools.count(5000)
        self.files: dict[str, bytes] = {}  # file_id -> bytes, for getFile and the file download
        self.broken_downloads: set[str] = set()  # file_ids whose download fails after getFile

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    def fail_next(self, method: str, status: int, times: int = 1, **parameters: Any) -> None:
        """The next `times` calls of `method` fail with this HTTP status (and Bot API `parameters`)."""
        for _ in range(times):
            self._failures.setdefault(method, deque()).append((status, parameters))

    def sent(self) -> list[dict[str, Any]]:
        """The messages Telegram accepted (failed attempts are only in `calls`)."""
        return list(self.delivered)

    def methods(self) -> list[str]:
        return [method for method, _ in self.calls]

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         **timeouts: Any) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data else {}
        if "/file/bot" in url:  # a file download (File.download_as_bytearray)
            self.calls.append(("download", {"file_id": name}))
            if name in self.broken_downloads or name not in self.files:
                return 404, b"Not Found"
            return 200, self.files[name]
        self.calls.append((name, params))
        if name == "getFile" and params.get("file_id") not in self.files:
            missing = {"ok": False, "error_code": 400, "description": "Bad Request: file not found"}
            return 400, json.dumps(missing).encode()
        failures = self._failures.get(name)
        if failures:
            status, parameters = failures.popleft()
            body = {"ok": False, "error_code": status, "description": f"fake failure {status}",
                    **({"parameters": parameters} if parameters else {})}
            return status, json.dumps(body).encode()
        if name == "sendMessage":
            self.delivered.append(params)
        return 200, json.dumps({"ok": True, "result": self.result(name, params)}).encode()

    def result(self, name: str, params: dict[str, Any]) -> Any:
        if name == "getMe":
            return {**BOT_USER, "can_join_groups": True, "can_read_all_group_messages": False,
                    "supports_inline_queries": False}
        if name == "sendMessage":
            message = {"message_id": next(self._message_ids), "date": int(time.time()), "from": BOT_USER,
                       "chat": {"id": params["chat_id"], "type": "private"}, "text": params["text"]}
            if "reply_markup" in params:
                message["reply_markup"] = params["reply_markup"]
            return message
        if name == "getUpdates":
            return []
        if name == "getFile":
            file_id = params["file_id"]
            return {"file_id": file_id, "file_unique_id": f"u-{file_id}", "file_size": len(self.files[file_id]),
                    "file_path": f"documents/{file_id}"}
        return True  # sendChatAction, answerCallbackQuery, editMessageReplyMarkup, setWebhook, deleteWebhook


class BotApiServer:
    """A small local HTTP server speaking enough of the Bot API for `python -m bot.telegram` in polling or webhook
    mode (TELEGRAM_API_BASE_URL points there). `updates` feeds getUpdates; every call is recorded."""

    def __init__(self) -> None:
        self.updates: queue.Queue[dict[str, Any]] = queue.Queue()
        self.calls: list[tuple[str, str, dict[str, Any]]] = []  # (path, method, parameters)
        self.fake = FakeBotApi()  # for the canned results
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def called(self, name: str) -> list[dict[str, Any]]:
        """The parameters of every call of the Bot API method `name`, in order."""
        return [params for _, method, params in list(self.calls) if method == name]

    def sent(self) -> list[dict[str, Any]]:
        return self.called("sendMessage")

    def __enter__(self) -> BotApiServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, path: str, body: bytes) -> Any:
        method = path.rsplit("/", 1)[-1]
        params = {k: _json_or_text(v) for k, v in parse_qsl(body.decode())}
        self.calls.append((path, method, params))
        if method == "getUpdates":
            try:
                return [self.updates.get(timeout=0.2)]
            except queue.Empty:
                return []
        return self.fake.result(method, params)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                out = json.dumps({"ok": True, "result": api._answer(self.path, body)}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError):  # the gateway stopped while long polling
                    self.wfile.write(out)

        return Handler


def _json_or_text(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        return value


class RecordingTransport(httpx.AsyncBaseTransport):
    """Records every request body sent to Rasa; can fail the first calls as if Rasa were down."""

    def __init__(self, fail_first: int = 0) -> None:
        self.bodies: list[bytes] = []
        self.fail_first = fail_first
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(await request.aread())
        if self.fail_first > 0:
            self.fail_first -= 1
            raise httpx.ConnectError("fake: Rasa is down", request=request)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()

    def messages(self) -> list[dict[str, Any]]:
        return [json.loads(body) for body in self.bodies]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Harness:
    application: Application
    api: FakeBotApi
    rasa: RecordingTransport
    secret: bytes
    clock: Clock
    sleeps: list[float] = field(default_factory=list)
    _update_ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _user: dict[str, Any] = field(default_factory=lambda: {
        "id": USER_ID, "is_bot": False, "first_name": FIRST_NAME, "last_name": LAST_NAME,
        "username": USERNAME, "language_code": "nl"})

    @property
    def sender(self) -> str:
        return pseudonym.sender_id(self.secret, "telegram", USER_ID)

    async def process(self, update: dict[str, Any]) -> list[dict[str, Any]]:
        """Handle one update; return the messages the bot sent for it."""
        before = len(self.api.sent())
        await self.application.process_update(Update.de_json({"update_id": next(self._update_ids), **update},
                                                             self.application.bot))
        return self.api.sent()[before:]

    def message(self, text: str | None = None, *, chat: dict[str, Any] | None = None,
                **extra: Any) -> dict[str, Any]:
        chat = chat or {"id": USER_ID, "type": "private", "first_name": FIRST_NAME, "username": USERNAME}
        body: dict[str, Any] = {"message_id": next(self._update_ids) + 100, "date": int(time.time()),
                                "chat": chat, "from": self._user, **extra}
        if text is not None:
            body["text"] = text
            if text.startswith("/"):
                body["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return {"message": body}

    async def say(self, text: str, **extra: Any) -> list[dict[str, Any]]:
        return await self.process(self.message(text, **extra))

    async def press(self, data: str, on: dict[str, Any]) -> list[dict[str, Any]]:
        """Press the button with callback data `data` under the sent message `on`."""
        message = {"message_id": 4999, "date": int(time.time()), "from": BOT_USER,
                   "chat": {"id": USER_ID, "type": "private"}, "text": on["text"]}
        if "reply_markup" in on:
            message["reply_markup"] = on["reply_markup"]
        query = {"id": f"cq-{next(self._update_ids)}", "from": self._user, "chat_instance": "-4242",
                 "data": data, "message": message}
        return await self.process({"callback_query": query})


HarnessFactory = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def make_harness() -> AsyncIterator[HarnessFactory]:
    """`await make_harness(rasa_url)`: an initialised gateway application on the fake Bot API."""
    harnesses: list[Harness] = []

    async def make(rasa_url: str, *, limit: int = 1000, rasa_timeout: float = 15.0,
                   fail_first: int = 0, files: FileIntake | None = None) -> Harness:
        transport, clock, sleeps = RecordingTransport(fail_first), Clock(), []

        async def sleep(seconds: float) -> None:
            sleeps.append(seconds)

        client = RasaClient(rasa_url, client=httpx.AsyncClient(transport=transport, timeout=rasa_timeout))
        secret, api = os.urandom(32), FakeBotApi()
        config = TelegramConfig(token=TOKEN, rasa_url=rasa_url, api_base_url="http://127.0.0.1:9")
        application = build_application(config, client, secret=secret, request=api, texts=TEXTS,
                                        limiter=RateLimiter(limit, 60.0, clock=clock),
                                        retry=RetryPolicy(attempts=3, backoff=0.5, sleep=sleep), files=files)
        await application.initialize()
        harness = Harness(application, api, transport, secret, clock, sleeps)
        harnesses.append(harness)
        return harness

    yield make
    for harness in harnesses:
        await harness.application.shutdown()


@pytest.fixture
def closed_port_url() -> str:
    """A Rasa URL where nothing listens."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
async def silent_server_url() -> AsyncIterator[str]:
    """A server that accepts connections and never answers (Rasa or the action server hanging)."""
    done = asyncio.Event()

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await done.wait()
        writer.close()

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    done.set()
    server.close()
    await asyncio.sleep(0.05)
