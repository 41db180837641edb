"""The use cases around a staff member's key: opening it at login, recovery after a reset, starting over.

Each function adds its audit entries to the caller's transaction (nothing commits here).
"""

from __future__ import annotations

from dataclasses import dataclass

from nacl.public import PrivateKey
from sqlalchemy.orm import Session

from integrity.settings import DomainSettings
from integrity.staff import access, audit, user_keys
from integrity.staff.models import StaffUser


@dataclass(frozen=True)
class LoginKeys:
    private_key: PrivateKey | None  # None: an admin, or a key that awaits recovery
    recovery_key: str | None  # a new recovery key to show once (first login, or after a recovery)
    awaits_recovery: bool


def at_login(session: Session, user: StaffUser, password: str, settings: DomainSettings | None = None) -> LoginKeys:
    """Open `user`'s private key with the password that just authenticated them.

    A coordinator or handler without a key pair (an account from before per-user keys) gets one now; the first
    login also makes the recovery key, which the caller shows once.
    """
    if not user_keys.needs_keys(user):
        return LoginKeys(None, None, False)
    if not user_keys.has_keys(user):
        private = user_keys.create(user, password, settings)
        audit.record(session, "keys_created", user=user, detail="key pair made at login")
    elif user_keys.awaits_recovery(user):
        return LoginKeys(None, None, True)
    else:
        opened = user_keys.unlock(user, password)
        if opened is None:  # the password changed without a re-wrap (cannot happen through this app)
            user_keys.drop_password_copy(user)
            return LoginKeys(None, None, True)
        private = opened
    audit.record(session, "key_unlocked", user=user, detail="with the password at login")
    recovery_key = None
    if user.recovery_box is None:
        recovery_key = user_keys.new_recovery_key(user, private)
        audit.record(session, "recovery_key_shown", user=user, detail="first recovery key")
    return LoginKeys(private, recovery_key, False)


def recover(session: Session, user: StaffUser, recovery_key: str, password: str) -> tuple[PrivateKey, str]:
    """After a reset: the recovery key re-opens the private key under the (new) password. WrongRecoveryKey else.

    Returns the private key and the next recovery key (the used one is replaced), to show once.
    """
    private, new_recovery = user_keys.recover(user, recovery_key, password)
    audit.record(session, "key_recovered", user=user, detail="with the recovery key")
    audit.record(session, "recovery_key_shown", user=user, detail="after a recovery")
    return private, new_recovery


def start_over(session: Session, user: StaffUser, password: str,
               settings: DomainSettings | None = None) -> tuple[PrivateKey, str]:
    """After a reset without the recovery key: a new key pair; every earlier wrapped key is deleted.

    The staff member waits until colleagues grant access again (the case list says "wacht op toegang").
    """
    revoked = access.revoke_user(session, user)
    private = user_keys.start_over(user, password, settings)
    audit.record(session, "keys_replaced", user=user, detail=f"new key pair; {revoked} report key(s) dropped")
    recovery_key = user_keys.new_recovery_key(user, private)
    audit.record(session, "recovery_key_shown", user=user, detail="for the new key pair")
    return private, recovery_key
