"""Registration, step 1: who is registered with an INN (+ KPP) already, and for a new
organization what the company registry knows, in the shape of the form (spec 10-identity,
rules 3 and 4)."""

import contextlib
from collections.abc import Sequence

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.config import Settings
from services.identity.directory.parsers import RegistryRecord
from services.identity.directory.providers import RegistryUnavailableError
from services.identity.directory.service import registry_provider
from services.identity.models import Organization
from services.identity.registration.repository import RegistrationRepository
from services.identity.registration.schemas import (
    AddressPrefill,
    LookupRequest,
    LookupResult,
    OrganizationChoice,
    OrganizationPrefill,
)
from services.identity.requisites import (
    RequisiteError,
    resolve_legal_form,
    validate_inn,
    validate_kpp,
)
from services.identity.requisites.form import FormErrors, given
from services.identity.requisites.organization import (
    suggested_classification,
    suggested_genitive,
    without_quotes,
)

log = structlog.get_logger(__name__)

RUSSIA = "RU"


async def lookup(session: AsyncSession, settings: Settings, request: LookupRequest) -> LookupResult:
    registrations = RegistrationRepository(session)
    country = request.country.strip().upper()
    if country != RUSSIA:
        found = await registrations.organizations_with_tax_id(country, request.inn.strip())
        return _result(found, prefill=None)
    inn, kpp = _checked_inn_and_kpp(request)
    found = await registrations.organizations_with_inn(inn, kpp)
    if found:
        return _result(found, prefill=None)
    return _result(found, prefill=await _registry_prefill(session, settings, inn, kpp))


async def _registry_prefill(
    session: AsyncSession, settings: Settings, inn: str, kpp: str | None
) -> OrganizationPrefill | None:
    provider = registry_provider(settings, session)
    if provider is None:
        return None
    try:
        record = await provider.find_by_inn(inn, kpp)
    except RegistryUnavailableError as error:
        # The prefill only saves typing: the person can still fill the form by hand.
        log.warning("registry_unavailable", error=str(error))
        return None
    return None if record is None else _prefill(record)


def _checked_inn_and_kpp(request: LookupRequest) -> tuple[str, str | None]:
    errors = FormErrors()
    inn = errors.derive("inn", request.inn, validate_inn)
    kpp = errors.optional("kpp", request.kpp, validate_kpp)
    if inn is not None and len(inn) == 10 and kpp is None and not errors:
        errors.add("kpp", "a legal entity is looked up by INN and KPP")
    if inn is not None and len(inn) == 12 and given(request.kpp):
        errors.add("kpp", "a sole proprietor has no KPP")
    errors.raise_if_any()
    assert inn is not None
    return inn, kpp


def _result(found: Sequence[Organization], prefill: OrganizationPrefill | None) -> LookupResult:
    return LookupResult(
        status="existing" if found else "new",
        organizations=[OrganizationChoice.of(org) for org in found],
        prefill=prefill,
    )


def _prefill(record: RegistryRecord) -> OrganizationPrefill:
    legal_form = record.legal_form
    if legal_form:
        # A form outside the accepted list is shown as the registry writes it.
        with contextlib.suppress(RequisiteError):
            legal_form = resolve_legal_form(legal_form).code
    address = record.legal_address
    return OrganizationPrefill(
        legal_form=legal_form,
        # The form wants the full name without quotes; registries keep them.
        full_name=without_quotes(record.full_name),
        short_name=record.short_name,
        inn=record.inn,
        kpp=record.kpp,
        ogrn=record.ogrn,
        okved=record.okved,
        okpo=record.okpo,
        classification=suggested_classification(record.okved) if record.okved else None,
        director_name=record.director_name,
        director_name_genitive=suggested_genitive(record.director_name)
        if record.director_name
        else None,
        legal_address=AddressPrefill(**address.model_dump()) if address else None,
    )
