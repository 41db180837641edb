"""Operator commands for back office accounts: `python -m integrity.staff --help`.

Environment: DATABASE_URL (default SQLite in var/), INTEGRITY_STAFF_PASSWORD (else prompted, or generated with
--generate), INTEGRITY_ARGON2_PROFILE (default|test), INTEGRITY_KEY_DIR (key directory),
INTEGRITY_KEY_PASSPHRASE (migrate-keys: the old installation passphrase; escrow commands: the escrow passphrase;
else prompted).
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

from integrity.reports import crypto, db, installation_key
from integrity.settings import DomainSettings
from integrity.staff import accounts, audit, key_migration, passwords, sessions, user_keys
from integrity.staff.models import NotifyMode, Role, StaffUser


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
                                    profile_id=args.profile, actor=args.actor, email=args.email)
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
    if user.public_key is not None:
        print("Their private key now opens only with their recovery key (asked at the next login); without it they "
              "get a new key pair and colleagues must grant access again.")
    if generated:
        print(f"Password (shown once): {password}")
    return 0


def _change_account(username: str, change: Callable[[Session, StaffUser], object], action: str, detail: str,
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


def _secret(prompt: str) -> str:
    value = os.environ.get("INTEGRITY_KEY_PASSPHRASE")
    if value:
        return value
    if not sys.stdin.isatty():
        raise ValueError("no passphrase: set INTEGRITY_KEY_PASSPHRASE or run the command in a terminal")
    return getpass.getpass(f"{prompt}: ")


def cmd_migrate_keys(args: argparse.Namespace) -> int:
    """Re-seal every report from the installation key to per-report keys, then destroy the old private key."""
    settings = DomainSettings.from_env()
    old_private = installation_key.load_private_key(_secret("Old back office passphrase"), settings.key_dir)
    with _use_case() as session:
        result = key_migration.migrate(session, old_private, allow_unreadable=args.allow_unreadable,
                                       operator=f"cli:{getpass.getuser()}")
    print(f"Migrated {result.reports} report(s), {result.messages} message(s), {result.notes} note(s), "
          f"{result.files} evidence file(s) and {result.status_reasons} status reason(s); "
          f"{result.grants} wrapped key(s).")
    for username, references in sorted(result.waiting.items()):
        print(f"  {username} has no key pair yet and waits for {len(references)} report(s): after their first "
              "login a colleague grants access (Toegang geven).")
    if result.unreadable:
        print(f"WARNING: {len(result.unreadable)} report(s) have no reader with a key: {', '.join(result.unreadable)}",
              file=sys.stderr)
    if args.keep_old_key:
        print("The old installation key was kept (--keep-old-key): destroy it yourself once backups are checked.")
    else:
        removed = installation_key.destroy(settings.key_dir)
        print(f"Destroyed the old installation key ({', '.join(p.name for p in removed) or 'already gone'}). "
              "Destroy the backups of the old key directory too.")
    return 0


def cmd_escrow_keygen(_args: argparse.Namespace) -> int:
    path = user_keys.create_escrow_key(_secret("New escrow passphrase"))
    print(f"Escrow is on: key pairs made from now on are also sealed to the escrow key. Move {path} offline "
          "(the server needs only escrow.pub); whoever holds it and its passphrase can open every staff key.")
    return 0


def cmd_escrow_restore(args: argparse.Namespace) -> int:
    escrow_private = user_keys.load_escrow_private_key(_secret("Escrow passphrase"), args.escrow_key)
    password, generated = _password(args)
    with _use_case() as session:
        user = _user(session, args.username)
        passwords.check_policy(password)
        user_keys.escrow_restore(user, escrow_private, password)
        accounts.change_own_password(session, user, password, None)
        ended = sessions.end_all(session, user.id)
        audit.record(session, "key_recovered", username=f"cli:{getpass.getuser()}", profile_id=user.profile_id,
                     detail=f"escrow restore for {user.username}; new password; {ended} sessions ended")
    print(f"Restored the private key of '{args.username}' with the escrow key under a new password.")
    if generated:
        print(f"Password (shown once): {password}")
    return 0


def cmd_set_email(args: argparse.Namespace) -> int:
    _change_account(args.username, lambda session, user: accounts.set_email(session, user, args.email or None),
                    "user_changed", "e-mail address " + ("set" if args.email else "removed") + " for",
                    end_sessions=False)
    print(f"E-mail address of '{args.username}' " + (f"set to {args.email}." if args.email else "removed."))
    return 0


def cmd_set_notify(args: argparse.Namespace) -> int:
    _change_account(args.username, lambda session, user: accounts.set_notify_mode(session, user, args.mode),
                    "user_changed", f"notification mails set to '{args.mode}' for", end_sessions=False)
    print(f"Notification mails for '{args.username}': {args.mode}.")
    return 0


def cmd_list(_args: argparse.Namespace) -> int:
    with _use_case() as session:
        for user in accounts.list_users(session):
            flags = [flag for flag, on in (("inactive", not user.active), ("totp", user.totp_secret_box),
                                           ("locked", user.locked_until), ("keys", user.public_key),
                                           ("awaits-recovery", user_keys.awaits_recovery(user))) if on]
            print(f"{user.username:24} {user.role.value:12} {user.profile_id or '*':20} {user.actor or '-':20} "
                  f"{user.email or '-':30} {user.notify_mode.value:9} {' '.join(flags)}")
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
    create.add_argument("--email", help="address for notification mails (sent immediately by default)")
    create.set_defaults(handler=cmd_create)
    email = commands.add_parser("set-email", help="set (or with '' remove) the address for notification mails")
    email.add_argument("username")
    email.add_argument("email")
    email.set_defaults(handler=cmd_set_email)
    notify = commands.add_parser("set-notify", help="how often notification mails are sent")
    notify.add_argument("username")
    notify.add_argument("mode", choices=[mode.value for mode in NotifyMode])
    notify.set_defaults(handler=cmd_set_notify)
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
    migrate = commands.add_parser("migrate-keys", help="re-seal the reports from the installation key to "
                                                       "per-report keys, then destroy the old private key")
    migrate.add_argument("--allow-unreadable", action="store_true",
                         help="migrate even if some reports end up with no reader who has a key pair")
    migrate.add_argument("--keep-old-key", action="store_true", help="do not destroy the old private key file")
    migrate.set_defaults(handler=cmd_migrate_keys)
    commands.add_parser("escrow-keygen", help="turn on the optional escrow key (see docs/security.md)") \
        .set_defaults(handler=cmd_escrow_keygen)
    restore = commands.add_parser("escrow-restore", help="restore a staff key with the escrow key, new password")
    restore.add_argument("username")
    restore.add_argument("--escrow-key", required=True, help="path of escrow.key.enc")
    restore.add_argument("--generate", action="store_true", help="generate the password and print it once")
    restore.set_defaults(handler=cmd_escrow_restore)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except accounts.AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (passwords.WeakPassword, ValueError, crypto.KeyFileError, crypto.DecryptionError,
            key_migration.MigrationBlocked) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
