"""Every query of callback requests."""

import uuid
from datetime import datetime
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.models import CallbackRequest
from shared.db import advisory_key
from shared.pagination import PageParams, paginate

# What a rate limit of requests counts (rule 10).
Counted = Literal["phone", "address"]


class CallbackRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock(self, name: str) -> None:
        """Serializes requests for one phone (or address) until this transaction ends, so two
        at once cannot both pass the limit."""
        await self.session.execute(select(func.pg_advisory_xact_lock(advisory_key(name))))

    async def count_since(
        self, counted: Counted, value: str, since: datetime
    ) -> tuple[int, datetime | None]:
        """How many requests from this phone (or address) came after `since`, and the oldest."""
        column = CallbackRequest.phone if counted == "phone" else CallbackRequest.client_address
        row = (
            await self.session.execute(
                select(func.count(), func.min(CallbackRequest.requested_at)).where(
                    column == value, CallbackRequest.requested_at > since
                )
            )
        ).one()
        return int(row[0]), row[1]

    async def add(self, callback: CallbackRequest) -> CallbackRequest:
        self.session.add(callback)
        await self.session.flush()
        return callback

    async def get(self, callback_id: uuid.UUID) -> CallbackRequest | None:
        return await self.session.scalar(
            select(CallbackRequest).where(CallbackRequest.id == callback_id).with_for_update()
        )

    async def page(
        self, status: str | None, params: PageParams
    ) -> tuple[list[CallbackRequest], str | None]:
        statement = select(CallbackRequest)
        if status is not None:
            statement = statement.where(CallbackRequest.status == status)
        return await paginate(
            self.session,
            statement,
            [CallbackRequest.scheduled_for, CallbackRequest.id],
            params,
        )
