"""Debian's Chromium driven by Playwright (no browser download): shared by the browser tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from devtools.stack import REPO

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
