"""SMTP and notification settings from the environment: defaults, the password file, clear operator errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from integrity.notifications.settings import MailSettings, MailSettingsError


def test_defaults_and_ports_follow_the_security_mode() -> None:
    assert MailSettings.from_env({}).configured is False
    assert MailSettings.from_env({"SMTP_HOST": "mail.org.test"}).port == 587
    assert MailSettings.from_env({"SMTP_HOST": "mail.org.test", "SMTP_SECURITY": "tls"}).port == 465
    settings = MailSettings.from_env({"SMTP_HOST": "mail.org.test", "SMTP_SECURITY": "none", "SMTP_PORT": "2525",
                                      "BACKOFFICE_BASE_URL": "https://integriteit.org.test/"})
    assert (settings.port, settings.security, settings.base_url) == (2525, "none", "https://integriteit.org.test")
    assert [settings.backoff(n) for n in (1, 2, 3, 8)] == [60, 120, 240, 3600]


def test_the_password_comes_from_a_file_never_from_the_environment(tmp_path: Path) -> None:
    secret = tmp_path / "smtp_password"
    secret.write_text("geheim wachtwoord\n", encoding="utf-8")
    settings = MailSettings.from_env({"SMTP_HOST": "mail.org.test", "SMTP_USER": "integriteit",
                                      "SMTP_PASSWORD_FILE": str(secret), "SMTP_PASSWORD": "ignored"})
    assert settings.password == "geheim wachtwoord" and "geheim" not in repr(settings)
    with pytest.raises(MailSettingsError, match="SMTP_PASSWORD_FILE is not"):
        MailSettings.from_env({"SMTP_HOST": "mail.org.test", "SMTP_USER": "integriteit"})
    with pytest.raises(MailSettingsError, match="cannot read a password"):
        MailSettings.from_env({"SMTP_USER": "x", "SMTP_PASSWORD_FILE": str(tmp_path / "missing")})


@pytest.mark.parametrize(("name", "value", "message"), [
    ("SMTP_SECURITY", "ssl3", "use one of starttls, tls, none"),
    ("SMTP_PORT", "vijf", "is not a number"),
    ("NOTIFY_DIGEST_HOUR", "24", "0-23"),
    ("NOTIFY_HOURLY_CAP", "0", "at least 1"),
])
def test_bad_values_name_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(MailSettingsError, match=message):
        MailSettings.from_env({name: value})
