"""Notification mails for operators: `python -m integrity.notifications --help`.

- `run`: a worker that does what the web app does in its process (jobs and sender, every NOTIFY_POLL_SECONDS),
  for an installation that runs the web app with INTEGRITY_NOTIFY_IN_WEB=0 or wants a separate process;
- `tick`: one round now (dispatch, daily reminders if due, digests, send), then exit;
- `status`: how many mails are in each state, and the ones given up on;
- `retry ID`: put a mail that was given up on back in the queue.
Environment: DATABASE_URL and the SMTP_* / NOTIFY_* settings of `integrity.notifications.settings`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Sequence

from sqlalchemy.orm import Session, sessionmaker

from integrity.notifications import jobs, outbox
from integrity.notifications.settings import MailSettings, MailSettingsError
from integrity.reports import db
from integrity.reports.deadlines import utcnow
from integrity.settings import DomainSettings


def _factory() -> sessionmaker[Session]:
    """The configured database (DATABASE_URL, read here at the boundary)."""
    return db.session_factory(DomainSettings.from_env().database_url)


def cmd_run(settings: MailSettings, _args: argparse.Namespace) -> int:
    if not settings.configured:
        print("error: SMTP_HOST is not set; nothing could be sent", file=sys.stderr)
        return 1
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(jobs.run_periodically(_factory(), settings))
    return 0


def cmd_tick(settings: MailSettings, _args: argparse.Namespace) -> int:
    sent = jobs.tick(_factory(), settings, send=settings.configured)
    print(f"{sent} mail(s) sent" + ("" if settings.configured else " (SMTP_HOST not set: none sent)"))
    return 0


def cmd_status(_settings: MailSettings, _args: argparse.Namespace) -> int:
    with db.session_scope(_factory()) as session:
        for status, count in sorted(outbox.counts(session).items(), key=lambda item: item[0].value):
            print(f"{status.value:10} {count}")
        for mail, user in outbox.failed(session):
            print(f"failed #{mail.id}: {mail.kind.value} {mail.report_reference or '-'} to '{user.username}' after "
                  f"{mail.attempts} attempt(s): {mail.last_error}")
    return 0


def cmd_retry(_settings: MailSettings, args: argparse.Namespace) -> int:
    with db.session_scope(_factory()) as session:
        if not outbox.retry(session, args.id, utcnow()):
            print(f"error: mail #{args.id} is not a failed mail", file=sys.stderr)
            return 1
    print(f"Mail #{args.id} is queued again.")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m integrity.notifications", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run the jobs and the sender until stopped").set_defaults(handler=cmd_run)
    commands.add_parser("tick", help="one round now").set_defaults(handler=cmd_tick)
    commands.add_parser("status", help="the outbox by state, and failed mails").set_defaults(handler=cmd_status)
    retry = commands.add_parser("retry", help="queue a failed mail again")
    retry.add_argument("id", type=int)
    retry.set_defaults(handler=cmd_retry)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = MailSettings.from_env()
    except MailSettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return int(args.handler(settings, args))


if __name__ == "__main__":
    sys.exit(main())
