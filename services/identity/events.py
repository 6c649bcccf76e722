"""The events identity handles (its queue is bound to exactly these types)."""

import structlog
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.auth.repository import SignInRepository
from services.identity.models import ContractLink, Organization
from shared.bus.consumer import EventHandlers
from shared.bus.envelope import Envelope
from shared.events.licensing import ContractAttached

log = structlog.get_logger(__name__)

handlers = EventHandlers()

CONTRACTS_FOR_UNKNOWN_ORGANIZATIONS = Counter(
    "kabinet_identity_contracts_for_unknown_organizations_total",
    "licensing.contract.attached events naming an organization identity does not have (ignored)",
)


@handlers.on(ContractAttached)
async def link_contract_for_accountants(
    session: AsyncSession, event: ContractAttached, envelope: Envelope
) -> None:
    """From now on an accountant signs in with the licensee INN and this contract's number.

    identity creates every organization and gives it its id, and never deletes one: a contract
    attached to an id identity does not know can never come to match one later. It is ignored
    (logged and counted, recorded as handled) instead of failing until it reaches the DLQ and
    holding up licensing's later events meanwhile.
    """
    if await session.get(Organization, event.organization_id) is None:
        CONTRACTS_FOR_UNKNOWN_ORGANIZATIONS.inc()
        log.warning(
            "contract_for_unknown_organization",
            contract_id=str(event.contract_id),
            organization_id=str(event.organization_id),
            event_id=str(envelope.id),
        )
        return
    await SignInRepository(session).link_contract(
        ContractLink(
            contract_id=event.contract_id,
            number=event.number,
            organization_id=event.organization_id,
            licensee_inn=event.licensee_inn,
            attached_at=envelope.occurred_at,
        )
    )
