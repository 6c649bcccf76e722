"""Russian organization requisites: checks with real check digits, legal forms, OKVED sections
and the director's name in the genitive case (spec 10-identity, rules 1, 2 and 4)."""

from services.identity.requisites.errors import RequisiteError
from services.identity.requisites.genitive import director_name_genitive
from services.identity.requisites.legal_forms import (
    LEGAL_FORMS,
    NATURAL_PERSON_REFUSED,
    LegalForm,
    LegalFormKind,
    is_natural_person,
    resolve_legal_form,
)
from services.identity.requisites.okved import (
    OKVED_SECTIONS,
    classification_for,
    known_okved,
    section_for,
)
from services.identity.requisites.validators import (
    normalize_email,
    normalize_phone,
    validate_bank_requisites,
    validate_bik,
    validate_correspondent_account,
    validate_inn,
    validate_kpp,
    validate_ogrn,
    validate_okpo,
    validate_okved,
    validate_organization_codes,
    validate_organization_requisites,
    validate_postal_code,
    validate_settlement_account,
)

__all__ = [
    "LEGAL_FORMS",
    "NATURAL_PERSON_REFUSED",
    "OKVED_SECTIONS",
    "LegalForm",
    "LegalFormKind",
    "RequisiteError",
    "classification_for",
    "director_name_genitive",
    "is_natural_person",
    "known_okved",
    "normalize_email",
    "normalize_phone",
    "resolve_legal_form",
    "section_for",
    "validate_bank_requisites",
    "validate_bik",
    "validate_correspondent_account",
    "validate_inn",
    "validate_kpp",
    "validate_ogrn",
    "validate_okpo",
    "validate_okved",
    "validate_organization_codes",
    "validate_organization_requisites",
    "validate_postal_code",
    "validate_settlement_account",
]
