"""Notification tests: cheap Argon2, own key directory, a real SMTP server process (`mail_server`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from integrity.notifications.settings import MailSettings
from tests.notifications.mailserver import MailServer


@pytest.fixture(autouse=True)
def _report_env(report_env: Path) -> Path:
    return report_env


@pytest.fixture
def mail_server(tmp_path: Path) -> Iterator[MailServer]:
    server = MailServer(tmp_path / "mail")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mail_settings(mail_server: MailServer) -> MailSettings:
    return MailSettings(host="127.0.0.1", port=mail_server.port, security="none", sender="integriteit@test.example",
                        timeout=5, base_url="https://integriteit.test", hourly_cap=3, retry_seconds=0.01,
                        retry_max_seconds=0.05, max_attempts=4)
