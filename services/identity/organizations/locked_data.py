"""Locked data (rule 5): the requisites and personal data that change only by an approved request.

Here the new values asked for are checked like at registration (rule 2), compared with the
current ones, applied on approval, and described field by field for the events.
"""

from typing import Any

from pydantic import BaseModel, JsonValue

from services.identity.directory.repository import DirectoryRepository
from services.identity.models import Organization, User
from services.identity.organizations.schemas import OrganizationChanges, UserChanges
from services.identity.requisites import (
    RequisiteError,
    classification_for,
    normalize_email,
    normalize_phone,
    resolve_legal_form,
)
from services.identity.requisites.form import FormErrors, RequisitesForm, text
from services.identity.requisites.organization import (
    suggested_classification,
    suggested_genitive,
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


def _optional_text(value: str | None) -> str | None:
    return text(value) or None if value is not None else None


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
    errors = FormErrors("organization")
    # Checked like at registration (rule 2), by the same form checker.
    form = RequisitesForm(
        directory,
        errors,
        resident=organization.resident,
        legal_form=_legal_form_for_checks(organization),
    )
    current = current_organization_values(organization)
    new: dict[str, Any] = {}

    if "full_name" in given:
        new["full_name"] = form.full_name(asked.full_name)
    if "short_name" in given:
        new["short_name"] = _optional_text(asked.short_name)
    if "kpp" in given:
        new["kpp"] = form.kpp(asked.kpp, organization.kind)
    if "ogrn" in given:
        new["ogrn"] = form.ogrn(asked.ogrn)
    if "okved" in given:
        new["okved"] = form.okved(asked.okved)
    if "okpo" in given:
        # OKPO is optional, as at registration: null removes it.
        new["okpo"] = form.okpo(asked.okpo)
    if "director_name" in given:
        new["director_name"] = errors.check("director_name", asked.director_name)
    if "director_name_genitive" in given and asked.director_name_genitive is not None:
        new["director_name_genitive"] = errors.check(
            "director_name_genitive", asked.director_name_genitive
        )
    if "director_basis" in given:
        new["director_basis"] = errors.check("director_basis", asked.director_basis)
    if "bank" in given:
        bank = await form.bank(asked.bank)
        new["bank"] = bank.model_dump() if bank is not None else None
    if "legal_address" in given:
        new["legal_address"] = _dumped(await form.address("legal_address", asked.legal_address))
    if "actual_address" in given:
        new["actual_address"] = (
            _dumped(await form.address("actual_address", asked.actual_address))
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
    if new.get("okved") and organization.resident and _classification_is_derived(current):
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


def _dumped(address: BaseModel | None) -> dict[str, Any] | None:
    return address.model_dump() if address is not None else None


def _email(value: str) -> str:
    # Lower-cased whole, as the first admin's: one address is one login whatever its case.
    return normalize_email(value).lower()


def user_changes(user: User, asked: UserChanges) -> Values:
    """The checked new full name, e-mail and phone that differ from the current ones."""
    given = asked.model_fields_set
    if not given:
        raise ValidationFailed([FieldError(field="user", message="name a field to change")])
    errors = FormErrors("user")
    new: dict[str, Any] = {}
    if "full_name" in given:
        new["full_name"] = errors.check("full_name", asked.full_name)
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
