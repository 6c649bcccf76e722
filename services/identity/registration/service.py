"""Registration step by step (spec 10-identity, rules 1-6 and 9): lookup by INN, the new
organization or the joining contact checked at once, e-mail and phone proved with one-time
codes, and only then the organization and the user created and announced on the bus."""

import contextlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import NamedTuple

import structlog
from sqlalchemy.ext.asyncio import AsyncSession
from uuid6 import uuid7

from services.identity.accounts.passwords import check_password_rules, hash_secret
from services.identity.codes.delivery import Delivery
from services.identity.codes.service import CodeService
from services.identity.config import Settings
from services.identity.directory.parsers import RegistryRecord
from services.identity.directory.providers import RegistryUnavailableError
from services.identity.directory.repository import DirectoryRepository
from services.identity.directory.service import registry_provider
from services.identity.models import Organization, PendingRegistration, User
from services.identity.organizations.schemas import customer_number_text
from services.identity.registration.repository import RegistrationRepository
from services.identity.registration.schemas import (
    AddressPrefill,
    Channel,
    ContactDraft,
    ContactIn,
    LookupRequest,
    LookupResult,
    NewOrganization,
    OrganizationChoice,
    OrganizationDraft,
    OrganizationPrefill,
    RegistrationRequest,
    RegistrationStatus,
    Requisites,
)
from services.identity.requisites import (
    NATURAL_PERSON_REFUSED,
    LegalFormKind,
    RequisiteError,
    classification_for,
    director_name_genitive,
    is_natural_person,
    known_okved,
    normalize_email,
    normalize_phone,
    resolve_legal_form,
    validate_bik,
    validate_correspondent_account,
    validate_inn,
    validate_kpp,
    validate_ogrn,
    validate_okpo,
    validate_organization_requisites,
    validate_postal_code,
    validate_settlement_account,
)
from services.identity.requisites.organization import (
    Address,
    AddressIn,
    BankDetails,
    BankDetailsIn,
    autofill_bank,
    autofill_region_and_locality,
    suggested_classification,
    suggested_genitive,
    without_quotes,
    written_with_quotes,
)
from shared.bus.outbox import Outbox
from shared.clock import Clock
from shared.events.identity import OrganizationRegistered, UserRegistered
from shared.problems import Conflict, FieldError, InvalidInput, NotFound, ValidationFailed

log = structlog.get_logger(__name__)

RUSSIA = "RU"
CODE_PURPOSE = "registration"
CHANNELS: tuple[Channel, ...] = ("email", "phone")
NEW_ORGANIZATION_ROLES = ["contact", "responsible"]
JOINING_CONTACT_ROLES = ["contact"]

EMAIL_CODE_TEXT = (
    "Код подтверждения e-mail для регистрации в Kabinet: {code}\n"
    "Код действует 10 минут. Если вы не регистрировались, не отвечайте на это письмо."
)
SMS_CODE_TEXT = "Kabinet: код подтверждения телефона {code}"


class _Names(NamedTuple):
    full_name: str
    director_name: str
    director_name_genitive: str
    director_basis: str
    """The document the director acts on, in the genitive: "Устава"."""


@dataclass(frozen=True)
class LoginNotice:
    """The e-mail that tells a newly registered person their login."""

    email: str
    full_name: str
    organization_name: str
    customer_number: str


