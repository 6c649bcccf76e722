"""An organization's requisites as registration and data-change requests both take them.

The bank and address shapes, their autofill from the BIK and postal index directories
(rule 4), the full name written without quotes, and the values suggested from others: the
classification from OKVED (rule 2) and the director's name in the genitive (rule 4).
"""

from collections.abc import Awaitable, Callable
from typing import TypeVar

from pydantic import BaseModel, Field

from services.identity.directory.repository import DirectoryRepository
from services.identity.requisites.errors import RequisiteError
from services.identity.requisites.genitive import director_name_genitive
from services.identity.requisites.okved import classification_for

FULL_NAME_QUOTES = '"«»„“”'


# --- what clients send ------------------------------------------------------------------------


class BankDetailsIn(BaseModel):
    """`name` and `correspondent_account` are taken from the BIK directory when null."""

    bik: str | None = Field(default=None, max_length=20)
    name: str | None = Field(default=None, max_length=300)
    settlement_account: str | None = Field(default=None, max_length=30)
    correspondent_account: str | None = Field(default=None, max_length=30)


class AddressIn(BaseModel):
    """`region` and `locality` are taken from the postal index directory when null."""

    postal_code: str | None = Field(default=None, max_length=12)
    region: str | None = Field(default=None, max_length=200)
    district: str | None = Field(default=None, max_length=200)
    locality: str | None = Field(default=None, max_length=200)
    street: str | None = Field(default=None, max_length=200)
    line: str = Field(max_length=500, description="The address exactly as in the charter.")


# --- what `Organization.requisites` keeps and clients read back ------------------------------
# No docstrings: the OpenAPI document shows these shapes without a description.


class BankDetails(BaseModel):
    bik: str | None = None
    name: str | None = None
    settlement_account: str | None = None
    correspondent_account: str | None = None


class Address(BaseModel):
    postal_code: str | None = None
    region: str | None = None
    district: str | None = None
    locality: str | None = None
    street: str | None = None
    line: str | None = None


# --- rules both registration and data-change requests apply ----------------------------------


def written_with_quotes(full_name: str) -> bool:
    """The full name is written without quotes: true when this one has some."""
    return any(quote in full_name for quote in FULL_NAME_QUOTES)


def without_quotes(full_name: str) -> str:
    """The full name as the forms want it: 'ООО «Ромашка»' → 'ООО Ромашка'."""
    return " ".join(full_name.translate({ord(q): " " for q in FULL_NAME_QUOTES}).split())


Pair = tuple[str | None, str | None]
Entry = TypeVar("Entry")


async def _fill_missing(
    given: Pair, look_up: Callable[[], Awaitable[Entry | None]], known: Callable[[Entry], Pair]
) -> Pair:
    """`given`, its Nones taken from the directory entry; the directory is asked only when
    something is missing (rule 4)."""
    if None not in given:
        return given
    entry = await look_up()
    if entry is None:
        return given
    first, second = known(entry)
    return given[0] or first, given[1] or second


async def autofill_bank(
    directory: DirectoryRepository,
    bik: str,
    name: str | None,
    correspondent_account: str | None,
) -> Pair:
    """The bank's name and correspondent account, the BIK directory's where None (`bik` is a
    checked one)."""
    return await _fill_missing(
        (name, correspondent_account),
        lambda: directory.get_bank(bik),
        lambda bank: (bank.name, bank.correspondent_account),
    )


async def autofill_region_and_locality(
    directory: DirectoryRepository,
    postal_code: str,
    region: str | None,
    locality: str | None,
) -> Pair:
    """An address's region and locality, the postal index directory's where None
    (`postal_code` is a checked one)."""
    return await _fill_missing(
        (region, locality),
        lambda: directory.get_postal_code(postal_code),
        lambda known: (known.region, known.locality),
    )


def suggested_classification(okved: str) -> str | None:
    """Rule 2: the classification derived from OKVED; None when the code names no section."""
    try:
        return classification_for(okved)
    except RequisiteError:
        return None


def suggested_genitive(director_name: str) -> str | None:
    """Rule 4: the director's name in the genitive; None when it cannot be declined."""
    try:
        return director_name_genitive(director_name)
    except RequisiteError:
        return None
