"""Russian requisites checked for real (rule 2): each function returns the normalized value or
raises `RequisiteError` with a message naming the broken rule."""

import re
from collections.abc import Callable

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from stdnum.ru import inn as stdnum_inn

from services.identity.requisites.errors import RequisiteError
from services.identity.requisites.legal_forms import (
    NATURAL_PERSON_REFUSED,
    LegalFormKind,
    is_natural_person,
    resolve_legal_form,
)

RUSSIA = "RU"

_KPP = re.compile(r"[0-9]{4}[0-9A-Z]{2}[0-9]{3}")
_OKVED = re.compile(r"[0-9]{2}(?:\.[0-9](?:[0-9](?:\.[0-9]{1,2})?)?)?")
_COUNTRY = re.compile(r"[A-Z]{2}")


def _compact(value: str) -> str:
    """Drops the spaces people paste inside long numbers ('4070 2810 …')."""
    return "".join(value.split())


def _digits(value: str, label: str, length: int | None = None) -> str:
    """The number without spaces, only digits, and `length` of them when given."""
    number = _compact(value)
    if not number.isascii() or not number.isdigit():
        raise RequisiteError(f"{label} must contain only digits")
    if length is not None and len(number) != length:
        raise RequisiteError(f"{label} has {length} digits")
    return number


def _digits_of_kind(
    value: str,
    kind: LegalFormKind | None,
    label: str,
    *,
    legal_entity: int,
    sole_proprietor: int,
    proprietor_label: str | None = None,
) -> str:
    """The digits of a number whose length tells a legal entity's from a sole proprietor's:
    the length of `kind`'s when the legal form is known, either length otherwise."""
    number = _digits(value, label)
    if kind is LegalFormKind.LEGAL_ENTITY and len(number) != legal_entity:
        raise RequisiteError(f"a legal entity's {label} has {legal_entity} digits")
    if kind is LegalFormKind.SOLE_PROPRIETOR and len(number) != sole_proprietor:
        raise RequisiteError(
            f"a sole proprietor's {proprietor_label or label} has {sole_proprietor} digits"
        )
    if len(number) not in (legal_entity, sole_proprietor):
        raise RequisiteError(
            f"{label} has {legal_entity} digits (legal entity) "
            f"or {sole_proprietor} digits (sole proprietor)"
        )
    return number


def _kind(legal_form: str | None) -> LegalFormKind | None:
    return None if legal_form is None else resolve_legal_form(legal_form).kind


def validate_inn(value: str, legal_form: str | None = None) -> str:
    """10 digits for a legal entity, 12 for a sole proprietor; FTS check digits."""
    return _inn(value, _kind(legal_form))


def _inn(value: str, kind: LegalFormKind | None) -> str:
    number = _digits_of_kind(value, kind, "INN", legal_entity=10, sole_proprietor=12)
    if not stdnum_inn.is_valid(number):
        raise RequisiteError("INN check digit does not match")
    return number


def validate_kpp(value: str) -> str:
    kpp = _compact(value).upper()
    if not _KPP.fullmatch(kpp):
        raise RequisiteError(
            "KPP has 9 characters: 4 digits, 2 digits or capital Latin letters, 3 digits"
        )
    return kpp


def validate_ogrn(value: str, legal_form: str | None = None) -> str:
    """OGRN (13 digits, legal entity) or OGRNIP (15, sole proprietor) with its check digit."""
    return _ogrn(value, _kind(legal_form))


def _ogrn(value: str, kind: LegalFormKind | None) -> str:
    number = _digits_of_kind(
        value, kind, "OGRN", legal_entity=13, sole_proprietor=15, proprietor_label="OGRNIP"
    )
    if len(number) == 13:
        # 1 and 5 open a primary state registration number; 2, 6, 7, 9 mark later records.
        if number[0] not in "15":
            raise RequisiteError("a legal entity's OGRN starts with 1 or 5")
        check = int(number[:12]) % 11 % 10
    else:
        if number[0] != "3":
            raise RequisiteError("a sole proprietor's OGRNIP starts with 3")
        # python-stdnum 2.2 compares the whole remainder (10..12) and so rejects real OGRNIPs.
        check = int(number[:14]) % 13 % 10
    if int(number[-1]) != check:
        raise RequisiteError("OGRN check digit does not match")
    return number


