"""Debian's Chromium driven by Playwright (no browser download): shared by the browser tests."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bot.wait_ready import wait_ready
from devtools.stack import REPO, free_port

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ARTIFACTS = REPO / "test-artifacts"


def require_browser() -> None:
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is missing ({CHROMIUM}): run `make test-deps` (installs Debian's chromium).")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.fail("Playwright is missing from .venv: run `make test-deps`, then `make envs` "
                    "(installs the pinned playwright from requirements/main.lock; never `playwright install`).")


@contextmanager
def launched_chromium(timeout_ms: int) -> Iterator[Browser]:
    """Headless Chromium with `expect` timeouts of `timeout_ms`; screenshots go to ARTIFACTS."""
    require_browser()
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=timeout_ms)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@contextmanager
def web_app_process(log: Path, env: dict[str, str], ready_path: str) -> Iterator[str]:
    """`python -m backoffice` on a free port with exactly `env`, its output in `log`; yields its base URL once
    `ready_path` answers, and stops it afterwards (terminate, then kill after 20 s)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "backoffice", "--port", str(port)], cwd=REPO, env=env,
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        if wait_ready([f"{url}{ready_path}"], timeout=60):
            pytest.fail(f"the web app did not start; see {log}")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
