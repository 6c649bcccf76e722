"""Activation codes: `XXXXX-XXXXX-XXXXX-XXXXX`, 19 random characters and a check character.

The alphabet leaves out 0, 1, I and O, which are read for one another. The check character
makes the weighted sum of the 20 characters zero in GF(32) (x⁵ + x² + 1), weights the powers
of x: a changed character changes the sum by a non-zero multiple of its weight, and swapping
two neighbours changes it by (x + 1)·xᵏ·(a − b), also non-zero, so every single substitution
and every adjacent transposition is caught before any lookup (Damm's construction over GF(32);
python-stdnum's check algorithms need a prime modulus or decimal digits).
"""

import re
import secrets

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
GROUPS, GROUP_LENGTH = 4, 5
LENGTH = GROUPS * GROUP_LENGTH
_VALUE = {character: value for value, character in enumerate(ALPHABET)}
_MODULUS = 0b100101  # x⁵ + x² + 1, primitive over GF(2)
_SEPARATORS = re.compile(r"[\s\-]")


def _times_x(value: int) -> int:
    value <<= 1
    return value ^ _MODULUS if value & 0b100000 else value


def _weighted_sum(values: list[int]) -> int:
    """Σ vᵢ·x^(n−1−i) in GF(32), by Horner's rule (addition in GF(2⁵) is XOR)."""
    total = 0
    for value in values:
        total = _times_x(total) ^ value
    return total


def check_character(body: str) -> str:
    """The character that makes the code's weighted sum zero."""
    # With c appended the sum is x·S + c, zero exactly when c = x·S.
    return ALPHABET[_times_x(_weighted_sum([_VALUE[character] for character in body]))]


def format_code(characters: str) -> str:
    return "-".join(
        characters[start : start + GROUP_LENGTH] for start in range(0, LENGTH, GROUP_LENGTH)
    )


def new_activation_code() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(LENGTH - 1))
    return format_code(body + check_character(body))


def normalize(typed: str) -> str | None:
    """The code in its canonical form, or None when it cannot be one (wrong length, a character
    outside the alphabet, a wrong check character): no lookup is needed to say so."""
    characters = _SEPARATORS.sub("", typed).upper()
    if len(characters) != LENGTH or any(character not in _VALUE for character in characters):
        return None
    if _weighted_sum([_VALUE[character] for character in characters]) != 0:
        return None
    return format_code(characters)