def validate_okpo(value: str, legal_form: str | None = None) -> str:
    """8 digits for a legal entity, 10 for a sole proprietor; Rosstat check digit."""
    return _okpo(value, _kind(legal_form))


def _okpo(value: str, kind: LegalFormKind | None) -> str:
    number = _digits_of_kind(value, kind, "OKPO", legal_entity=8, sole_proprietor=10)
    if int(number[-1]) != _okpo_check_digit(number[:-1]):
        raise RequisiteError("OKPO check digit does not match")
    return number


def _okpo_check_digit(body: str) -> int:
    """Rosstat: weights 1..10 (repeating) mod 11; on 10 again with weights shifted by 2; 10 → 0."""
    for shift in (0, 2):
        remainder = sum(int(d) * ((i + shift) % 10 + 1) for i, d in enumerate(body)) % 11
        if remainder < 10:
            return remainder
    return 0


def validate_okved(value: str) -> str:
    code = _compact(value)
    if not _OKVED.fullmatch(code):
        raise RequisiteError("OKVED has the form NN, NN.N, NN.NN, NN.NN.N or NN.NN.NN")
    return code


def validate_bik(value: str) -> str:
    return _digits(value, "BIK", length=9)


def _control_key_matches(prefix: str, account: str) -> bool:
    """Bank of Russia control key: weights 7, 1, 3 over prefix + account; the sum ends in 0."""
    weights = (7, 1, 3)
    digits = prefix + account
    return sum(int(d) * weights[i % 3] for i, d in enumerate(digits)) % 10 == 0


def validate_settlement_account(account: str, bik: str) -> str:
    """20 digits whose control key matches the bank: the last 3 BIK digits lead the check."""
    number = _digits(account, "settlement account", length=20)
    if not _control_key_matches(validate_bik(bik)[-3:], number):
        raise RequisiteError("settlement account does not match the BIK (control key check failed)")
    return number


def validate_correspondent_account(account: str, bik: str) -> str:
    """20 digits whose control key matches the bank: '0' + BIK digits 5-6 lead the check."""
    number = _digits(account, "correspondent account", length=20)
    if not _control_key_matches("0" + validate_bik(bik)[4:6], number):
        raise RequisiteError(
            "correspondent account does not match the BIK (control key check failed)"
        )
    return number


def validate_postal_code(value: str) -> str:
    return _digits(value, "postal code", length=6)


