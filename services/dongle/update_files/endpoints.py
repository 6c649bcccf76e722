"""Update files (rule 3): a key's list and files, the admin's monthly run, the public JWKS."""

from typing import Annotated

from fastapi import APIRouter, Path, Response

from services.dongle.keys.auth import key_viewer
from services.dongle.keys.endpoints import SerialPath
from services.dongle.keys.service import key_service
from services.dongle.update_files.repository import UpdateFileRepository
from services.dongle.update_files.schemas import (
    Jwks,
    ProlongationRunAsked,
    ProlongationRunRead,
    UpdateFileRead,
    UpdateFiles,
)
from services.dongle.update_files.service import update_file_service
from services.dongle.update_files.signing import update_file_keys
from shared.auth import AdminPrincipal, CurrentPrincipal
from shared.db import SessionDep
from shared.problems import PROBLEM_RESPONSES, NotFound
from shared.service import ClockDep, OutboxDep

router = APIRouter(tags=["update files"], responses=PROBLEM_RESPONSES)

JOSE = "application/jose"


@router.get("/api/v1/keys/update-files/jwks.json", response_model=Jwks)
async def update_file_jwks(session: SessionDep) -> Jwks:
    """The public keys (Ed25519, JWK) that verify update files; anyone may fetch them."""
    return Jwks(keys=await update_file_keys.published(session))


@router.get("/api/v1/keys/{serial}/updates", response_model=UpdateFiles)
async def list_update_files(
    serial: SerialPath, principal: CurrentPrincipal, session: SessionDep
) -> UpdateFiles:
    """The key's update files, oldest first."""
    key = await key_service.visible_key(session, key_viewer(principal), serial)
    files = await UpdateFileRepository(session).of_key(key.id)
    return UpdateFiles(items=[UpdateFileRead.of(update_file) for update_file in files])


@router.get(
    "/api/v1/keys/{serial}/updates/{sequence}",
    response_class=Response,
    responses={200: {"content": {JOSE: {"schema": {"type": "string"}}}}},
)
async def download_update_file(
    serial: SerialPath,
    sequence: Annotated[int, Path(ge=1, le=2**31 - 1)],
    principal: CurrentPrincipal,
    session: SessionDep,
) -> Response:
    """The signed file: a compact JWS (EdDSA) of `{serial, sequence, valid_until, licenses,
    issued_at}`, verifiable with the JWKS."""
    key = await key_service.visible_key(session, key_viewer(principal), serial)
    update_file = await UpdateFileRepository(session).one(key.id, sequence)
    if update_file is None:
        raise NotFound("No such update file")
    return Response(
        update_file.jws,
        media_type=JOSE,
        headers={
            "Content-Disposition": f'attachment; filename="{serial}-{sequence}.jws"',
        },
    )


@router.post("/api/v1/admin/prolongation-runs", response_model=ProlongationRunRead)
async def run_prolongation(
    body: ProlongationRunAsked,
    admin: AdminPrincipal,
    session: SessionDep,
    clock: ClockDep,
    outbox: OutboxDep,
) -> ProlongationRunRead:
    """Runs the monthly generation for a month now; running it again generates nothing."""
    run = await update_file_service.run_month(session, clock, outbox, body.month)
    return ProlongationRunRead(
        month=run.month, generated=run.generated, already_done=run.already_done
    )
