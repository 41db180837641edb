"""Operator commands for the report store: `python -m integrity.reports.cli --help`.

Environment: DATABASE_URL (default SQLite in var/), INTEGRITY_KEY_DIR (default var/keys/),
INTEGRITY_KEY_PASSPHRASE (else prompted), INTEGRITY_NEW_KEY_PASSPHRASE (rotate; else prompted),
INTEGRITY_RETENTION_DAYS (purge; default 365), INTEGRITY_ARGON2_PROFILE (default|test).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from integrity.reports import casework, crypto, db, errors, evidence, retention
from integrity.reports.models import ReportStatus
from integrity.settings import DEFAULT_RETENTION_DAYS

REPO = Path(__file__).resolve().parents[2]


class CommandError(Exception):
    """An operator error: printed as one line, exit code 1."""


def alembic_config(engine: Engine | None = None) -> Config:
    config = Config(str(REPO / "alembic.ini"))
    config.set_main_option("script_location", str(REPO / "migrations"))
    if engine is not None:
        config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Run the Alembic migrations up to `revision` on `engine`."""
    command.upgrade(alembic_config(engine), revision)


@contextmanager
def _session() -> Iterator[Session]:
    engine = db.make_engine()
    try:
        with db.session_scope(db.make_sessionmaker(engine)) as session:
            yield session
    finally:
        engine.dispose()


def _passphrase(env: str, prompt: str, *, confirm: bool = False) -> str:
    value = os.environ.get(env)
    if value:
        return value
    if not sys.stdin.isatty():
        raise CommandError(f"No passphrase: set {env} or run the command in a terminal.")
    value = getpass.getpass(f"{prompt}: ")
    if confirm and getpass.getpass(f"{prompt} (again): ") != value:
        raise CommandError("The passphrases do not match.")
    return value


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


def cmd_keygen(args: argparse.Namespace) -> int:
    passphrase = _passphrase("INTEGRITY_KEY_PASSPHRASE", "New back office passphrase", confirm=True)
    directory, archived = crypto.create_keys(passphrase, force=args.force)
    print(f"Created the back office key pair in {directory} "
          f"({crypto.PUBLIC_KEY_FILE}, {crypto.PRIVATE_KEY_FILE} mode 0600).")
    if archived:
        print(f"The previous private key was archived as {archived}; reports sealed to it need that file.")
    print("Keep the passphrase and a backup of the key directory (including receipt.salt) in a safe place.")
    if crypto.argon2_profile().name != "default":
        print(f"WARNING: INTEGRITY_ARGON2_PROFILE={crypto.argon2_profile().name} uses weak key derivation; "
              "for tests only.", file=sys.stderr)
    return 0


