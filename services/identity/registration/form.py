"""Registration, step 2: the registration form checked at once (spec 10-identity, rules 1-4).

The new organization (or the one to join) and the contact person: every wrong field is named
in one 422; what the directories and derivations know is filled in; an organization that is
registered already is refused, to be joined instead.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.accounts.passwords import check_password_rules
from services.identity.directory.repository import DirectoryRepository
from services.identity.models import Organization
from services.identity.registration.repository import RegistrationRepository
from services.identity.registration.schemas import (
    ContactDraft,
    ContactIn,
    NewOrganization,
    OrganizationChoice,
    OrganizationDraft,
    RegistrationRequest,
    Requisites,
)
from services.identity.requisites import (
    NATURAL_PERSON_REFUSED,
    LegalFormKind,
    RequisiteError,
    classification_for,
    director_name_genitive,
    is_natural_person,
    normalize_email,
    normalize_phone,
    resolve_legal_form,
    validate_inn,
    validate_kpp,
    validate_ogrn,
    validate_okpo,
    validate_organization_codes,
)
from services.identity.requisites.form import FormErrors, RequisitesForm, clean, given
from services.identity.requisites.organization import Address, suggested_classification
from shared.problems import Conflict, FieldError, ValidationFailed

RUSSIA = "RU"


@dataclass(frozen=True)
class CheckedForm:
    """A registration form that passed: the contact, and a new organization or one to join."""

    contact: ContactDraft
    new_organization: OrganizationDraft | None
    joined: Organization | None


class _Names(NamedTuple):
    full_name: str
    director_name: str
    director_name_genitive: str
    director_basis: str
    """The document the director acts on, in the genitive: "Устава"."""


async def check_form(
    session: AsyncSession, password_min_length: int, request: RegistrationRequest
) -> CheckedForm:
    """The form checked whole (one 422 naming every wrong field), or a 409 for an
    organization registered already."""
    errors = FormErrors()
    draft: OrganizationDraft | None = None
    joined: Organization | None = None
    if request.organization is not None and request.organization_id is not None:
        errors.add("organization", "give organization_id or organization, not both")
    elif request.organization is not None:
        draft = await _new_organization(session, request.organization, errors)
    elif request.organization_id is not None:
        joined = await RegistrationRepository(session).get_organization(request.organization_id)
        if joined is None:
            errors.add("organization_id", "no organization with this id")
    else:
        errors.add("organization_id", "give organization_id to join or organization to add")
    contact = _contact(request.contact, password_min_length, errors)
    errors.raise_if_any()
    assert contact is not None and (draft is not None or joined is not None)
    if draft is not None:
        await refuse_registered(RegistrationRepository(session), draft)
    return CheckedForm(contact=contact, new_organization=draft, joined=joined)


async def refuse_registered(
    registrations: RegistrationRepository, draft: OrganizationDraft
) -> None:
    """An organization registered already is joined, not registered twice (rule 3)."""
    same = [
        org
        for org in await _organizations_like(registrations, draft)
        if (org.subdivision or None) == draft.subdivision
    ]
    if same:
        raise Conflict(
            "This organization is registered already: register as its contact with organization_id",
            organizations=[OrganizationChoice.of(org).model_dump(mode="json") for org in same],
        )


async def _organizations_like(
    registrations: RegistrationRepository, draft: OrganizationDraft
) -> Sequence[Organization]:
    if draft.resident:
        assert draft.inn is not None
        return await registrations.organizations_with_inn(draft.inn, draft.kpp)
    assert draft.tax_id is not None
    return await registrations.organizations_with_tax_id(draft.country, draft.tax_id)


async def _new_organization(
    session: AsyncSession, organization: NewOrganization, errors: FormErrors
) -> OrganizationDraft | None:
    """Checks every field, fills what the directories and derivations know; None if wrong."""
    if is_natural_person(organization.legal_form):
        # Rule 1: nothing else matters, a natural person is not a customer.
        raise ValidationFailed(
            [FieldError(field="organization.legal_form", message=NATURAL_PERSON_REFUSED)],
            detail=NATURAL_PERSON_REFUSED,
        )
    found = FormErrors("organization")
    country = organization.country.strip().upper()
    form = RequisitesForm(DirectoryRepository(session), found, resident=country == RUSSIA)
    if country == RUSSIA:
        draft = await _russian_organization(organization, form)
    else:
        draft = await _non_resident(organization, country, form)
    errors.items.extend(found.items)
    return draft if not found else None


async def _russian_organization(
    org: NewOrganization, form: RequisitesForm
) -> OrganizationDraft | None:
    errors = form.errors
    errors.add_all(
        validate_organization_codes(org.legal_form, org.inn, org.kpp, org.ogrn, org.okpo, RUSSIA)
    )
    bank = await form.bank(org.bank)
    if given(org.tax_id):
        errors.add("tax_id", "a Russian organization gives its INN")
    okved = form.okved(org.okved)
    # Rule 2: derived from OKVED unless the person sets it by hand.
    classification = clean(org.classification) or (classification_for(okved) if okved else None)
    names = _names(org, form)
    legal_address, actual_address = await _addresses(org, form)
    if errors or names is None or bank is None or legal_address is None:
        return None
    assert actual_address is not None and org.inn and org.ogrn
    legal_form = resolve_legal_form(org.legal_form)
    return OrganizationDraft(
        country=RUSSIA,
        resident=True,
        kind=legal_form.kind.value,
        legal_form=legal_form.code,
        full_name=names.full_name,
        short_name=clean(org.short_name),
        subdivision=clean(org.subdivision),
        inn=validate_inn(org.inn),
        # validate_organization_codes refused a KPP of a sole proprietor already.
        kpp=validate_kpp(org.kpp) if org.kpp is not None and given(org.kpp) else None,
        tax_id=None,
        requisites=Requisites(
            ogrn=validate_ogrn(org.ogrn),
            okved=okved,
            okpo=validate_okpo(org.okpo) if org.okpo is not None and given(org.okpo) else None,
            classification=classification,
            director_name=names.director_name,
            director_name_genitive=names.director_name_genitive,
            director_basis=names.director_basis,
            bank=bank,
            legal_address=legal_address,
            actual_address=actual_address,
        ),
    )


async def _non_resident(
    org: NewOrganization, country: str, form: RequisitesForm
) -> OrganizationDraft | None:
    """Rule 2: a non-resident gives its own tax id; no Russian check applies to it."""
    errors = form.errors
    errors.add_all(
        validate_organization_codes(org.legal_form, None, None, None, None, country, org.tax_id)
    )
    for field, value in (("inn", org.inn), ("kpp", org.kpp)):
        if given(value):
            errors.add(field, "a non-resident gives tax_id instead")
    names = _names(org, form)
    legal_address, actual_address = await _addresses(org, form)
    if errors or names is None or legal_address is None or actual_address is None:
        return None
    try:
        legal_form = resolve_legal_form(org.legal_form)
        form_code, kind = legal_form.code, legal_form.kind
    except RequisiteError:
        # Foreign legal forms (GmbH, Ltd, …) are not in the Russian list: an entity.
        form_code, kind = org.legal_form.strip(), LegalFormKind.LEGAL_ENTITY
    classification = clean(org.classification)
    if classification is None and org.okved:
        classification = suggested_classification(org.okved)
    return OrganizationDraft(
        country=country,
        resident=False,
        kind=kind.value,
        legal_form=form_code,
        full_name=names.full_name,
        short_name=clean(org.short_name),
        subdivision=clean(org.subdivision),
        inn=None,
        kpp=None,
        tax_id=(org.tax_id or "").strip(),
        requisites=Requisites(
            ogrn=clean(org.ogrn),
            okved=clean(org.okved),
            okpo=clean(org.okpo),
            classification=classification,
            director_name=names.director_name,
            director_name_genitive=names.director_name_genitive,
            director_basis=names.director_basis,
            bank=await form.bank(org.bank),
            legal_address=legal_address,
            actual_address=actual_address,
        ),
    )


async def _addresses(
    org: NewOrganization, form: RequisitesForm
) -> tuple[Address | None, Address | None]:
    """The legal address, and the actual one: the same as the legal one when not given."""
    legal = await form.address("legal_address", org.legal_address)
    if org.actual_address is None:
        return legal, legal
    return legal, await form.address("actual_address", org.actual_address)


def _names(org: NewOrganization, form: RequisitesForm) -> _Names | None:
    errors = form.errors
    found = len(errors.items)
    full_name = form.full_name(org.full_name)
    director = errors.check("director_name", org.director_name)
    genitive = clean(org.director_name_genitive)
    if genitive is None and director is not None:
        # Rule 4: suggested automatically; the person may send a corrected one instead.
        genitive = errors.derive("director_name", director, director_name_genitive)
    basis = errors.check("director_basis", org.director_basis, str.strip)
    if len(errors.items) > found or full_name is None or director is None:
        return None
    assert genitive is not None and basis is not None
    return _Names(full_name, director, genitive, basis)


def _contact(
    contact: ContactIn, password_min_length: int, errors: FormErrors
) -> ContactDraft | None:
    found = FormErrors("contact")
    full_name = found.check("full_name", contact.full_name)
    phone = found.derive("phone", contact.phone, normalize_phone)
    email = found.derive("email", contact.email, normalize_email)
    try:
        check_password_rules(contact.password, password_min_length, field="contact.password")
    except ValidationFailed as wrong:
        found.items.extend(wrong.errors or [])
    errors.items.extend(found.items)
    if found or full_name is None or phone is None or email is None:
        return None
    # Logins compare e-mails case-insensitively, so they are kept lower-cased.
    return ContactDraft(full_name=full_name, phone=phone, email=email.lower())