class RegistrationService:
    def __init__(
        self,
        session: AsyncSession,
        *,
        settings: Settings,
        clock: Clock,
        codes: CodeService,
        outbox: Outbox,
    ) -> None:
        self.session = session
        self.settings = settings
        self.clock = clock
        self.codes = codes
        self.outbox = outbox
        self.repository = RegistrationRepository(session)
        self.directory = DirectoryRepository(session)

    # --- step 1: lookup by INN (+ KPP) -----------------------------------------------------

    async def lookup(self, request: LookupRequest) -> LookupResult:
        country = request.country.strip().upper()
        if country != RUSSIA:
            found = await self.repository.organizations_with_tax_id(country, request.inn.strip())
            return _lookup_result(found, prefill=None)
        inn, kpp = _lookup_requisites(request)
        found = await self.repository.organizations_with_inn(inn, kpp)
        if found:
            return _lookup_result(found, prefill=None)
        return _lookup_result(found, prefill=await self._registry_prefill(inn, kpp))

    async def _registry_prefill(self, inn: str, kpp: str | None) -> OrganizationPrefill | None:
        provider = registry_provider(self.settings, self.session)
        if provider is None:
            return None
        try:
            record = await provider.find_by_inn(inn, kpp)
        except RegistryUnavailableError as error:
            # The prefill only saves typing: the person can still fill the form by hand.
            log.warning("registry_unavailable", error=str(error))
            return None
        return None if record is None else _prefill(record)

    # --- step 2: the organization (or the one to join) and the contact ---------------------

    async def start(self, request: RegistrationRequest) -> RegistrationStatus:
        errors: list[FieldError] = []
        draft: OrganizationDraft | None = None
        join: Organization | None = None
        if request.organization is not None and request.organization_id is not None:
            errors.append(_error("organization", "give organization_id or organization, not both"))
        elif request.organization is not None:
            draft = await self._check_new_organization(request.organization, errors)
        elif request.organization_id is not None:
            join = await self.repository.get_organization(request.organization_id)
            if join is None:
                errors.append(_error("organization_id", "no organization with this id"))
        else:
            errors.append(
                _error("organization_id", "give organization_id to join or organization to add")
            )
        contact = _check_contact(request.contact, self.settings.password_min_length, errors)
        if errors:
            raise ValidationFailed(errors)
        assert contact is not None and (draft is not None or join is not None)
        if draft is not None:
            await self._refuse_registered(draft)

        now = self.clock.now()
        pending = PendingRegistration(
            id=uuid7(),
            organization_id=join.id if join is not None else None,
            organization=draft.model_dump(mode="json") if draft is not None else None,
            contact=contact.model_dump(),
            password_hash=await hash_secret(request.contact.password),
            email=contact.email,
            phone=contact.phone,
            created_at=now,
            expires_at=now + timedelta(hours=self.settings.registration_ttl_hours),
        )
        await self.repository.add(pending)
        # Whether the e-mail is known elsewhere is not looked at here: answering differently
        # would tell an unproved caller who is registered (rule 7).
        for channel in CHANNELS:
            await self._send_code(pending, channel)
        return _status(pending)

    async def _check_new_organization(
        self, organization: NewOrganization, errors: list[FieldError]
    ) -> OrganizationDraft | None:
        """Checks every field, fills what the directories and derivations know; None if wrong."""
        if is_natural_person(organization.legal_form):
            # Rule 1: nothing else matters, a natural person is not a customer.
            raise ValidationFailed(
                [_error("organization.legal_form", NATURAL_PERSON_REFUSED)],
                detail=NATURAL_PERSON_REFUSED,
            )
        found: list[FieldError] = []
        country = organization.country.strip().upper()
        if country == RUSSIA:
            draft = await self._check_russian_organization(organization, found)
        else:
            draft = self._check_non_resident(organization, country, found)
        errors.extend(found)
        return draft if not found else None

    async def _check_russian_organization(
        self, org: NewOrganization, errors: list[FieldError]
    ) -> OrganizationDraft | None:
        bank = await self._bank_with_directory(org.bank)
        for field, message in validate_organization_requisites(
            org.legal_form,
            org.inn,
            org.kpp,
            org.ogrn,
            org.okpo,
            bank.bik,
            bank.settlement_account,
            bank.correspondent_account,
            country=RUSSIA,
        ):
            errors.append(_error(f"organization.{field}", message))
        if _given(org.tax_id):
            errors.append(_error("organization.tax_id", "a Russian organization gives its INN"))
        if not _given(bank.name):
            errors.append(_error("organization.bank.name", "the bank's name is required"))
        okved = classification = None
        if not _given(org.okved):
            errors.append(_error("organization.okved", "OKVED is required"))
        else:
            assert org.okved is not None
            okved = _derive(known_okved, org.okved, "organization.okved", errors)
            # Rule 2: derived from OKVED unless the person sets it by hand.
            classification = _clean(org.classification) or (
                classification_for(okved) if okved else None
            )
        names = self._check_names(org, errors)
        legal_address = await self._check_address(
            org.legal_address, "organization.legal_address", errors
        )
        actual_address = (
            await self._check_address(org.actual_address, "organization.actual_address", errors)
            if org.actual_address is not None
            else legal_address
        )
        if errors or names is None or legal_address is None or actual_address is None:
            return None
        form = resolve_legal_form(org.legal_form)
        assert org.inn and org.ogrn and bank.bik and bank.settlement_account
        assert bank.correspondent_account
        bik = validate_bik(bank.bik)
        return OrganizationDraft(
            country=RUSSIA,
            resident=True,
            kind=form.kind.value,
            legal_form=form.code,
            full_name=names.full_name,
            short_name=_clean(org.short_name),
            subdivision=_clean(org.subdivision),
            inn=validate_inn(org.inn),
            # validate_organization_requisites refused a KPP of a sole proprietor already.
            kpp=validate_kpp(org.kpp) if org.kpp else None,
            tax_id=None,
            requisites=Requisites(
                ogrn=validate_ogrn(org.ogrn),
                okved=okved,
                okpo=validate_okpo(org.okpo) if _given(org.okpo) and org.okpo else None,
                classification=classification,
                director_name=names.director_name,
                director_name_genitive=names.director_name_genitive,
                director_basis=names.director_basis,
                bank=BankDetails(
                    bik=bik,
                    name=_clean(bank.name),
                    settlement_account=validate_settlement_account(bank.settlement_account, bik),
                    correspondent_account=validate_correspondent_account(
                        bank.correspondent_account, bik
                    ),
                ),
                legal_address=legal_address,
                actual_address=actual_address,
            ),
        )

    def _check_non_resident(
        self, org: NewOrganization, country: str, errors: list[FieldError]
    ) -> OrganizationDraft | None:
        """Rule 2: a non-resident gives its own tax id; no Russian check applies to it."""
        for field, message in validate_organization_requisites(
            org.legal_form, None, None, None, None, None, None, None, country, org.tax_id
        ):
            errors.append(_error(f"organization.{field}", message))
        for field, value in (("inn", org.inn), ("kpp", org.kpp)):
            if _given(value):
                errors.append(
                    _error(f"organization.{field}", "a non-resident gives tax_id instead")
                )
        names = self._check_names(org, errors)
        if errors or names is None:
            return None
        try:
            form_code, kind = _legal_form_and_kind(org.legal_form)
        except RequisiteError:
            # Foreign legal forms (GmbH, Ltd, …) are not in the Russian list: an entity.
            form_code, kind = org.legal_form.strip(), LegalFormKind.LEGAL_ENTITY
        classification = _clean(org.classification)
        if classification is None and org.okved:
            classification = suggested_classification(org.okved)
        legal_address = _address(org.legal_address)
        bank = org.bank or BankDetailsIn()
        return OrganizationDraft(
            country=country,
            resident=False,
            kind=kind.value,
            legal_form=form_code,
            full_name=names.full_name,
            short_name=_clean(org.short_name),
            subdivision=_clean(org.subdivision),
            inn=None,
            kpp=None,
            tax_id=(org.tax_id or "").strip(),
            requisites=Requisites(
                ogrn=_clean(org.ogrn),
                okved=_clean(org.okved),
                okpo=_clean(org.okpo),
                classification=classification,
                director_name=names.director_name,
                director_name_genitive=names.director_name_genitive,
                director_basis=names.director_basis,
                bank=BankDetails(**bank.model_dump()) if org.bank is not None else None,
                legal_address=legal_address,
                actual_address=(
                    _address(org.actual_address) if org.actual_address else legal_address
                ),
            ),
        )

    def _check_names(self, org: NewOrganization, errors: list[FieldError]) -> "_Names | None":
        found: list[FieldError] = []
        full_name = org.full_name.strip()
        if not full_name:
            found.append(_error("organization.full_name", "the full name is required"))
        elif written_with_quotes(full_name):
            found.append(_error("organization.full_name", "write the full name without quotes"))
        director = " ".join(org.director_name.split())
        if not director:
            found.append(_error("organization.director_name", "the director's name is required"))
        genitive = _clean(org.director_name_genitive)
        if genitive is None and director:
            # Rule 4: suggested automatically; the person may send a corrected one instead.
            genitive = _derive(
                director_name_genitive, director, "organization.director_name", found
            )
        basis = org.director_basis.strip()
        if not basis:
            found.append(
                _error(
                    "organization.director_basis", "the document the director acts on is required"
                )
            )
        errors.extend(found)
        if found or genitive is None:
            return None
        return _Names(full_name, director, genitive, basis)

    async def _bank_with_directory(self, bank: BankDetailsIn | None) -> BankDetailsIn:
        """The bank's name and correspondent account come from the BIK directory when missing."""
        bank = bank or BankDetailsIn()
        if bank.bik is None:
            return bank
        try:
            bik = validate_bik(bank.bik)
        except RequisiteError:
            return bank
        name, correspondent_account = await autofill_bank(
            self.directory, bik, _clean(bank.name), _clean(bank.correspondent_account)
        )
        return bank.model_copy(
            update={"name": name, "correspondent_account": correspondent_account}
        )

    async def _check_address(
        self, address: AddressIn, prefix: str, errors: list[FieldError]
    ) -> Address | None:
        """A Russian address: a real postal index; region and locality from it when missing."""
        found: list[FieldError] = []
        postal_code: str | None = None
        region, locality = _clean(address.region), _clean(address.locality)
        if not _given(address.postal_code):
            found.append(_error(f"{prefix}.postal_code", "the postal index is required"))
        else:
            assert address.postal_code is not None
            postal_code = _derive(
                validate_postal_code, address.postal_code, f"{prefix}.postal_code", found
            )
        if postal_code is not None:
            region, locality = await autofill_region_and_locality(
                self.directory, postal_code, region, locality
            )
        if region is None:
            found.append(_error(f"{prefix}.region", "the region is required"))
        if locality is None:
            found.append(_error(f"{prefix}.locality", "the locality is required"))
        if not address.line.strip():
            found.append(_error(f"{prefix}.line", "the address as in the charter is required"))
        errors.extend(found)
        if found:
            return None
        return Address(
            postal_code=postal_code,
            region=region,
            district=_clean(address.district),
            locality=locality,
            street=_clean(address.street),
            line=address.line.strip(),
        )

    async def _refuse_registered(self, draft: OrganizationDraft) -> None:
        """An organization registered already is joined, not registered twice (rule 3)."""
        same = [
            org
            for org in await self._organizations_like(draft)
            if (org.subdivision or None) == draft.subdivision
        ]
        if same:
            raise Conflict(
                "This organization is registered already: register as its contact "
                "with organization_id",
                organizations=[_choice(org).model_dump(mode="json") for org in same],
            )

    async def _organizations_like(self, draft: OrganizationDraft) -> Sequence[Organization]:
        if draft.resident:
            assert draft.inn is not None
            return await self.repository.organizations_with_inn(draft.inn, draft.kpp)
        assert draft.tax_id is not None
        return await self.repository.organizations_with_tax_id(draft.country, draft.tax_id)

    # --- step 3: codes, and completion when both are verified ------------------------------

    async def verify(
        self, registration_id: uuid.UUID, channel: Channel, code: str
    ) -> tuple[RegistrationStatus, LoginNotice | None]:
        # The code first, in a transaction of its own, before this request's session takes a
        # connection: no request holds two pooled connections at once.
        refusal: InvalidInput | None = None
        try:
            await self.codes.verify(
                purpose=CODE_PURPOSE,
                subject=_subject(registration_id, channel),
                code=code,
                field="code",
            )
        except InvalidInput as refused:
            refusal = refused
        pending = await self._live(registration_id)
        if pending.completed_at is not None or _verified_at(pending, channel) is not None:
            # Repeating a call that succeeded answers the same again.
            return await self._current_status(pending), None
        if refusal is not None:
            raise refusal
        now = self.clock.now()
        if channel == "email":
            pending.email_verified_at = now
        else:
            pending.phone_verified_at = now
        if _pending_channels(pending):
            await self.session.flush()
            return _status(pending), None
        return await self._complete(pending)

    async def resend(self, registration_id: uuid.UUID, channel: Channel) -> RegistrationStatus:
        pending = await self._live(registration_id)
        if pending.completed_at is not None:
            raise Conflict("The registration is completed already")
        if _verified_at(pending, channel) is not None:
            raise Conflict(f"The {channel} is verified already")
        await self._send_code(pending, channel)
        return _status(pending)

    async def _live(self, registration_id: uuid.UUID) -> PendingRegistration:
        pending = await self.repository.get_pending(registration_id, for_update=True)
        if pending is None or pending.expires_at <= self.clock.now():
            # Expired and deleted look the same (404) whether or not the cleanup ran yet.
            raise NotFound("No registration in progress with this id; it may have expired")
        return pending

    async def _send_code(self, pending: PendingRegistration, channel: Channel) -> None:
        await self.codes.send(
            self.session,
            purpose=CODE_PURPOSE,
            subject=_subject(pending.id, channel),
            channel=channel,
            destination=pending.email if channel == "email" else pending.phone,
            text=EMAIL_CODE_TEXT if channel == "email" else SMS_CODE_TEXT,
        )

    async def _complete(
        self, pending: PendingRegistration
    ) -> tuple[RegistrationStatus, LoginNotice]:
        """Both codes verified: the organization (if new) and the user, and their events."""
        contact = ContactDraft.model_validate(pending.contact)
        if pending.organization is not None:
            organization = await self._create_organization(
                OrganizationDraft.model_validate(pending.organization)
            )
            roles = NEW_ORGANIZATION_ROLES
        else:
            assert pending.organization_id is not None
            joined = await self.repository.get_organization(pending.organization_id)
            if joined is None:
                raise NotFound("The organization to join no longer exists")
            organization, roles = joined, JOINING_CONTACT_ROLES
        # Two registrations of one e-mail into one organization complete one after the other.
        await self.repository.lock(f"contact:{organization.id}:{contact.email}")
        # Both codes are proved now, so telling the person about their own e-mail reveals nothing.
        if await self.repository.contact_exists(organization.id, contact.email):
            raise Conflict(
                "This e-mail is a contact of this organization already: sign in, "
                "or recover the password"
            )
        now = self.clock.now()
        user = User(
            id=uuid7(),
            organization_id=organization.id,
            full_name=contact.full_name,
            email=contact.email,
            phone=contact.phone,
            password_hash=pending.password_hash,
            roles=list(roles),
            created_at=now,
            password_changed_at=now,
        )
        await self.repository.add(user)
        pending.completed_at = now
        pending.user_id = user.id
        pending.organization_id = organization.id
        # The hash lives on with the user; the pending row need not keep a second copy.
        pending.password_hash = ""
        await self.session.flush()
        await self.outbox.add(
            self.session,
            UserRegistered(
                user_id=user.id,
                organization_id=organization.id,
                email=user.email,
                full_name=user.full_name,
                phone=user.phone,
                roles=user.roles,
            ),
        )
        log.info("registration_completed", registration_id=str(pending.id), user_id=str(user.id))
        notice = LoginNotice(
            email=user.email,
            full_name=user.full_name,
            organization_name=organization.short_name or organization.full_name,
            customer_number=customer_number_text(organization.customer_number),
        )
        return _completed(pending, organization), notice

    async def _create_organization(self, draft: OrganizationDraft) -> Organization:
        key = draft.inn if draft.resident else f"{draft.country}:{draft.tax_id}"
        await self.repository.lock(f"organization:{key}:{draft.kpp or ''}")
        # Another registration of the same organization may have completed meanwhile.
        await self._refuse_registered(draft)
        now = self.clock.now()
        organization = Organization(
            id=uuid7(),
            country=draft.country,
            resident=draft.resident,
            kind=draft.kind,
            legal_form=draft.legal_form,
            full_name=draft.full_name,
            short_name=draft.short_name,
            inn=draft.inn,
            kpp=draft.kpp,
            tax_id=draft.tax_id,
            subdivision=draft.subdivision,
            requisites=draft.requisites.model_dump(mode="json"),
            created_at=now,
            updated_at=now,
        )
        await self.repository.add(organization)
        await self.outbox.add(
            self.session,
            OrganizationRegistered(
                organization_id=organization.id,
                customer_number=customer_number_text(organization.customer_number),
                kind=draft.kind,
                legal_form=draft.legal_form,
                name=draft.name,
                full_name=draft.full_name,
                subdivision=draft.subdivision,
                country=draft.country,
                resident=draft.resident,
                inn=draft.inn,
                kpp=draft.kpp,
                foreign_tax_id=draft.tax_id,
            ),
        )
        return organization

    async def _current_status(self, pending: PendingRegistration) -> RegistrationStatus:
        if pending.completed_at is None:
            return _status(pending)
        assert pending.organization_id is not None
        organization = await self.repository.get_organization(pending.organization_id)
        assert organization is not None
        return _completed(pending, organization)


