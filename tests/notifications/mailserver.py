"""A real SMTP server process for the mail tests: devtools.mailsink (aiosmtpd) on a free port, stopped and
started again on the same port to play an SMTP server that is down and comes back."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

from devtools.stack import REPO, free_port


@dataclass
class MailServer:
    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    options: tuple[str, ...] = ()  # more devtools.mailsink options, e.g. ("--tls", "starttls", "--cert", ...)

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devtools.mailsink", "--port", str(self.port), "--dir", str(self.directory),
             "--quiet", *self.options], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the mail sink did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=20)
        self.process = None

    def messages(self) -> list[EmailMessage]:
        files = sorted(self.directory.glob("*.eml")) if self.directory.exists() else []
        return [message_from_bytes(path.read_bytes(), policy=default_policy) for path in files]  # type: ignore[misc]

    def wait_for(self, count: int, timeout: float = 30) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.messages()
            if len(found) >= count:
                return found
            time.sleep(0.1)
        return self.messages()
