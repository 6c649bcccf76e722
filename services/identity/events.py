"""The events identity handles (its queue is bound to exactly these types)."""

from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.auth.repository import SignInRepository
from services.identity.models import ContractLink
from shared.bus.consumer import EventHandlers
from shared.bus.envelope import Envelope
from shared.events.licensing import ContractAttached

handlers = EventHandlers()


@handlers.on(ContractAttached)
async def link_contract_for_accountants(
    session: AsyncSession, event: ContractAttached, envelope: Envelope
) -> None:
    """From now on an accountant signs in with the licensee INN and this contract's number."""
    await SignInRepository(session).link_contract(
        ContractLink(
            contract_id=event.contract_id,
            number=event.number,
            organization_id=event.organization_id,
            licensee_inn=event.licensee_inn,
            attached_at=envelope.occurred_at,
        )
    )