async def send_login_notice(delivery: Delivery, notice: LoginNotice) -> None:
    """Best effort, after the registration is committed: the login is shown in the answer too."""
    text = (
        f"Здравствуйте, {notice.full_name}!\n\n"
        f"Регистрация в Kabinet завершена.\n"
        f"Ваш логин: {notice.email}\n"
        f"Организация: {notice.organization_name}, номер клиента {notice.customer_number}.\n"
    )
    try:
        await delivery.send_email(notice.email, "Регистрация в Kabinet завершена", text)
    except Exception:
        log.exception("login_notice_not_sent", email=notice.email)


async def delete_expired_registrations(session: AsyncSession, clock: Clock) -> None:
    """Job: registrations older than their 24 hours are dropped with the codes sent for them."""
    deleted = await RegistrationRepository(session).delete_expired(clock.now(), CODE_PURPOSE)
    if deleted:
        log.info("expired_registrations_deleted", count=deleted)


# --- helpers ---------------------------------------------------------------------------------


def _error(field: str, message: str) -> FieldError:
    return FieldError(field=field, message=message)


def _given(value: str | None) -> bool:
    return value is not None and bool(value.strip())


def _clean(value: str | None) -> str | None:
    return value.strip() if _given(value) and value is not None else None


def _derive(
    derive: Callable[[str], str], value: str, field: str, errors: list[FieldError]
) -> str | None:
    """`derive(value)`, or None with the requisite rule it broke added to `errors`."""
    try:
        return derive(value)
    except RequisiteError as error:
        errors.append(_error(field, str(error)))
        return None


