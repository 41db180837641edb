"""X-Forwarded-For / -Proto are trusted only from configured proxies (issue 13, low finding): off by default.

Drives uvicorn's own proxy middleware, configured exactly as `python -m backoffice` configures it.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import uvicorn

from backoffice.__main__ import proxy_options


def seen_by_app(options: dict[str, Any], peer: str, headers: list[tuple[bytes, bytes]]) -> tuple[str, str]:
    """(client host, scheme) the app sees for a request from `peer` with `headers`, behind uvicorn's config."""
    seen: dict[str, Any] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.update(client=scope["client"][0], scheme=scope["scheme"])

    config = uvicorn.Config(app, **options)
    config.load()
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": "/", "raw_path": b"/", "query_string": b"", "headers": headers, "client": (peer, 51000),
             "server": ("127.0.0.1", 8000)}
    asyncio.run(config.loaded_app(scope, None, None))
    return seen["client"], seen["scheme"]


FORGED = [(b"x-forwarded-for", b"203.0.113.9"), (b"x-forwarded-proto", b"https")]


def test_proxy_headers_are_ignored_by_default_even_from_localhost() -> None:
    assert seen_by_app(proxy_options(None, {}), "127.0.0.1", FORGED) == ("127.0.0.1", "http")


def test_proxy_headers_are_trusted_from_the_configured_proxy_only() -> None:
    options = proxy_options(None, {"FORWARDED_ALLOW_IPS": "172.31.250.10"})
    assert seen_by_app(options, "172.31.250.10", FORGED) == ("203.0.113.9", "https")
    assert seen_by_app(options, "127.0.0.1", FORGED) == ("127.0.0.1", "http")
    flag = proxy_options("10.0.0.5", {"FORWARDED_ALLOW_IPS": "172.31.250.10"})  # the flag wins
    assert seen_by_app(flag, "10.0.0.5", FORGED)[0] == "203.0.113.9"


def test_a_wildcard_is_refused() -> None:
    with pytest.raises(SystemExit, match="FORWARDED_ALLOW_IPS"):
        proxy_options("*", {})
