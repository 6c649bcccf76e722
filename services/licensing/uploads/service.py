"""Rule 3: upload of contracts into an organization's account.

A contact names contracts by number and accepts the account terms in force (version and time
recorded). The request is approved at once when, for every contract, the requester's e-mail is
the licensee's or the end user's from the contract and the licensee INN is the organization's;
otherwise an admin decides. On approval the contracts, their licenses, acts and documents are
the organization's (`licensing.contract.attached`, `licensing.license.issued` per license). A
contract already in another organization's account is never moved, not even by an admin.
"""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.licensing.access import Viewer
from services.licensing.contracts.repository import ContractRepository
from services.licensing.licenses.service import license_service
from services.licensing.models import Contract, Organization, UploadRequest
from services.licensing.organizations.service import organization_read_model
from services.licensing.partners.service import partner_service
from services.licensing.uploads.repository import UploadRequestRepository
from services.licensing.uploads.schemas import UploadRequestCreate
from services.licensing.uploads.terms import TERMS_VERSION
from shared.auth import Principal
from shared.bus.outbox import Outbox
from shared.clock import Clock
from shared.events.licensing import ContractAttached
from shared.pagination import PageParams
from shared.problems import Conflict, FieldError, InvalidInput, NotFound, ValidationFailed

REQUEST_NOT_FOUND = "No such upload request"


def matches(contract: Contract, organization: Organization | None, email: str | None) -> bool:
    """The automatic-approval test of rule 3 for one contract."""
    if organization is None or email is None or organization.inn != contract.licensee_inn:
        return False
    if contract.organization_id not in (None, organization.id):
        return False
    return email in (contract.licensee_email, contract.end_user_email)


class UploadService:
    async def request(
        self,
        session: AsyncSession,
        clock: Clock,
        outbox: Outbox,
        contact: Principal,
        asked: UploadRequestCreate,
    ) -> UploadRequest:
        if not asked.accept_terms:
            raise InvalidInput("accept_terms", "the account terms must be accepted")
        if asked.terms_version != TERMS_VERSION:
            raise InvalidInput(
                "terms_version", f"is not the version in force ({TERMS_VERSION}): read them again"
            )
        assert contact.organization_id is not None and contact.user_id is not None
        numbers = list(dict.fromkeys(asked.numbers))
        contracts = await ContractRepository(session).by_numbers(numbers, for_update=True)
        found = {contract.number for contract in contracts}
        missing = [
            FieldError(field=f"numbers[{index}]", message="no contract has this number")
            for index, number in enumerate(asked.numbers)
            if number not in found
        ]
        if missing:
            raise ValidationFailed(missing)
        now = clock.now()
        request = UploadRequest(
            organization_id=contact.organization_id,
            requested_by=contact.user_id,
            numbers=numbers,
            terms_version=asked.terms_version,
            accepted_at=now,
            status="pending",
        )
        await UploadRequestRepository(session).add(request)
        organization = await organization_read_model.find(session, contact.organization_id)
        email = await organization_read_model.email_of(session, contact.user_id)
        if all(matches(contract, organization, email) for contract in contracts):
            await self._approve(session, clock, outbox, request, contracts, None)
        return request

    async def list_for(
        self, session: AsyncSession, viewer: Viewer, status: str | None, params: PageParams
    ) -> tuple[list[UploadRequest], str | None]:
        return await UploadRequestRepository(session).page_for(viewer, status, params)

    async def approve(
        self,
        session: AsyncSession,
        clock: Clock,
        outbox: Outbox,
        admin: Principal,
        request_id: uuid.UUID,
    ) -> UploadRequest:
        request = await self._pending(session, request_id)
        contracts = await ContractRepository(session).by_numbers(request.numbers, for_update=True)
        taken = [
            c.number for c in contracts if c.organization_id not in (None, request.organization_id)
        ]
        if taken:
            raise Conflict(f"Already in another organization's account: {', '.join(taken)}")
        await self._approve(session, clock, outbox, request, contracts, admin.user_id)
        return request

    async def reject(
        self,
        session: AsyncSession,
        clock: Clock,
        admin: Principal,
        request_id: uuid.UUID,
        reason: str,
    ) -> UploadRequest:
        request = await self._pending(session, request_id)
        request.status = "rejected"
        request.decided_at = clock.now()
        request.decided_by = admin.user_id
        request.reason = reason
        await session.flush()
        return request

    async def _pending(self, session: AsyncSession, request_id: uuid.UUID) -> UploadRequest:
        request = await UploadRequestRepository(session).get(request_id, for_update=True)
        if request is None:
            raise NotFound(REQUEST_NOT_FOUND)
        if request.status != "pending":
            raise Conflict(f"The request is {request.status} already")
        return request

    async def _approve(
        self,
        session: AsyncSession,
        clock: Clock,
        outbox: Outbox,
        request: UploadRequest,
        contracts: list[Contract],
        admin_id: uuid.UUID | None,
    ) -> None:
        now = clock.now()
        request.status = "approved"
        request.decided_at = now
        request.decided_by = admin_id
        for contract in contracts:
            if contract.organization_id == request.organization_id:
                continue  # in this account already
            contract.organization_id = request.organization_id
            contract.attached_at = now
            await partner_service.link(
                session,
                outbox,
                contract.partner_id,
                request.organization_id,
                "contract",
                contract.id,
                now,
            )
            for license_ in contract.licenses:
                # One registered by its product key is someone's already.
                if license_.organization_id is None:
                    await license_service.issue(
                        session, clock, outbox, license_, request.organization_id
                    )
            await outbox.add(
                session,
                ContractAttached(
                    contract_id=contract.id,
                    number=contract.number,
                    contract_date=contract.contract_date,
                    organization_id=request.organization_id,
                    licensee_inn=contract.licensee_inn,
                    licensee_kpp=contract.licensee_kpp,
                    licensee_name=contract.licensee_name,
                    upload_request_id=request.id,
                ),
            )
        await session.flush()


upload_service = UploadService()
