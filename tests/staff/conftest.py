"""Every test here gets cheap Argon2 parameters, its own key directory and no ambient database settings."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _report_env(report_env: Path) -> Path:
    return report_env
