"""Locked data (rule 5): the requisites and personal data that change only by an approved request.

Here the new values asked for are checked like at registration (rule 2), compared with the
current ones, applied on approval, and described field by field for the events.
"""

from collections.abc import Callable
from typing import Any

from pydantic import JsonValue

from services.identity.directory.repository import DirectoryRepository
from services.identity.models import Organization, User
from services.identity.organizations.schemas import (
    AddressChange,
    BankChange,
    OrganizationChanges,
    UserChanges,
)
from services.identity.requisites import (
    RequisiteError,
    classification_for,
    known_okved,
    normalize_email,
    normalize_phone,
    resolve_legal_form,
    validate_bik,
    validate_correspondent_account,
    validate_kpp,
    validate_ogrn,
    validate_okpo,
    validate_postal_code,
    validate_settlement_account,
)
from services.identity.requisites.organization import (
    Address,
    BankDetails,
    autofill_bank,
    autofill_region_and_locality,
    suggested_classification,
    suggested_genitive,
    written_with_quotes,
)
from shared.problems import FieldError, ValidationFailed

# Requisites kept in the organization's `requisites` JSON, under the registration shape's names.
REQUISITE_FIELDS = (
    "ogrn",
    "okved",
    "okpo",
    "classification",
    "director_name",
    "director_name_genitive",
    "director_basis",
    "bank",
    "legal_address",
    "actual_address",
)
ORGANIZATION_COLUMNS = ("full_name", "short_name", "kpp")
USER_FIELDS = ("full_name", "email", "phone")

# Event field names where the event's vocabulary differs from the API's.
EVENT_FIELD_NAMES = {"short_name": "name"}

Values = dict[str, JsonValue]


