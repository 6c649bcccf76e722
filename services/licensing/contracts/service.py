"""Rule 2: license contracts imported with their licenses, acts and document files.

An import is all or nothing: every field is checked before anything is written, the files are
written to the document store before the rows (a failed request leaves at most an orphan file,
never a contract without its files), and the unique contract and act numbers settle a race
between two importers. An imported contract is in nobody's account until an upload request
attaches it (rule 3).
"""

import uuid
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from uuid6 import uuid7

from services.licensing.access import Viewer
from services.licensing.catalogue.repository import CatalogueRepository
from services.licensing.contracts.documents import DOCUMENT_TYPES, document_key
from services.licensing.contracts.repository import ContractRepository
from services.licensing.contracts.schemas import ContractImport
from services.licensing.licenses.activation_code import new_activation_code
from services.licensing.models import Act, ActItem, Contract, Document, License
from shared.auth import Principal
from shared.clock import Clock
from shared.files import FileStore
from shared.pagination import PageParams
from shared.problems import Conflict, FieldError, NotFound, ValidationFailed

CONTRACT_NOT_FOUND = "No such contract"
# The largest amount a NUMERIC(15, 2) column holds.
MAX_TOTAL = Decimal("9999999999999.99")


def duplicate_contract(number: str) -> str:
    return f"A contract numbered {number} was imported already"


class ContractService:
    async def import_contract(
        self,
        session: AsyncSession,
        clock: Clock,
        store: FileStore,
        max_bytes: int,
        importer: Principal,
        asked: ContractImport,
    ) -> Contract:
        contracts = ContractRepository(session)
        products = await CatalogueRepository(session).products_with_codes(
            item.product_code for item in asked.licenses
        )
        errors: list[FieldError] = []
        for index, lic in enumerate(asked.licenses):
            if lic.product_code not in products:
                errors.append(
                    FieldError(
                        field=f"licenses[{index}].product_code", message="no product has this code"
                    )
                )
            if lic.expires_at is not None and lic.expires_at < lic.starts_at:
                errors.append(
                    FieldError(field=f"licenses[{index}].expires_at", message="is before starts_at")
                )
        for index, act in enumerate(asked.acts):
            if sum(item.amount for item in act.items) > MAX_TOTAL:
                errors.append(
                    FieldError(
                        field=f"acts[{index}].items", message="add up to more than the maximum"
                    )
                )
        act_numbers = [act.number for act in asked.acts]
        for index, number in enumerate(act_numbers):
            if number in act_numbers[:index]:
                errors.append(
                    FieldError(
                        field=f"acts[{index}].number", message="appears twice in the contract"
                    )
                )
        files: list[bytes] = []
        for index, document in enumerate(asked.documents):
            content = document.content()
            field = f"documents[{index}].content_base64"
            if content is None or not content:
                errors.append(FieldError(field=field, message="is not base64"))
            elif len(content) > max_bytes:
                errors.append(FieldError(field=field, message=f"is larger than {max_bytes} bytes"))
            elif not DOCUMENT_TYPES.matches(document.content_type, content):
                errors.append(
                    FieldError(field=field, message=f"is not {document.content_type} content")
                )
            files.append(content or b"")
        if errors:
            raise ValidationFailed(errors)
        if await contracts.number_taken(asked.number):
            raise Conflict(duplicate_contract(asked.number))
        taken = await contracts.act_numbers_taken(act_numbers)
        if taken:
            raise Conflict(f"Acts numbered {', '.join(sorted(taken))} were imported already")

        now = clock.now()
        partner_id = importer.organization_id if importer.kind == "api_key" else None
        contract = Contract(
            number=asked.number,
            contract_date=asked.date,
            licensee_inn=asked.licensee.inn,
            licensee_kpp=asked.licensee.kpp,
            licensee_name=asked.licensee.name,
            licensee_email=asked.licensee.email,
            end_user_email=asked.end_user_email,
            partner_id=partner_id,
            imported_at=now,
            licenses=[
                License(
                    partner_id=partner_id,
                    product=products[lic.product_code],
                    edition=lic.edition or None,
                    seats=lic.seats,
                    activation_code=new_activation_code(),
                    status="active",
                    starts_at=lic.starts_at,
                    expires_at=lic.expires_at,
                    key_serial=lic.key_serial,
                    created_at=now,
                )
                for lic in asked.licenses
            ],
            acts=[
                Act(
                    number=act.number,
                    act_date=act.date,
                    issued_by=act.issued_by,
                    total=sum((item.amount for item in act.items), Decimal("0")),
                    items=[
                        ActItem(
                            position=position,
                            code=item.code,
                            name=item.name,
                            quantity=item.quantity,
                            amount=item.amount,
                        )
                        for position, item in enumerate(act.items)
                    ],
                )
                for act in asked.acts
            ],
        )
        documents = []
        for document, content in zip(asked.documents, files, strict=True):
            document_id = uuid7()
            documents.append(
                Document(
                    id=document_id,
                    name=document.name,
                    content_type=document.content_type,
                    size=len(content),
                    sha256=await store.save(document_key(document_id), content),
                    created_at=now,
                )
            )
        contract.documents = documents
        try:
            await contracts.add(contract)
        except IntegrityError as error:
            # Another import of the same contract or act number committed first.
            raise Conflict(duplicate_contract(asked.number)) from error
        return contract

    async def list_for(
        self, session: AsyncSession, viewer: Viewer, params: PageParams
    ) -> tuple[list[Contract], str | None]:
        return await ContractRepository(session).page_for(viewer, params)

    async def get_for(
        self, session: AsyncSession, viewer: Viewer, contract_id: uuid.UUID
    ) -> Contract:
        contract = await ContractRepository(session).get(contract_id)
        if contract is None or not viewer.may_see(contract.organization_id, contract.partner_id):
            raise NotFound(CONTRACT_NOT_FOUND)
        return contract

    async def acts_for(
        self, session: AsyncSession, viewer: Viewer, params: PageParams
    ) -> tuple[list[Act], str | None]:
        return await ContractRepository(session).acts_for(viewer, params)

    async def document_for(
        self, session: AsyncSession, viewer: Viewer, document_id: uuid.UUID
    ) -> Document:
        found = await ContractRepository(session).document(document_id)
        if found is None or not viewer.may_see(found[1].organization_id, found[1].partner_id):
            raise NotFound("No such document")
        return found[0]


contract_service = ContractService()
