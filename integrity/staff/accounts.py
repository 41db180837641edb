"""Staff accounts: creation, login with lock-out, optional TOTP second factor, password changes.

Coordinators and handlers get their key pair when the account is made (the password is known then;
integrity.staff.user_keys); a password change re-wraps the private key, an admin's reset drops the password copy
(the staff member re-opens it with their recovery key), deactivation deletes their wrapped report keys.

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
from nacl.public import PrivateKey
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from integrity.errors import UserFacingError
from integrity.ids import IDENTIFIER, PROFILE_ID
from integrity.reports.deadlines import utcnow
from integrity.settings import DomainSettings
from integrity.staff import access, passwords, totp, user_keys
from integrity.staff.models import NotifyMode, Role, StaffUser

MAX_FAILED_LOGINS = 5
LOCK_DURATION = timedelta(minutes=15)
USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
# A practical address check (one @, a dot in the domain, no spaces or header characters); the SMTP server decides.
EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                   r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+")
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
                profile_id: str | None = None, actor: str | None = None, email: str | None = None,
                now: datetime | None = None, settings: DomainSettings | None = None) -> StaffUser:
    """A new active account: a key pair for coordinators and handlers, notification mails immediately.

    Raises InvalidAccount or passwords.WeakPassword."""
    role = Role(role)
    username = username.strip().lower()
    display_name = " ".join(display_name.split())[:120] or username
    _check_values(username, role, profile_id, actor)
    address = clean_email(email)
    if session.scalar(select(func.count(StaffUser.id)).where(StaffUser.username == username)):
        raise InvalidAccount(f"username '{username}' already exists", "Deze gebruikersnaam bestaat al.")
    user = StaffUser(username=username, display_name=display_name, role=role, profile_id=profile_id,
                     actor=actor if role == Role.HANDLER else None, password_hash=passwords.hash_password(password),
                     failed_logins=0, active=True, created_at=now or utcnow(), email=address,
                     notify_mode=NotifyMode.IMMEDIATE)
    if user_keys.needs_keys(user):
        user_keys.create(user, password, settings)
    session.add(user)
    session.flush()  # the id, for the audit entry the caller adds
    return user


def clean_email(email: str | None) -> str | None:
    """The address, trimmed; None for an empty one; InvalidAccount if it is not an e-mail address."""
    value = (email or "").strip()
    if not value:
        return None
    if len(value) > 254 or not EMAIL.fullmatch(value):
        raise InvalidAccount("invalid e-mail address",
                             "Dit e-mailadres klopt niet. Vul een adres in zoals naam@organisatie.be, of laat het "
                             "veld leeg.")
    return value


def set_email(session: Session, user: StaffUser, email: str | None) -> None:
    """Where notification mails go (None: no mails). InvalidAccount for a malformed address."""
    user.email = clean_email(email)


def set_notify_mode(session: Session, user: StaffUser, mode: NotifyMode | str) -> None:
    try:
        user.notify_mode = NotifyMode(mode)
    except ValueError:
        raise InvalidAccount(f"unknown notification preference '{str(mode)[:20]}'",
                             "Kies hoe vaak je e-mails wil krijgen: meteen, een dagelijks overzicht of nooit.") \
            from None


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


def change_own_password(session: Session, user: StaffUser, password: str, private_key: PrivateKey | None) -> None:
    """The staff member's own change: the private key (opened at login) is re-wrapped under the new password."""
    user.password_hash = passwords.hash_password(password)
    user.failed_logins, user.locked_until = 0, None
    if private_key is not None and user_keys.has_keys(user):
        user_keys.rewrap(user, private_key, password)


def set_password(session: Session, user: StaffUser, password: str) -> None:
    """A reset by an admin or the CLI: the old password is unknown, so the private key's password copy is dropped;
    the staff member re-opens it with their recovery key (or loses access until a colleague grants it again)."""
    user.password_hash = passwords.hash_password(password)
    user.failed_logins, user.locked_until = 0, None
    if user_keys.has_keys(user):
        user_keys.drop_password_copy(user)


def unlock(session: Session, user: StaffUser) -> None:
    user.failed_logins, user.locked_until = 0, None


def set_active(session: Session, user: StaffUser, active: bool) -> int:
    """Deactivation deletes the account's wrapped report keys (returns how many); reactivation restores none."""
    user.active = active
    return 0 if active else access.revoke_user(session, user)


def record_login(session: Session, user: StaffUser, now: datetime | None = None) -> None:
    user.last_login_at = now or utcnow()


def list_users(session: Session, profile_id: str | None = None) -> list[StaffUser]:
    query = select(StaffUser).order_by(StaffUser.profile_id, StaffUser.username)
    if profile_id is not None:
        query = query.where(StaffUser.profile_id == profile_id)
    return list(session.scalars(query))
