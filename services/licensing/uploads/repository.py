"""Every query of upload requests."""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.licensing.access import Viewer
from services.licensing.models import UploadRequest
from shared.pagination import PageParams, paginate


class UploadRequestRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, request: UploadRequest) -> None:
        self.session.add(request)
        await self.session.flush()

    async def get(self, request_id: uuid.UUID, *, for_update: bool = False) -> UploadRequest | None:
        statement = select(UploadRequest).where(UploadRequest.id == request_id)
        if for_update:
            statement = statement.with_for_update()
        return await self.session.scalar(statement)

    async def page_for(
        self, viewer: Viewer, status: str | None, params: PageParams
    ) -> tuple[list[UploadRequest], str | None]:
        statement = select(UploadRequest).where(viewer.sees(UploadRequest.organization_id))
        if status is not None:
            statement = statement.where(UploadRequest.status == status)
        return await paginate(self.session, statement, [UploadRequest.id], params)
