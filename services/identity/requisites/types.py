"""Annotated pydantic types for request schemas: a wrong value is a 422 naming its field.

The checks that pair fields (INN and OGRN lengths against the legal form, accounts against
the BIK, KPP only for legal entities, non-residents) belong to the organization schema's
model validator, through `validate_organization_requisites`.
"""

from typing import Annotated

from pydantic import AfterValidator

from services.identity.requisites.okved import known_okved
from services.identity.requisites.validators import (
    normalize_email,
    normalize_phone,
    validate_bik,
    validate_inn,
    validate_kpp,
    validate_ogrn,
    validate_okpo,
    validate_postal_code,
)

Inn = Annotated[str, AfterValidator(validate_inn)]
"""10 or 12 digits with FTS check digits; which length the legal form needs is checked later."""

Kpp = Annotated[str, AfterValidator(validate_kpp)]
Ogrn = Annotated[str, AfterValidator(validate_ogrn)]
"""OGRN (13) or OGRNIP (15) with its check digit."""

Okpo = Annotated[str, AfterValidator(validate_okpo)]
"""8 or 10 digits with the Rosstat check digit."""

Okved = Annotated[str, AfterValidator(known_okved)]
"""NN, NN.N, NN.NN, NN.NN.N or NN.NN.NN, in an existing OKVED2 section."""

Bik = Annotated[str, AfterValidator(validate_bik)]
PostalCode = Annotated[str, AfterValidator(validate_postal_code)]
Phone = Annotated[str, AfterValidator(normalize_phone)]
"""Normalized to E.164, Russia being the default region ('8 916 …' → '+7916…')."""

Email = Annotated[str, AfterValidator(normalize_email)]
"""Syntactically valid, domain lower-cased."""