def cmd_rotate(args: argparse.Namespace) -> int:
    old = _passphrase("INTEGRITY_KEY_PASSPHRASE", "Current back office passphrase")
    new = _passphrase("INTEGRITY_NEW_KEY_PASSPHRASE", "New back office passphrase", confirm=True)
    with _session() as session:
        result = crypto.rotate(session, old, new, reseal_more=(evidence.reseal_files,))
    print(f"Rotated the back office key: re-sealed {result.reports} reports, {result.messages} messages and "
          f"{result.status_changes} status reasons.")
    print(f"The old private key is kept as {result.archived_private_key}; delete it once backups are updated.")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with _session() as session:
        summaries = casework.list_reports(session, profile_id=args.profile, actor=args.actor, status=args.status,
                                         overdue_only=args.overdue)
    if not summaries:
        print("No reports.")
        return 0
    header = ("reference", "status", "profile", "category", "actor", "created", "ack due", "feedback due",
              "unread", "flags")
    rows = [header]
    for item in summaries:
        flags = [name for name, on in (("ACK OVERDUE", item.ack_overdue), ("FEEDBACK OVERDUE", item.feedback_overdue))
                 if on]
        rows.append((item.reference, item.status.value, item.profile_id, item.category, item.target_actor or "-",
                     _when(item.created_at), _when(item.ack_due if not item.acknowledged_at else None),
                     _when(item.feedback_due if not item.closed_at else None), str(item.unread_messages),
                     ", ".join(flags)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    private_key = crypto.load_private_key(_passphrase("INTEGRITY_KEY_PASSPHRASE", "Back office passphrase"))
    with _session() as session:
        detail = casework.read_report(session, args.id, private_key, mark_read=not args.no_mark_read)
    summary, content = detail.summary, detail.content
    print(f"Report {summary.reference}  (id {summary.id})")
    print(f"  status        {summary.status.value}")
    print(f"  profile       {summary.profile_id}   category {summary.category}   "
          f"preferred actor {summary.target_actor or '-'}")
    print(f"  created       {_when(summary.created_at)}   acknowledged {_when(summary.acknowledged_at)}")
    print(f"  ack due       {_when(summary.ack_due)}{'  OVERDUE' if summary.ack_overdue else ''}")
    print(f"  feedback due  {_when(summary.feedback_due)}{'  OVERDUE' if summary.feedback_overdue else ''}")
    if summary.closed_at:
        print(f"  closed        {_when(summary.closed_at)}   reason: {detail.close_reason or '-'}")
    print(f"  channel       {content.get('channel')}   anonymous: {'yes' if content.get('anonymous') else 'no'}")
    print(f"  contact       {content.get('contact') or '-'}")
    for key, label in (("what_happened", "What happened"), ("when", "When"), ("where", "Where"),
                       ("people_involved", "People involved"), ("evidence", "Evidence")):
        if content.get(key):
            print(f"\n{label}:\n{content[key]}")
    if detail.messages:
        print("\nMessages:")
        for message in detail.messages:
            print(f"  [{_when(message.created_at)}] {message.author.value}: {message.text}")
    print("\nHistory:")
    for entry in detail.history:
        origin = entry.from_status.value if entry.from_status else "-"
        reason = f"  ({entry.reason})" if entry.reason else ""
        print(f"  [{_when(entry.at)}] {origin} -> {entry.to_status.value} by {entry.actor_role.value}{reason}")
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    try:
        days = retention.retention_days() if args.older_than_days is None else args.older_than_days
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    if days < 0:
        raise CommandError("The retention must be 0 days or more.")
    with _session() as session:
        deleted = casework.purge_closed(session, days)
    print(f"Deleted {deleted} report(s) closed more than {days} days ago.")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    engine = db.make_engine()
    try:
        upgrade(engine, args.revision)
    finally:
        engine.dispose()
    print(f"Database at {engine.url.render_as_string(hide_password=True)} is at revision {args.revision}.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m integrity.reports.cli", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    keygen = commands.add_parser("keygen", help="create the back office key pair")
    keygen.add_argument("--force", action="store_true", help="replace existing keys (the old ones are archived)")
    keygen.set_defaults(handler=cmd_keygen)

    rotate = commands.add_parser("rotate", help="new key pair; re-encrypt all reports (stop the channels first)")
    rotate.set_defaults(handler=cmd_rotate)

    listing = commands.add_parser("list", help="list reports (metadata and deadlines only)")
    listing.add_argument("--profile", help="organisation profile id")
    listing.add_argument("--actor", help="preferred actor id")
    listing.add_argument("--status", choices=[status.value for status in ReportStatus])
    listing.add_argument("--overdue", action="store_true", help="only reports past a deadline")
    listing.set_defaults(handler=cmd_list)

    show = commands.add_parser("show", help="decrypt and print one report (needs the passphrase)")
    show.add_argument("id", help="report id or reference (M-YYYY-XXXXXX)")
    show.add_argument("--no-mark-read", action="store_true", help="leave the reporter's messages unread")
    show.set_defaults(handler=cmd_show)

    purge = commands.add_parser("purge", help="delete reports closed longer ago than the retention period")
    purge.add_argument("--older-than-days", type=int, default=None,
                       help=f"default: INTEGRITY_RETENTION_DAYS or {DEFAULT_RETENTION_DAYS}")
    purge.set_defaults(handler=cmd_purge)

    migrate = commands.add_parser("migrate", help="create or upgrade the database schema (Alembic)")
    migrate.add_argument("--revision", default="head")
    migrate.set_defaults(handler=cmd_migrate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except (CommandError, crypto.KeyFileError, crypto.DecryptionError, errors.ReportError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
