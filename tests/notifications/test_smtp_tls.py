"""SMTP_SECURITY=starttls and tls against a real SMTP server process that speaks them (devtools.mailsink with a
test certificate): the mail arrives over a verified connection, and a certificate the machine does not trust is
refused (the sender verifies it; nothing is sent in the clear)."""

from __future__ import annotations

import subprocess
from email.message import EmailMessage
from pathlib import Path

import pytest

from integrity.notifications import sender
from integrity.notifications.sender import SendError
from integrity.notifications.settings import MailSettings
from tests.notifications.mailserver import MailServer


def make_certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_mail_goes_over_a_verified_tls_connection_only(security: str, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = make_certificate(tmp_path)
    server = MailServer(tmp_path / "mail", options=("--tls", security, "--cert", str(cert), "--key", str(key)))
    server.start()
    try:
        settings = MailSettings(host="127.0.0.1", port=server.port, security=security,
                                sender="integriteit@test.example", timeout=5)
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "no-such-ca.pem"))  # the test certificate is not trusted
        with pytest.raises(SendError):
            sender.connect(settings)
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        smtp = sender.connect(settings)
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = settings.sender, "coord@org.test", f"Test {security}"
        message.set_content("Er is een nieuwe melding.")
        sender.deliver(smtp, message)
        smtp.quit()
        arrived = server.wait_for(1)
        assert [str(mail["Subject"]) for mail in arrived] == [f"Test {security}"]
    finally:
        server.stop()
