"""Passwords: argon2id hashes, a configurable minimum length, the most common ones refused."""

import asyncio
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


# argon2 takes ~64 MiB and a good fraction of a second per hash: run it off the event loop
# (so one sign-in does not stall every other request) and only a few at a time.
_argon2_slots = asyncio.Semaphore(4)


async def hash_secret(secret: str) -> str:
    async with _argon2_slots:
        return await asyncio.to_thread(hash_password, secret)


async def secret_matches(secret_hash: str, secret: str) -> bool:
    async with _argon2_slots:
        return await asyncio.to_thread(verify_password, secret_hash, secret)


def check_password_rules(password: str, min_length: int, field: str = "password") -> None:
    if len(password) < min_length:
        raise InvalidInput(field, f"must be at least {min_length} characters long")
    if len(password) > 256:
        raise InvalidInput(field, "must be at most 256 characters long")
    if password.lower() in common_passwords():
        raise InvalidInput(field, "is one of the most common passwords; choose another")
