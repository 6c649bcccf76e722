"""The one checker of an organization's requisites form, for registration and data-change
requests alike (spec 10-identity, rules 2 and 4).

`FormErrors` collects every wrong field of one form, so that a single 422 names them all;
`RequisitesForm` checks the parts of the form (names, tax and registry codes, the bank, the
addresses), filling in what the BIK and postal index directories know. Registration checks a
whole new organization; a data-change request checks only the parts it changes.
"""

from collections.abc import Callable, Iterable

from services.identity.directory.repository import DirectoryRepository
from services.identity.requisites.errors import RequisiteError
from services.identity.requisites.legal_forms import LegalFormKind
from services.identity.requisites.okved import known_okved
from services.identity.requisites.organization import (
    Address,
    AddressIn,
    BankDetails,
    BankDetailsIn,
    autofill_bank,
    autofill_region_and_locality,
    written_with_quotes,
)
from services.identity.requisites.validators import (
    LABELS,
    given,
    validate_bank_requisites,
    validate_bik,
    validate_correspondent_account,
    validate_kpp,
    validate_ogrn,
    validate_okpo,
    validate_postal_code,
    validate_settlement_account,
)
from shared.problems import FieldError, ValidationFailed


def clean(value: str | None) -> str | None:
    """The value without surrounding spaces; None when nothing was written."""
    return value.strip() if value is not None and value.strip() else None


def text(value: str) -> str:
    """Written text with its runs of spaces made single."""
    return " ".join(value.split())


class FormErrors:
    """Every wrong field of one form, named by its dotted path under `prefix`."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.items: list[FieldError] = []

    def __bool__(self) -> bool:
        return bool(self.items)

    def path(self, field: str) -> str:
        return f"{self.prefix}.{field}" if self.prefix else field

    def add(self, field: str, message: str) -> None:
        self.items.append(FieldError(field=self.path(field), message=message))

    def add_all(self, errors: Iterable[tuple[str, str]]) -> None:
        for field, message in errors:
            self.add(field, message)

    def required(self, field: str) -> None:
        label = LABELS.get(field) or LABELS.get(field.rpartition(".")[2])
        self.add(field, f"{label} is required" if label else "is required")

    def derive(self, field: str, value: str, derive: Callable[[str], str]) -> str | None:
        """`derive(value)`, or None with the requisite rule it broke noted for `field`."""
        try:
            return derive(value)
        except RequisiteError as error:
            self.add(field, str(error))
            return None

    def check(
        self, field: str, value: str | None, normalize: Callable[[str], str] = text
    ) -> str | None:
        """The normalized value of a required field, or None with what is wrong noted."""
        if value is None or not given(value):
            self.required(field)
            return None
        return self.derive(field, value, normalize)

    def optional(
        self, field: str, value: str | None, normalize: Callable[[str], str] = text
    ) -> str | None:
        """Like `check`, but a field left out is None and no error."""
        return self.check(field, value, normalize) if given(value) else None

    def raise_if_any(self) -> None:
        if self.items:
            raise ValidationFailed(self.items)


def _full_name(value: str) -> str:
    if written_with_quotes(value):
        raise RequisiteError("write the full name without quotes")
    return text(value)


class RequisitesForm:
    """The parts of one organization's requisites, checked as a Russian organization's
    (`resident`) or as a non-resident's, whose own codes no Russian rule applies to."""

    def __init__(
        self,
        directory: DirectoryRepository,
        errors: FormErrors,
        *,
        resident: bool,
        legal_form: str | None = None,
    ) -> None:
        self.directory = directory
        self.errors = errors
        self.resident = resident
        # The legal form whose lengths OGRN and OKPO must agree with; None when not a known one.
        self.legal_form = legal_form

    def full_name(self, value: str | None) -> str | None:
        return self.errors.check("full_name", value, _full_name)

    def kpp(self, value: str | None, kind: str) -> str | None:
        if not self.resident:
            self.errors.add(
                "kpp", "a non-resident organization has no KPP; it gives its own tax id"
            )
            return None
        if kind == LegalFormKind.SOLE_PROPRIETOR.value:
            self.errors.add("kpp", "a sole proprietor has no KPP")
            return None
        return self.errors.check("kpp", value, validate_kpp)

    def ogrn(self, value: str | None) -> str | None:
        if not self.resident:
            return self.errors.check("ogrn", value)
        return self.errors.check("ogrn", value, lambda v: validate_ogrn(v, self.legal_form))

    def okved(self, value: str | None) -> str | None:
        return self.errors.check("okved", value, known_okved if self.resident else text)

    def okpo(self, value: str | None) -> str | None:
        """OKPO is optional: None when left out."""
        if not self.resident:
            return self.errors.optional("okpo", value)
        return self.errors.optional("okpo", value, lambda v: validate_okpo(v, self.legal_form))

    async def bank(self, bank: BankDetailsIn | None) -> BankDetails | None:
        """A Russian bank complete and checked against its BIK, its name and correspondent
        account from the BIK directory when left out; a non-resident's bank kept as given."""
        if not self.resident:
            if bank is None:
                return None
            return BankDetails(
                bik=clean(bank.bik),
                name=clean(bank.name),
                settlement_account=clean(bank.settlement_account),
                correspondent_account=clean(bank.correspondent_account),
            )
        bank = bank or BankDetailsIn()
        name, correspondent = clean(bank.name), clean(bank.correspondent_account)
        bik = _valid_or_none(validate_bik, bank.bik)
        if bik is not None:
            name, correspondent = await autofill_bank(self.directory, bik, name, correspondent)
        wrong = validate_bank_requisites(bank.bik, bank.settlement_account, correspondent)
        self.errors.add_all((f"bank.{field}", message) for field, message in wrong)
        name = self.errors.check("bank.name", name)
        if wrong or bik is None or name is None:
            return None
        assert bank.settlement_account is not None and correspondent is not None
        return BankDetails(
            bik=bik,
            name=name,
            settlement_account=validate_settlement_account(bank.settlement_account, bik),
            correspondent_account=validate_correspondent_account(correspondent, bik),
        )

    async def address(self, field: str, address: AddressIn | None) -> Address | None:
        """A Russian address has a real postal index, and its region and locality (from the
        index when left out); a non-resident's is kept as written."""
        if address is None:
            self.errors.required(field)
            return None
        region, locality = clean(address.region), clean(address.locality)
        postal_code = clean(address.postal_code)
        if self.resident:
            postal_code = self.errors.check(
                f"{field}.postal_code", address.postal_code, validate_postal_code
            )
            if postal_code is not None:
                region, locality = await autofill_region_and_locality(
                    self.directory, postal_code, region, locality
                )
            region = self.errors.check(f"{field}.region", region, str.strip)
            locality = self.errors.check(f"{field}.locality", locality, str.strip)
        line = self.errors.check(f"{field}.line", address.line, str.strip)
        if self.resident and (postal_code is None or region is None or locality is None):
            return None
        return Address(
            postal_code=postal_code,
            region=region,
            district=clean(address.district),
            locality=locality,
            street=clean(address.street),
            line=line,
        )


def _valid_or_none(validate: Callable[[str], str], value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return validate(value)
    except RequisiteError:
        return None
