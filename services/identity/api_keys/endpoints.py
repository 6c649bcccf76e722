"""Partner API keys: issued, listed and revoked by an admin; verified for the gateway."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from services.identity.api_keys.schemas import (
    ApiKeyCreate,
    ApiKeyIssued,
    ApiKeyPresented,
    ApiKeyRead,
    ApiKeyVerified,
)
from services.identity.api_keys.service import api_key_service
from services.identity.dependencies import IdentityAdmin
from shared.db import SessionDep
from shared.pagination import Page, PageDep
from shared.problems import PROBLEM_RESPONSES
from shared.service import ClockDep

router = APIRouter(tags=["API keys"], responses=PROBLEM_RESPONSES)


@router.post("/api/v1/api-keys", response_model=ApiKeyIssued, status_code=201)
async def issue_api_key(
    body: ApiKeyCreate, admin: IdentityAdmin, session: SessionDep, clock: ClockDep
) -> ApiKeyIssued:
    """A key for a partner organization; `key` is in this answer only, never again."""
    api_key, key = await api_key_service.issue(session, clock, admin, body)
    return ApiKeyIssued(id=api_key.id, key=key, prefix=api_key.prefix, scopes=api_key.scopes)


@router.get("/api/v1/api-keys", response_model=Page[ApiKeyRead])
async def list_api_keys(
    admin: IdentityAdmin,
    session: SessionDep,
    page: PageDep,
    organization_id: Annotated[uuid.UUID | None, Query()] = None,
) -> Page[ApiKeyRead]:
    keys, next_cursor = await api_key_service.list_keys(session, page, organization_id)
    return Page(items=[ApiKeyRead.of(key) for key in keys], next_cursor=next_cursor)


@router.delete("/api/v1/api-keys/{api_key_id}", status_code=204)
async def revoke_api_key(
    api_key_id: uuid.UUID, admin: IdentityAdmin, session: SessionDep, clock: ClockDep
) -> Response:
    await api_key_service.revoke(session, clock, api_key_id)
    return Response(status_code=204)


# Outside /api/v1: the gateway routes only public prefixes, so only it can reach this.
@router.post("/internal/api-keys/verify", response_model=ApiKeyVerified, include_in_schema=False)
async def verify_api_key(
    body: ApiKeyPresented, session: SessionDep, clock: ClockDep
) -> ApiKeyVerified:
    """Who an `X-API-Key` belongs to, or 404 for an unknown or revoked key."""
    api_key = await api_key_service.verify(session, clock, body.key)
    return ApiKeyVerified(
        api_key_id=api_key.id,
        organization_id=api_key.organization_id,
        scopes=api_key.scopes,
        prefix=api_key.prefix,
    )