class _Errors:
    """Collects every wrong field, so one 422 names them all."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.items: list[FieldError] = []

    def add(self, field: str, message: str) -> None:
        self.items.append(FieldError(field=f"{self.prefix}.{field}", message=message))

    def check(self, field: str, value: str | None, normalize: Callable[[str], str]) -> str | None:
        if value is None or not value.strip():
            self.add(field, "is required")
            return None
        try:
            return normalize(value)
        except RequisiteError as error:
            self.add(field, str(error))
            return None

    def raise_if_any(self) -> None:
        if self.items:
            raise ValidationFailed(self.items)


def _text(value: str) -> str:
    return " ".join(value.split())


def _optional_text(value: str | None) -> str | None:
    return _text(value) or None if value is not None else None


def _full_name(value: str) -> str:
    if written_with_quotes(value):
        raise RequisiteError("the full name is written without quotes")
    return _text(value)


def _legal_form_for_checks(organization: Organization) -> str | None:
    """The legal form whose lengths OGRN/OKPO must agree with; None when it is not a known one."""
    try:
        return resolve_legal_form(organization.legal_form).code
    except RequisiteError:
        return None


def current_organization_values(organization: Organization) -> Values:
    values: Values = {field: getattr(organization, field) for field in ORGANIZATION_COLUMNS}
    requisites = organization.requisites or {}
    values.update({field: requisites.get(field) for field in REQUISITE_FIELDS})
    return values


def current_user_values(user: User) -> Values:
    return {field: getattr(user, field) for field in USER_FIELDS}


async def organization_changes(
    organization: Organization, asked: OrganizationChanges, directory: DirectoryRepository
) -> Values:
    """The checked new values that differ from the current ones (422 naming each wrong field).

    As at registration, a Russian bank's name and correspondent account come from the BIK
    directory and an address's region and locality from the postal index when left out.
    """
    given = asked.model_fields_set
    if not given:
        raise ValidationFailed([FieldError(field="organization", message="name a field to change")])
    errors = _Errors("organization")
    resident = organization.resident
    legal_form = _legal_form_for_checks(organization)
    current = current_organization_values(organization)
    new: dict[str, Any] = {}

    if "full_name" in given:
        new["full_name"] = errors.check("full_name", asked.full_name, _full_name)
    if "short_name" in given:
        new["short_name"] = _optional_text(asked.short_name)
    if "kpp" in given:
        if not resident:
            errors.add("kpp", "a non-resident organization has no KPP; it gives its own tax id")
        elif organization.kind == "sole_proprietor":
            errors.add("kpp", "a sole proprietor has no KPP")
        else:
            new["kpp"] = errors.check("kpp", asked.kpp, validate_kpp)
    if "ogrn" in given:
        new["ogrn"] = errors.check(
            "ogrn", asked.ogrn, (lambda v: validate_ogrn(v, legal_form)) if resident else _text
        )
    if "okved" in given:
        new["okved"] = errors.check("okved", asked.okved, known_okved if resident else _text)
    if "okpo" in given:
        # OKPO is optional, as at registration: null removes it.
        okpo = _optional_text(asked.okpo)
        new["okpo"] = (
            errors.check("okpo", okpo, lambda v: validate_okpo(v, legal_form))
            if okpo is not None and resident
            else okpo
        )
    if "director_name" in given:
        new["director_name"] = errors.check("director_name", asked.director_name, _text)
    if "director_name_genitive" in given and asked.director_name_genitive is not None:
        new["director_name_genitive"] = errors.check(
            "director_name_genitive", asked.director_name_genitive, _text
        )
    if "director_basis" in given:
        new["director_basis"] = errors.check("director_basis", asked.director_basis, _text)
    if "bank" in given:
        new["bank"] = await _bank(asked.bank, resident, errors, directory)
    if "legal_address" in given:
        new["legal_address"] = await _address(
            "legal_address", asked.legal_address, resident, errors, directory
        )
    if "actual_address" in given:
        new["actual_address"] = (
            await _address("actual_address", asked.actual_address, resident, errors, directory)
            if asked.actual_address is not None
            # null: the same as the legal address, kept as a copy like at registration.
            else new.get("legal_address", current["legal_address"])
        )
    errors.raise_if_any()

    director = new.get("director_name")
    if director and "director_name_genitive" not in new:
        # Rule 4: the genitive is suggested from the new name unless the person wrote it.
        new["director_name_genitive"] = suggested_genitive(str(director))
    elif "director_name_genitive" in given and asked.director_name_genitive is None:
        new["director_name_genitive"] = suggested_genitive(str(current["director_name"] or ""))
    if new.get("okved") and resident and _classification_is_derived(current):
        new["classification"] = classification_for(str(new["okved"]))

    changed = {field: value for field, value in new.items() if value != current.get(field)}
    if not changed:
        raise ValidationFailed(
            [FieldError(field="organization", message="the new values equal the current ones")]
        )
    return changed


def _classification_is_derived(current: Values) -> bool:
    """True unless the user set the classification by hand (rule 2)."""
    classification, okved = current.get("classification"), current.get("okved")
    if classification is None:
        return True
    return okved is not None and classification == suggested_classification(str(okved))


async def _bank(
    bank: BankChange | None, resident: bool, errors: _Errors, directory: DirectoryRepository
) -> dict[str, Any] | None:
    if bank is None:
        errors.add("bank", "is required")
        return None
    if not resident:
        # Rule 2: the Russian checks do not apply to a non-resident's bank.
        return BankDetails(
            bik=_optional_text(bank.bik),
            name=errors.check("bank.name", bank.name, _text),
            settlement_account=errors.check(
                "bank.settlement_account", bank.settlement_account, _text
            ),
            correspondent_account=_optional_text(bank.correspondent_account),
        ).model_dump()
    bik = errors.check("bank.bik", bank.bik, validate_bik)
    name, correspondent = _optional_text(bank.name), _optional_text(bank.correspondent_account)
    if bik is not None:
        name, correspondent = await autofill_bank(directory, bik, name, correspondent)
    checked = BankDetails(bik=bik, name=errors.check("bank.name", name, _text))
    if bik is not None:
        checked.settlement_account = errors.check(
            "bank.settlement_account",
            bank.settlement_account,
            lambda v: validate_settlement_account(v, bik),
        )
        checked.correspondent_account = errors.check(
            "bank.correspondent_account",
            correspondent,
            lambda v: validate_correspondent_account(v, bik),
        )
    return checked.model_dump()


async def _address(
    field: str,
    address: AddressChange | None,
    resident: bool,
    errors: _Errors,
    directory: DirectoryRepository,
) -> dict[str, Any] | None:
    if address is None:
        errors.add(field, "is required")
        return None
    region, locality = _optional_text(address.region), _optional_text(address.locality)
    if not resident:
        postal_code = _optional_text(address.postal_code)
    else:
        postal_code = errors.check(
            f"{field}.postal_code", address.postal_code, validate_postal_code
        )
        if postal_code is not None:
            region, locality = await autofill_region_and_locality(
                directory, postal_code, region, locality
            )
        region = errors.check(f"{field}.region", region, _text)
        locality = errors.check(f"{field}.locality", locality, _text)
    return Address(
        postal_code=postal_code,
        region=region,
        district=_optional_text(address.district),
        locality=locality,
        street=_optional_text(address.street),
        line=errors.check(f"{field}.line", address.line, _text),
    ).model_dump()


def _email(value: str) -> str:
    # Lower-cased whole, as the first admin's: one address is one login whatever its case.
    return normalize_email(value).lower()


def user_changes(user: User, asked: UserChanges) -> Values:
    """The checked new full name, e-mail and phone that differ from the current ones."""
    given = asked.model_fields_set
    if not given:
        raise ValidationFailed([FieldError(field="user", message="name a field to change")])
    errors = _Errors("user")
    new: dict[str, Any] = {}
    if "full_name" in given:
        new["full_name"] = errors.check("full_name", asked.full_name, _text)
    if "email" in given:
        new["email"] = errors.check("email", asked.email, _email)
    if "phone" in given:
        new["phone"] = errors.check("phone", asked.phone, normalize_phone)
    errors.raise_if_any()
    current = current_user_values(user)
    changed = {field: value for field, value in new.items() if value != current[field]}
    if not changed:
        raise ValidationFailed(
            [FieldError(field="user", message="the new values equal the current ones")]
        )
    return changed


def apply_to_organization(organization: Organization, new_values: Values) -> Values:
    """Writes the approved values; returns the values they replaced."""
    old = current_organization_values(organization)
    requisites = dict(organization.requisites or {})
    for field, value in new_values.items():
        if field in ORGANIZATION_COLUMNS:
            setattr(organization, field, value)
        else:
            requisites[field] = value
    # A new dict, so that the JSONB column is seen as changed.
    organization.requisites = requisites
    return {field: old.get(field) for field in new_values}


def apply_to_user(user: User, new_values: Values) -> Values:
    old = current_user_values(user)
    for field, value in new_values.items():
        setattr(user, field, value)
    return {field: old[field] for field in new_values}


def field_changes(old: Values, new: Values) -> dict[str, dict[str, JsonValue]]:
    """`{field: {old, new}}` for every changed leaf; nested objects become dotted paths."""
    changes: dict[str, dict[str, JsonValue]] = {}

    def walk(path: str, before: JsonValue, after: JsonValue) -> None:
        if isinstance(before, dict) and isinstance(after, dict):
            for key in sorted(before.keys() | after.keys()):
                walk(f"{path}.{key}", before.get(key), after.get(key))
        elif before != after:
            changes[path] = {"old": before, "new": after}

    for field in new:
        walk(EVENT_FIELD_NAMES.get(field, field), old.get(field), new[field])
    return changes
