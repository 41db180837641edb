"""Staff passwords: Argon2id hashes (argon2-cffi), parameters from INTEGRITY_ARGON2_PROFILE like the receipts."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from integrity.reports.crypto import argon2_profile

MIN_LENGTH = 12
MAX_LENGTH = 256


class WeakPassword(ValueError):
    """`str(exc)` is English for operators; `user_message` Dutch for the staff member."""

    def __init__(self, operator_message: str, user_message: str) -> None:
        super().__init__(operator_message)
        self.user_message = user_message


@cache
def _hasher(profile_name: str) -> PasswordHasher:
    profile = argon2_profile()
    return PasswordHasher(time_cost=profile.time_cost, memory_cost=profile.memory_cost,
                          parallelism=profile.parallelism)


def hasher() -> PasswordHasher:
    return _hasher(argon2_profile().name)


def check_policy(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"password shorter than {MIN_LENGTH} characters",
                           f"Kies een wachtwoord van minstens {MIN_LENGTH} tekens.")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"password longer than {MAX_LENGTH} characters",
                           f"Kies een wachtwoord van hoogstens {MAX_LENGTH} tekens.")
    if len(set(password)) < 5:
        raise WeakPassword("password uses fewer than 5 different characters",
                           "Dit wachtwoord is te eenvoudig. Gebruik meer verschillende tekens.")


def hash_password(password: str) -> str:
    check_policy(password)
    return hasher().hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    if len(password) > MAX_LENGTH:
        return False
    try:
        return hasher().verify(stored_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# Spent on unknown usernames, so that a wrong username costs as much as a wrong password: the same checks as
# `verify_password` (also the early refusal of an over-long password), against a hash with the same parameters.
def dummy_verify(password: str) -> None:
    verify_password(_dummy_hash(argon2_profile().name), password)


@cache
def _dummy_hash(profile_name: str) -> str:
    return hasher().hash("not a real password: timing padding only")
