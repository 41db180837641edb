"""Operator commands for back office accounts: `python -m integrity.staff --help`.

Environment: DATABASE_URL (default SQLite in var/), INTEGRITY_STAFF_PASSWORD (else prompted, or generated with
--generate), INTEGRITY_ARGON2_PROFILE (default|test).
"""

from __future__ import annotations

import argparse
import getpass
import os
import secrets
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager

from sqlalchemy.orm import Session

from integrity.reports import db
from integrity.settings import DomainSettings
from integrity.staff import accounts, audit, passwords, sessions
from integrity.staff.models import Role, StaffUser


def _password(args: argparse.Namespace) -> tuple[str, bool]:
    """(password, generated)."""
    if getattr(args, "generate", False):
        return secrets.token_urlsafe(15), True
    from_env = os.environ.get("INTEGRITY_STAFF_PASSWORD")
    if from_env:
        return from_env, False
    first = getpass.getpass("New password (at least 12 characters): ")
    if getpass.getpass("Repeat: ") != first:
        raise ValueError("the passwords differ")
    return first, False


def _use_case() -> AbstractContextManager[Session]:
    """One transaction on the configured database (DATABASE_URL, read here at the boundary)."""
    return db.session_scope(db.session_factory(DomainSettings.from_env().database_url))


def cmd_create(args: argparse.Namespace) -> int:
    password, generated = _password(args)
    with _use_case() as session:
        user = accounts.create_user(session, args.username, args.name or args.username, args.role, password,
                                    profile_id=args.profile, actor=args.actor)
        audit.record(session, "user_created", username=f"cli:{getpass.getuser()}", profile_id=user.profile_id,
                     detail=f"{user.username} as {user.role.value}")
    print(f"Created {user.role.value} '{user.username}'" + (f" for {user.profile_id}" if user.profile_id else ""))
    if generated:
        print(f"Password (shown once): {password}")
    return 0


def _user(session: Session, username: str) -> StaffUser:
    user = accounts.get_user(session, username)
    if user is None:
        raise ValueError(f"no account '{username}'")
    return user


def cmd_password(args: argparse.Namespace) -> int:
    password, generated = _password(args)
    with _use_case() as session:
        user = _user(session, args.username)
        accounts.set_password(session, user, password)
        ended = sessions.end_all(session, user.id)
        audit.record(session, "password_changed", username=f"cli:{getpass.getuser()}", profile_id=user.profile_id,
                     detail=f"reset for {user.username}; {ended} sessions ended")
    print(f"Password of '{args.username}' set; {ended} sessions ended.")
    if generated:
        print(f"Password (shown once): {password}")
    return 0


def _change_account(username: str, change: Callable[[Session, StaffUser], None], action: str, detail: str,
                    *, end_sessions: bool) -> None:
    """Apply `change` to the account, optionally log it out everywhere, and audit it as the CLI's user."""
    with _use_case() as session:
        user = _user(session, username)
        change(session, user)
        if end_sessions:
            sessions.end_all(session, user.id)
        audit.record(session, action, username=f"cli:{getpass.getuser()}", profile_id=user.profile_id,
                     detail=f"{detail} {user.username}")


def cmd_unlock(args: argparse.Namespace) -> int:
    _change_account(args.username, accounts.unlock, "user_changed", "unlocked", end_sessions=False)
    print(f"Account '{args.username}' unlocked.")
    return 0


def cmd_reset_totp(args: argparse.Namespace) -> int:
    _change_account(args.username, accounts.disable_totp, "totp_disabled", "second factor reset for",
                    end_sessions=True)
    print(f"Second factor of '{args.username}' removed; they can set it up again after logging in.")
    return 0


def cmd_deactivate(args: argparse.Namespace) -> int:
    _change_account(args.username, lambda session, user: accounts.set_active(session, user, False), "user_changed",
                    "deactivated", end_sessions=True)
    print(f"Account '{args.username}' deactivated.")
    return 0


def cmd_list(_args: argparse.Namespace) -> int:
    with _use_case() as session:
        for user in accounts.list_users(session):
            flags = [flag for flag, on in (("inactive", not user.active), ("totp", user.totp_secret_box),
                                           ("locked", user.locked_until)) if on]
            print(f"{user.username:24} {user.role.value:12} {user.profile_id or '*':20} {user.actor or '-':20} "
                  f"{' '.join(flags)}")
    return 0


def ensure_first_admin(username: str = "admin", password: str | None = None) -> str | None:
    """Create the first admin if there are no accounts yet. Returns a generated password to show once."""
    with _use_case() as session:
        if accounts.count_users(session):
            return None
        generated = None if password else secrets.token_urlsafe(15)
        accounts.create_user(session, username, "Beheerder", Role.ADMIN, password or generated or "")
        audit.record(session, "user_created", username="system", detail=f"first admin '{username}'")
        return generated


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m integrity.staff", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-user", help="create an account")
    create.add_argument("username")
    create.add_argument("--role", required=True, choices=[role.value for role in Role])
    create.add_argument("--profile", help="organisation profile id (required except for an installation admin)")
    create.add_argument("--actor", help="handlers: the actor id whose forwarded reports they see")
    create.add_argument("--name", help="display name")
    create.add_argument("--generate", action="store_true", help="generate the password and print it once")
    create.set_defaults(handler=cmd_create)
    for name, handler, text in (("set-password", cmd_password, "set a new password and end all sessions"),
                                ("unlock", cmd_unlock, "lift a lock-out after failed logins"),
                                ("reset-totp", cmd_reset_totp, "remove the second factor (lost phone)"),
                                ("deactivate", cmd_deactivate, "disable an account and end its sessions")):
        command = commands.add_parser(name, help=text)
        command.add_argument("username")
        if name == "set-password":
            command.add_argument("--generate", action="store_true", help="generate the password and print it once")
        command.set_defaults(handler=handler)
    commands.add_parser("list", help="list accounts").set_defaults(handler=cmd_list)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except accounts.AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (passwords.WeakPassword, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
