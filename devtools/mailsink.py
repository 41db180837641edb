"""A local SMTP sink (aiosmtpd) for `make run` and the mail tests: stores every mail as a .eml file, sends none.

`python -m devtools.mailsink --port 8025 --dir var/mail` listens on 127.0.0.1 and writes each accepted mail to
`<dir>/<time>-<n>.eml`, printing one line (recipient and subject) per mail. Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import itertools
import os
import signal
import ssl
import sys
import threading
import time
from collections.abc import Sequence
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class SaveToDirectory:
    """aiosmtpd handler: every message that arrives becomes one file (written to a temporary name, then renamed)."""

    def __init__(self, directory: Path, quiet: bool = False) -> None:
        self.directory = directory
        self.quiet = quiet
        self.counter = itertools.count(1)
        directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = envelope.original_content or envelope.content
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{next(self.counter):05d}.eml"
        temporary = self.directory / f".{name}.tmp"
        temporary.write_bytes(data)
        os.replace(temporary, self.directory / name)
        if not self.quiet:
            message = message_from_bytes(data, policy=default_policy)
            print(f"mail sink: to {', '.join(envelope.rcpt_tos)}: {message['Subject']} -> {self.directory / name}",
                  flush=True)
        return "250 Message accepted for delivery"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.mailsink", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--dir", type=Path, default=Path("var") / "mail", help="where the .eml files go")
    parser.add_argument("--quiet", action="store_true", help="no line per mail")
    parser.add_argument("--tls", choices=["starttls", "tls"], help="require STARTTLS, or speak implicit TLS")
    parser.add_argument("--cert", type=Path, help="with --tls: the server certificate (PEM)")
    parser.add_argument("--key", type=Path, help="with --tls: its private key (PEM)")
    args = parser.parse_args(argv)
    handler = SaveToDirectory(args.dir, args.quiet)
    if args.tls:
        if not (args.cert and args.key):
            parser.error("--tls needs --cert and --key")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.cert, args.key)
        controller = (Controller(handler, hostname=args.host, port=args.port, tls_context=context,
                                 require_starttls=True) if args.tls == "starttls" else
                      Controller(handler, hostname=args.host, port=args.port, ssl_context=context))
    else:
        controller = Controller(handler, hostname=args.host, port=args.port)
    controller.start()
    print(f"mail sink: listening on {args.host}:{args.port}, writing mails to {args.dir}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