def _legal_form_and_kind(legal_form: str) -> tuple[str, LegalFormKind]:
    form = resolve_legal_form(legal_form)
    return form.code, form.kind


def _address(address: AddressIn) -> Address:
    return Address(
        postal_code=_clean(address.postal_code),
        region=_clean(address.region),
        district=_clean(address.district),
        locality=_clean(address.locality),
        street=_clean(address.street),
        line=address.line.strip(),
    )


def _check_contact(
    contact: ContactIn, password_min_length: int, errors: list[FieldError]
) -> ContactDraft | None:
    found: list[FieldError] = []
    full_name = " ".join(contact.full_name.split())
    if not full_name:
        found.append(_error("contact.full_name", "the full name is required"))
    phone = _derive(normalize_phone, contact.phone, "contact.phone", found)
    email = _derive(normalize_email, contact.email, "contact.email", found)
    try:
        check_password_rules(contact.password, password_min_length, field="contact.password")
    except ValidationFailed as wrong:
        found.extend(wrong.errors or [])
    errors.extend(found)
    if found or phone is None or email is None:
        return None
    # Logins compare e-mails case-insensitively, so they are kept lower-cased.
    return ContactDraft(full_name=full_name, phone=phone, email=email.lower())


def _lookup_requisites(request: LookupRequest) -> tuple[str, str | None]:
    errors: list[FieldError] = []
    inn = _derive(validate_inn, request.inn, "inn", errors)
    kpp = (
        _derive(validate_kpp, request.kpp, "kpp", errors)
        if _given(request.kpp) and request.kpp is not None
        else None
    )
    if inn is not None and len(inn) == 10 and kpp is None and not errors:
        errors.append(_error("kpp", "a legal entity is looked up by INN and KPP"))
    if inn is not None and len(inn) == 12 and _given(request.kpp):
        errors.append(_error("kpp", "a sole proprietor has no KPP"))
    if errors:
        raise ValidationFailed(errors)
    assert inn is not None
    return inn, kpp