def normalize_phone(value: str, region: str = RUSSIA) -> str:
    """The phone in E.164 ('8 (916) 123-45-67' → '+79161234567')."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as error:
        raise RequisiteError("not a phone number") from error
    if not phonenumbers.is_valid_number(number):
        raise RequisiteError("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(value: str) -> str:
    """A syntactically valid address with its domain lower-cased (no DNS look-up)."""
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise RequisiteError(f"not a valid e-mail address: {error}") from error


def validate_organization_requisites(
    legal_form: str | None,
    inn: str | None,
    kpp: str | None,
    ogrn: str | None,
    okpo: str | None,
    bik: str | None,
    settlement_account: str | None,
    correspondent_account: str | None,
    country: str | None = RUSSIA,
    tax_id: str | None = None,
) -> list[tuple[str, str]]:
    """Every wrong organization requisite at once, as (field path, message) pairs.

    A Russian organization needs INN, OGRN, BIK and both accounts, and a KPP unless it is a
    sole proprietor (who has none); OKPO is checked when given. Lengths must agree with the
    legal form. A non-resident (country other than RU) gives `tax_id` instead and no Russian
    check applies to it; its legal form need only not be a natural person.
    """
    errors = validate_organization_codes(legal_form, inn, kpp, ogrn, okpo, country, tax_id)
    if (country or "").strip().upper() == RUSSIA:
        errors.extend(
            (f"bank.{field}", message)
            for field, message in validate_bank_requisites(
                bik, settlement_account, correspondent_account
            )
        )
    return errors


def validate_organization_codes(
    legal_form: str | None,
    inn: str | None,
    kpp: str | None,
    ogrn: str | None,
    okpo: str | None,
    country: str | None = RUSSIA,
    tax_id: str | None = None,
) -> list[tuple[str, str]]:
    """The legal form and the tax and registry codes of `validate_organization_requisites`."""
    errors: list[tuple[str, str]] = []
    check = _checker(errors)
    resident_of = (country or "").strip().upper()
    if not _COUNTRY.fullmatch(resident_of):
        return [("country", "country is a two-letter ISO 3166 code, e.g. RU")]
    if resident_of != RUSSIA:
        check("legal_form", legal_form, _refuse_natural_person)
        check("tax_id", tax_id, str.strip)
        return errors

    form = check("legal_form", legal_form, lambda v: resolve_legal_form(v).code)
    kind = resolve_legal_form(form).kind if form else None
    check("inn", inn, lambda v: _inn(v, kind))
    if kind is LegalFormKind.SOLE_PROPRIETOR:
        if given(kpp):
            errors.append(("kpp", "a sole proprietor has no KPP"))
    elif kind is LegalFormKind.LEGAL_ENTITY or given(kpp):
        check("kpp", kpp, validate_kpp)
    check("ogrn", ogrn, lambda v: _ogrn(v, kind))
    if given(okpo):
        check("okpo", okpo, lambda v: _okpo(v, kind))
    return errors


def validate_bank_requisites(
    bik: str | None, settlement_account: str | None, correspondent_account: str | None
) -> list[tuple[str, str]]:
    """A Russian bank's BIK and both accounts, the accounts' control keys against the BIK;
    (field, message) pairs named within the bank (`bik`, `settlement_account`, …)."""
    errors: list[tuple[str, str]] = []
    check = _checker(errors, within="bank.")
    bank = check("bik", bik, validate_bik)
    if bank is None:
        # Without a usable BIK only the accounts' length can be checked.
        check(
            "settlement_account",
            settlement_account,
            lambda v: _digits(v, "settlement account", length=20),
        )
        check(
            "correspondent_account",
            correspondent_account,
            lambda v: _digits(v, "correspondent account", length=20),
        )
    else:
        check(
            "settlement_account",
            settlement_account,
            lambda v: validate_settlement_account(v, bank),
        )
        check(
            "correspondent_account",
            correspondent_account,
            lambda v: validate_correspondent_account(v, bank),
        )
    return errors


def _checker(
    errors: list[tuple[str, str]], within: str = ""
) -> Callable[[str, str | None, Callable[[str], str]], str | None]:
    """Checks one field, noting in `errors` what is wrong; `within` names its labels' group."""

    def check(field: str, value: str | None, validate: Callable[[str], str]) -> str | None:
        if not given(value):
            errors.append((field, f"{LABELS[within + field]} is required"))
            return None
        assert value is not None
        try:
            return validate(value)
        except RequisiteError as error:
            errors.append((field, str(error)))
            return None

    return check


# What each field is called in "… is required".
LABELS = {
    "legal_form": "legal form",
    "tax_id": "a non-resident organization's tax id",
    "inn": "INN",
    "kpp": "KPP of a legal entity",
    "ogrn": "OGRN",
    "okpo": "OKPO",
    "bank.bik": "BIK",
    "bank.settlement_account": "settlement account",
    "bank.correspondent_account": "correspondent account",
    # The other fields of an organization's form (services.identity.requisites.form).
    "full_name": "the full name",
    "director_name": "the director's name",
    "director_name_genitive": "the director's name in the genitive",
    "director_basis": "the document the director acts on",
    "okved": "OKVED",
    "bank.name": "the bank's name",
    "postal_code": "the postal index",
    "region": "the region",
    "locality": "the locality",
    "line": "the address as in the charter",
}


def given(value: str | None) -> bool:
    """Something other than spaces was written."""
    return value is not None and bool(value.strip())


def _refuse_natural_person(legal_form: str) -> str:
    if is_natural_person(legal_form):
        raise RequisiteError(NATURAL_PERSON_REFUSED)
    return legal_form.strip()
