"""Autofill directories (rule 4): look-ups, imports of the shipped or an admin's files, and
the company registry the registration prefill asks."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.config import Settings
from services.identity.directory import (
    SHIPPED_BIK_DIRECTORY,
    SHIPPED_POSTAL_INDEX,
    SHIPPED_REGISTRY,
)
from services.identity.directory.parsers import (
    BankRecord,
    DirectoryFileError,
    PostalRecord,
    RegistryRecord,
    parse_bik_directory,
    parse_postal_index,
    parse_registry,
)
from services.identity.directory.providers import HttpRegistryProvider, RegistryProvider
from services.identity.directory.repository import DirectoryRepository
from services.identity.directory.schemas import BankRead, ImportReport, PostalCodeRead
from services.identity.requisites import RequisiteError, validate_bik, validate_postal_code
from shared.clock import Clock
from shared.db import hold_advisory_lock
from shared.problems import InvalidInput, NotFound

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class DirectoryFiles:
    """Which files an import reads; a kind left as None is not touched."""

    banks: Path | None = None
    postal: Path | None = None
    registry: Path | None = None


SHIPPED_FILES = DirectoryFiles(
    banks=SHIPPED_BIK_DIRECTORY, postal=SHIPPED_POSTAL_INDEX, registry=SHIPPED_REGISTRY
)


class DirectoryService:
    async def bank(self, session: AsyncSession, bik: str) -> BankRead:
        number = _checked(validate_bik, bik, "bik")
        bank = await DirectoryRepository(session).get_bank(number)
        if bank is None:
            raise NotFound(f"No bank with BIK {number} in the directory")
        return BankRead.model_validate(bank)

    async def postal_code(self, session: AsyncSession, index: str) -> PostalCodeRead:
        code = _checked(validate_postal_code, index, "index")
        found = await DirectoryRepository(session).get_postal_code(code)
        if found is None:
            raise NotFound(f"No postal index {code} in the directory")
        return PostalCodeRead(
            postal_code=found.index,
            office=found.office,
            region=found.region,
            district=found.district,
            locality=found.locality,
        )

    async def import_files(
        self, session: AsyncSession, files: DirectoryFiles, clock: Clock
    ) -> ImportReport:
        """Each named file replaces its directory; all parsed before anything is written."""
        postal = _postal_rows(parse_postal_index(files.postal)) if files.postal else None
        banks = parse_bik_directory(files.banks) if files.banks else None
        registry = parse_registry(files.registry) if files.registry else None
        for name, parsed in (("postal", postal), ("banks", banks), ("registry", registry)):
            if parsed is not None and not parsed:
                # An empty or wrong file must not wipe a working directory.
                raise DirectoryFileError(f"the {name} file holds no records")
        now = clock.now()
        repository = DirectoryRepository(session)
        report = ImportReport()
        if postal is not None:
            await repository.replace_postal_codes([{**row, "imported_at": now} for row in postal])
            report.postal_codes = await repository.count_postal_codes()
        if banks is not None:
            # ED807 carries the region only as an OKATO code: its name comes from the index.
            regions = await repository.regions_by_postal_code(
                bank.postal_code for bank in banks if bank.postal_code
            )
            await repository.replace_banks(
                [{**_bank_row(bank, regions), "imported_at": now} for bank in _unique_banks(banks)]
            )
            report.banks = await repository.count_banks()
        if registry is not None:
            await repository.replace_registry_entries(
                [_registry_row(record) for record in registry], now
            )
            report.registry_entries = await repository.count_registry_entries()
        await session.flush()
        return report

    async def import_shipped_when_empty(self, session: AsyncSession, clock: Clock) -> ImportReport:
        """At start: every directory that holds nothing yet gets the shipped sample."""
        # Replicas starting together must not import the same file twice.
        await hold_advisory_lock(session, "directory-import")
        repository = DirectoryRepository(session)
        files = DirectoryFiles(
            banks=SHIPPED_FILES.banks if not await repository.count_banks() else None,
            postal=SHIPPED_FILES.postal if not await repository.count_postal_codes() else None,
            registry=(
                SHIPPED_FILES.registry if not await repository.count_registry_entries() else None
            ),
        )
        if files == DirectoryFiles():
            return ImportReport()
        return await self.import_files(session, files, clock)


directory_service = DirectoryService()


class DirectoryRegistryProvider:
    """The company registry as imported into the `registry_entries` table (offline directory)."""

    def __init__(self, session: AsyncSession) -> None:
        self.repository = DirectoryRepository(session)

    async def find_by_inn(self, inn: str, kpp: str | None = None) -> RegistryRecord | None:
        entry = await self.repository.find_registry_entry(inn, kpp)
        return None if entry is None else RegistryRecord.model_validate(entry.data)


def registry_provider(settings: Settings, session: AsyncSession) -> RegistryProvider | None:
    """The configured company registry; None when the HTTP one is chosen but not set up."""
    if settings.registry_provider == "http":
        if not settings.registry_url:
            log.warning("registry_provider_unconfigured", provider="http")
            return None
        return HttpRegistryProvider(settings.registry_url, settings.registry_token or "")
    return DirectoryRegistryProvider(session)


def _checked(validate: Any, value: str, field: str) -> str:
    try:
        checked: str = validate(value)
    except RequisiteError as error:
        raise InvalidInput(field, str(error)) from None
    return checked


def _postal_rows(records: list[PostalRecord]) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for record in records:
        # A later row of the same index replaces an earlier one.
        rows[record.postal_code] = {
            "index": record.postal_code,
            "office": record.office_name,
            # An autonomous okrug is a federal subject itself, not a part of its oblast.
            "region": record.autonomy or record.region,
            "district": record.area,
            "locality": record.locality,
        }
    return list(rows.values())


def _unique_banks(banks: list[BankRecord]) -> list[BankRecord]:
    return list({bank.bik: bank for bank in banks}.values())


def _bank_row(bank: BankRecord, regions: dict[str, str]) -> dict[str, Any]:
    place = " ".join(part for part in (bank.locality_type, bank.locality) if part)
    address = ", ".join(part for part in (bank.postal_code, place, bank.address) if part)
    return {
        "bik": bank.bik,
        "name": bank.name,
        "correspondent_account": bank.correspondent_account,
        "region": regions.get(bank.postal_code or ""),
        "locality": bank.locality,
        "address": address or None,
    }


def _registry_row(record: RegistryRecord) -> dict[str, Any]:
    return {"inn": record.inn, "kpp": record.kpp, "data": record.model_dump(mode="json")}