def _lookup_result(
    found: Sequence[Organization], prefill: OrganizationPrefill | None
) -> LookupResult:
    return LookupResult(
        status="existing" if found else "new",
        organizations=[_choice(org) for org in found],
        prefill=prefill,
    )


def _choice(organization: Organization) -> OrganizationChoice:
    return OrganizationChoice(
        id=organization.id,
        name=organization.short_name or organization.full_name,
        kpp=organization.kpp,
        subdivision=organization.subdivision,
        customer_number=customer_number_text(organization.customer_number),
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


def _subject(registration_id: uuid.UUID, channel: Channel) -> str:
    return f"{registration_id}:{channel}"


def _verified_at(pending: PendingRegistration, channel: Channel) -> object | None:
    return pending.email_verified_at if channel == "email" else pending.phone_verified_at


def _pending_channels(pending: PendingRegistration) -> list[Channel]:
    return [channel for channel in CHANNELS if _verified_at(pending, channel) is None]


def _status(pending: PendingRegistration) -> RegistrationStatus:
    return RegistrationStatus(
        registration_id=pending.id,
        status="pending_verification",
        pending=_pending_channels(pending),
    )


def _completed(pending: PendingRegistration, organization: Organization) -> RegistrationStatus:
    """The person signs in with the verified e-mail (a phone works too, see sign-in)."""
    return RegistrationStatus(
        registration_id=pending.id,
        status="completed",
        pending=[],
        user_id=pending.user_id,
        organization_id=organization.id,
        customer_number=customer_number_text(organization.customer_number),
        login=pending.email,
    )
