"""Autofill answers: a bank by its BIK, a region and locality by a postal index."""

from pydantic import BaseModel, ConfigDict


class BankRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    bik: str
    name: str
    correspondent_account: str | None
    region: str | None
    locality: str | None
    address: str | None


class PostalCodeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    postal_code: str
    office: str | None
    region: str | None
    district: str | None
    locality: str | None


class ImportReport(BaseModel):
    """How many records each directory holds after an import (None: not imported)."""

    banks: int | None = None
    postal_codes: int | None = None
    registry_entries: int | None = None
