"""Staff accounts: creation, login with lock-out, optional TOTP second factor, password changes.

Errors carry a Dutch `user_message` (for the login page) and an English `str(exc)` (for logs and the CLI).
A failed login never says whether the username exists, and a wrong password does not lock the account: anyone
could lock a named colleague out that way. Password guessing is limited per username and client address instead
(backoffice/routes/staff_login.py); a repeatedly failed second factor (the caller knew the password) still locks.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import nacl.exceptions
import nacl.secret
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from integrity.errors import UserFacingError
from integrity.ids import IDENTIFIER, PROFILE_ID
from integrity.reports.deadlines import utcnow
from integrity.staff import passwords, totp
from integrity.staff.models import Role, StaffUser

MAX_FAILED_LOGINS = 5
LOCK_DURATION = timedelta(minutes=15)
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
LOGIN_FAILED = "Gebruikersnaam of wachtwoord klopt niet."


class AccountError(UserFacingError):
    pass


class LoginFailed(AccountError):
    keeps_changes = True  # the failed login counts towards the lock-out

    def __init__(self, operator_message: str) -> None:
        super().__init__(operator_message, LOGIN_FAILED)


class AccountLocked(AccountError):
    keeps_changes = True

    def __init__(self, username: str, until: datetime) -> None:
        super().__init__(f"account '{username}' is locked until {until:%Y-%m-%d %H:%M} UTC after repeated failures",
                         "Te veel mislukte pogingen. Deze account is tijdelijk vergrendeld. Probeer het over een "
                         "kwartier opnieuw of vraag een beheerder om hem te ontgrendelen.")
        self.until = until


class InvalidAccount(AccountError):
    """Bad values for a new or changed account."""


@dataclass(frozen=True)
class TotpKey:
    """Encrypts TOTP secrets at rest with a key derived from the back office secret."""

    box: nacl.secret.SecretBox

    @classmethod
    def from_secret(cls, secret: bytes) -> TotpKey:
        key = hmac.new(secret, b"integrity-backoffice/v1/totp", hashlib.sha256).digest()
        return cls(nacl.secret.SecretBox(key))

    def seal(self, totp_secret: str) -> bytes:
        return bytes(self.box.encrypt(totp_secret.encode("ascii")))

    def open(self, sealed: bytes) -> str:
        try:
            return self.box.decrypt(sealed).decode("ascii")
        except nacl.exceptions.CryptoError:
            raise AccountError("TOTP secret does not decrypt: BACKOFFICE_SECRET changed since it was set up; "
                               "reset the second factor with `python -m integrity.staff reset-totp`",
                               "De tweede stap kan nu niet gecontroleerd worden. Vraag een beheerder om hulp.") \
                from None


def _check_values(username: str, role: Role, profile_id: str | None, actor: str | None) -> None:
    if not USERNAME.fullmatch(username):
        raise InvalidAccount(f"invalid username '{username[:64]}': use 2-64 of a-z 0-9 . _ -",
                             "Gebruik 2 tot 64 kleine letters, cijfers, punten, streepjes of liggende streepjes.")
    if profile_id is None and role != Role.ADMIN:
        raise InvalidAccount("coordinators and handlers need an organisation profile",
                             "Kies een organisatie voor deze gebruiker.")
    if profile_id is not None and not PROFILE_ID.fullmatch(profile_id):
        raise InvalidAccount(f"invalid profile id '{profile_id[:64]}'", "Deze organisatie bestaat niet.")
    if role == Role.HANDLER and actor is not None and not IDENTIFIER.fullmatch(actor):
        raise InvalidAccount(f"invalid actor id '{actor[:64]}'", "Deze actor bestaat niet.")


def create_user(session: Session, username: str, display_name: str, role: Role | str, password: str, *,
                profile_id: str | None = None, actor: str | None = None, now: datetime | None = None) -> StaffUser:
    """A new active account. Raises InvalidAccount or passwords.WeakPassword."""
    role = Role(role)
    username = username.strip().lower()
    display_name = " ".join(display_name.split())[:120] or username
    _check_values(username, role, profile_id, actor)
    if session.scalar(select(func.count(StaffUser.id)).where(StaffUser.username == username)):
        raise InvalidAccount(f"username '{username}' already exists", "Deze gebruikersnaam bestaat al.")
    user = StaffUser(username=username, display_name=display_name, role=role, profile_id=profile_id,
                     actor=actor if role == Role.HANDLER else None, password_hash=passwords.hash_password(password),
                     failed_logins=0, active=True, created_at=now or utcnow())
    session.add(user)
    session.flush()  # the id, for the audit entry the caller adds
    return user


def count_users(session: Session) -> int:
    return session.scalar(select(func.count(StaffUser.id))) or 0


def get_user(session: Session, username: str) -> StaffUser | None:
    return session.scalar(select(StaffUser).where(StaffUser.username == username.strip().lower()))


def authenticate(session: Session, username: str, password: str, *, now: datetime | None = None) -> StaffUser:
    """The user if the password is right and the account active and not locked.

    A wrong password counts towards the lock-out: LoginFailed and AccountLocked keep that change.
    """
    now = now or utcnow()
    user = get_user(session, username[:64]) if username else None
    if user is None or not user.active:
        passwords.dummy_verify(password)  # the same Argon2 work as a known account's check
        raise LoginFailed(f"login failed: {'inactive' if user else 'unknown'} account")
    right = passwords.verify_password(user.password_hash, password)
    if user.locked_until is not None and user.locked_until > now:
        if right:  # only who knows the password learns that the account is locked
            raise AccountLocked(user.username, user.locked_until)
        raise LoginFailed(f"login failed for '{user.username}': wrong password (account locked)")
    if not right:
        raise LoginFailed(f"login failed for '{user.username}': wrong password")
    user.failed_logins, user.locked_until = 0, None
    if passwords.hasher().check_needs_rehash(user.password_hash):
        user.password_hash = passwords.hasher().hash(password)
    return user


def check_second_factor(user: StaffUser, code: str, key: TotpKey, *, now: float | None = None) -> bool:
    """Whether `code` is a current code of the user's app that was not used before.

    A code stays valid for up to 90 s (clock drift): without a guard, a code seen over someone's shoulder or
    caught by a phishing page could be used again within that time. So the step of the accepted code is stored
    (`totp_last_step`, committed with the login) and a code of that step or an earlier one is refused.
    """
    if user.totp_secret_box is None:
        return False
    step = totp.matching_step(key.open(user.totp_secret_box), code, now=now)
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    user.totp_last_step = step
    return True


def enable_totp(session: Session, user: StaffUser, secret: str, code: str, key: TotpKey,
                *, now: float | None = None) -> None:
    """Turn on the second factor once the user proved their app shows the right code."""
    step = totp.matching_step(secret, code, now=now)
    if step is None:
        raise InvalidAccount("TOTP set-up code did not match",
                             "Die code klopt niet. Controleer de tijd op je telefoon en probeer de nieuwe code.")
    user.totp_secret_box = key.seal(secret)
    user.totp_last_step = step  # the set-up code cannot log in afterwards


def disable_totp(session: Session, user: StaffUser) -> None:
    user.totp_secret_box = None
    user.totp_last_step = None


def set_password(session: Session, user: StaffUser, password: str) -> None:
    user.password_hash = passwords.hash_password(password)
    user.failed_logins, user.locked_until = 0, None


def unlock(session: Session, user: StaffUser) -> None:
    user.failed_logins, user.locked_until = 0, None


def set_active(session: Session, user: StaffUser, active: bool) -> None:
    user.active = active


def record_login(session: Session, user: StaffUser, now: datetime | None = None) -> None:
    user.last_login_at = now or utcnow()


def list_users(session: Session, profile_id: str | None = None) -> list[StaffUser]:
    query = select(StaffUser).order_by(StaffUser.profile_id, StaffUser.username)
    if profile_id is not None:
        query = query.where(StaffUser.profile_id == profile_id)
    return list(session.scalars(query))
