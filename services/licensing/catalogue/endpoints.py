"""The catalogue and the price list: read by anyone, changed by an admin."""

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from services.licensing.catalogue.schemas import (
    PriceListVersionCreate,
    PriceListVersionRead,
    ProductCreate,
    ProductRead,
    day_asked,
)
from services.licensing.catalogue.service import catalogue_service
from shared.auth import AdminPrincipal
from shared.db import ReaderDep, SessionDep
from shared.pagination import Page, PageDep, page_response
from shared.problems import PROBLEM_RESPONSES
from shared.service import ClockDep

router = APIRouter(tags=["catalogue"], responses=PROBLEM_RESPONSES)


@router.get("/api/v1/products", response_model=Page[ProductRead])
async def list_products(reader: ReaderDep, page: PageDep) -> Response:
    """The catalogue, by code."""
    products, next_cursor = await catalogue_service.list_products(reader, page)
    return page_response(ProductRead, products, next_cursor)


@router.post("/api/v1/products", response_model=ProductRead, status_code=201)
async def create_product(
    body: ProductCreate, admin: AdminPrincipal, session: SessionDep, clock: ClockDep
) -> ProductRead:
    """A new product; a code in use (or a service's code) is refused."""
    return ProductRead.of(await catalogue_service.create_product(session, clock, body))


@router.get("/api/v1/price-list", response_model=PriceListVersionRead)
async def read_price_list(
    session: SessionDep,
    clock: ClockDep,
    at: Annotated[
        str | None,
        Query(
            max_length=40,
            description="A date (Moscow) or a moment with its zone; now when left out.",
        ),
    ] = None,
) -> PriceListVersionRead:
    """The price list in force at `at`: 404 when none was in force yet."""
    version = await catalogue_service.price_list_on(session, day_asked(at, clock.now()))
    return PriceListVersionRead.of(version)


@router.post("/api/v1/price-list/versions", response_model=PriceListVersionRead, status_code=201)
async def add_price_list_version(
    body: PriceListVersionCreate, admin: AdminPrincipal, session: SessionDep, clock: ClockDep
) -> PriceListVersionRead:
    """A new version from a day after today (422 otherwise); that day taken already: 409."""
    version = await catalogue_service.add_version(session, clock, admin, body)
    return PriceListVersionRead.of(version)
