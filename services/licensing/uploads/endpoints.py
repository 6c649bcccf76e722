"""Upload requests (rule 3): a contact asks, the rule or an admin approves."""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from services.licensing.access import ContactPrincipal, ReaderPrincipal, viewer_of
from services.licensing.uploads.schemas import (
    Rejection,
    Terms,
    UploadRequestCreate,
    UploadRequestRead,
)
from services.licensing.uploads.service import upload_service
from services.licensing.uploads.terms import TERMS_TEXT, TERMS_VERSION
from shared.auth import AdminPrincipal
from shared.db import SessionDep
from shared.pagination import Page, PageDep
from shared.problems import PROBLEM_RESPONSES
from shared.service import ClockDep, OutboxDep

router = APIRouter(tags=["upload requests"], responses=PROBLEM_RESPONSES)


@router.get("/api/v1/upload-requests/terms", response_model=Terms)
async def read_terms() -> Terms:
    """The account terms in force, which an upload request accepts by their version."""
    return Terms(version=TERMS_VERSION, text=TERMS_TEXT)


@router.post("/api/v1/upload-requests", response_model=UploadRequestRead, status_code=201)
async def request_upload(
    body: UploadRequestCreate,
    contact: ContactPrincipal,
    session: SessionDep,
    clock: ClockDep,
    outbox: OutboxDep,
) -> UploadRequestRead:
    """Approved at once when the requester's e-mail and the INN match every contract;
    otherwise pending for an admin."""
    return UploadRequestRead.of(await upload_service.request(session, clock, outbox, contact, body))


@router.get("/api/v1/upload-requests", response_model=Page[UploadRequestRead])
async def list_upload_requests(
    principal: ReaderPrincipal,
    session: SessionDep,
    page: PageDep,
    status: Annotated[Literal["pending", "approved", "rejected"] | None, Query()] = None,
) -> Page[UploadRequestRead]:
    """The organization's requests; staff see every organization's (`?status=pending`)."""
    requests, next_cursor = await upload_service.list_for(
        session, viewer_of(principal), status, page
    )
    return Page(items=[UploadRequestRead.of(r) for r in requests], next_cursor=next_cursor)


@router.post("/api/v1/upload-requests/{request_id}/approve", response_model=UploadRequestRead)
async def approve_upload_request(
    request_id: uuid.UUID,
    admin: AdminPrincipal,
    session: SessionDep,
    clock: ClockDep,
    outbox: OutboxDep,
) -> UploadRequestRead:
    """The contracts go into the account; a contract in another account already is a 409."""
    return UploadRequestRead.of(
        await upload_service.approve(session, clock, outbox, admin, request_id)
    )


@router.post("/api/v1/upload-requests/{request_id}/reject", response_model=UploadRequestRead)
async def reject_upload_request(
    request_id: uuid.UUID,
    body: Rejection,
    admin: AdminPrincipal,
    session: SessionDep,
    clock: ClockDep,
) -> UploadRequestRead:
    return UploadRequestRead.of(
        await upload_service.reject(session, clock, admin, request_id, body.reason)
    )
