"""Wait until every given URL answers HTTP 200: `python -m bot.wait_ready URL... [--timeout S]`."""

from __future__ import annotations

import argparse
import sys
import time

import httpx


def wait_ready(urls: list[str], timeout: float) -> list[str]:
    """Return the URLs that did not answer 200 before the timeout."""
    deadline = time.monotonic() + timeout
    pending = list(urls)
    while pending and time.monotonic() < deadline:
        for url in list(pending):
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    pending.remove(url)
            except httpx.HTTPError:
                pass
        if pending:
            time.sleep(0.5)
    return pending


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--timeout", type=float, default=180)
    args = parser.parse_args()
    missing = wait_ready(args.urls, args.timeout)
    for url in missing:
        print(f"not ready after {args.timeout:.0f}s: {url}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
