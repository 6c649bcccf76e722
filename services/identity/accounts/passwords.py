"""Passwords: argon2id hashes, a configurable minimum length, the most common ones refused."""

from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shared.problems import InvalidInput

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
_COMMON = Path(__file__).with_name("common_passwords.txt")

# Verifying against this keeps an unknown login as slow as a wrong password.
DUMMY_HASH = _hasher.hash("kabinet-timing-equaliser")


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    return frozenset(
        line.strip().lower() for line in _COMMON.read_text().splitlines() if line.strip()
    )


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def check_password_rules(password: str, min_length: int, field: str = "password") -> None:
    if len(password) < min_length:
        raise InvalidInput(field, f"must be at least {min_length} characters long")
    if len(password) > 256:
        raise InvalidInput(field, "must be at most 256 characters long")
    if password.lower() in common_passwords():
        raise InvalidInput(field, "is one of the most common passwords; choose another")
