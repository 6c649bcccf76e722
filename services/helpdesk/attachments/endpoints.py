"""Attachments of a ticket: uploaded as the request body, downloaded by those who see them."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse

from services.helpdesk.attachments.content import ALLOWED
from services.helpdesk.attachments.service import attachment_service
from services.helpdesk.dependencies import SettingsDep
from services.helpdesk.tickets.auth import ticket_actor
from services.helpdesk.tickets.endpoints import TicketCaller
from services.helpdesk.tickets.schemas import AttachmentRead
from shared.db import SessionDep
from shared.files import FileStore, media_type
from shared.problems import PROBLEM_RESPONSES, FieldError, ProblemError
from shared.service import ClockDep

router = APIRouter(tags=["tickets"], responses=PROBLEM_RESPONSES)


class AttachmentTooLarge(ProblemError):
    status, type_name, title = 413, "payload-too-large", "Attachment too large"


def attachment_read(attachment: object) -> AttachmentRead:
    return AttachmentRead.model_validate(attachment, from_attributes=True)


async def _body(request: Request, limit: int) -> bytes:
    """The request body, refused as soon as it passes the limit."""
    too_large = AttachmentTooLarge(
        f"An attachment is at most {limit} bytes",
        errors=[FieldError(field="body", message=f"at most {limit} bytes")],
    )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/api/v1/tickets/{ticket_id}/attachments",
    response_model=AttachmentRead,
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                kind: {"schema": {"type": "string", "format": "binary"}} for kind in ALLOWED
            },
        }
    },
)
async def upload_attachment(
    ticket_id: uuid.UUID,
    request: Request,
    filename: Annotated[str, Query(min_length=1, max_length=255)],
    principal: TicketCaller,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> AttachmentRead:
    """The file is the request body, its type the `Content-Type` (checked against the bytes),
    at most 10 MiB. Put it on a message by listing its id in `attachments`."""
    actor = ticket_actor(principal)
    content = await _body(request, settings.attachment_max_bytes)
    attachment = await attachment_service.upload(
        session,
        clock.now(),
        settings,
        actor,
        ticket_id,
        filename,
        media_type(request.headers.get("content-type")),
        content,
    )
    return attachment_read(attachment)


@router.get(
    "/api/v1/tickets/{ticket_id}/attachments/{attachment_id}",
    response_class=FileResponse,
    responses=ALLOWED.download_response("The file, as the type it was attached with."),
)
async def download_attachment(
    ticket_id: uuid.UUID,
    attachment_id: uuid.UUID,
    principal: TicketCaller,
    session: SessionDep,
    settings: SettingsDep,
) -> FileResponse:
    """The file, for the ticket's organization and staff (a note's attachment: staff only)."""
    actor = ticket_actor(principal)
    attachment = await attachment_service.downloadable(session, actor, ticket_id, attachment_id)
    return FileStore(settings.attachments_dir).download(
        attachment.storage_key,
        media_type=attachment.content_type,
        filename=attachment.filename,
        missing="The attachment's file is missing",
    )
