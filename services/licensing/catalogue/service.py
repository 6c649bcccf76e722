"""Rule 1: the catalogue and the price list versioned by effective date.

A version is the whole price list from its `effective_from` (a Moscow calendar date) until the
next version starts. A price is always taken from the version in force at the moment asked
for, so a version may only start after today: one already in force, or in force before, may
have priced an order, and rewriting it would change history.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.licensing.catalogue.defaults import DEFAULT_PRICES, DEFAULT_PRODUCTS
from services.licensing.catalogue.price_codes import is_service_code
from services.licensing.catalogue.repository import CatalogueReads, CatalogueRepository
from services.licensing.catalogue.schemas import PriceListVersionCreate, ProductCreate
from services.licensing.models import PriceListItem, PriceListVersion, Product
from shared.auth import Principal
from shared.clock import Clock, business_date
from shared.db import Reader
from shared.pagination import PageParams
from shared.problems import Conflict, FieldError, InvalidInput, NotFound, ValidationFailed

DUPLICATE_PRODUCT = "A product with this code already exists"
TWICE = "appears twice in the version"
UNKNOWN_CODE = "no product or service has this code"


def duplicate_version(effective_from: date) -> str:
    return f"A price list version effective from {effective_from.isoformat()} already exists"


class CatalogueService:
    async def list_products(
        self, reader: Reader, params: PageParams
    ) -> tuple[list[dict[str, Any]], str | None]:
        return await CatalogueReads(reader).page_of_products(params)

    async def create_product(
        self, session: AsyncSession, clock: Clock, asked: ProductCreate
    ) -> Product:
        if is_service_code(asked.code):
            raise InvalidInput("code", "is the price code of a service, not free for a product")
        name = " ".join(asked.name.split())
        if not name:
            raise InvalidInput("name", "is required")
        catalogue = CatalogueRepository(session)
        if await catalogue.product_code_taken(asked.code):
            raise Conflict(DUPLICATE_PRODUCT)
        product = Product(
            code=asked.code,
            name=name,
            protection_kind=asked.protection_kind,
            created_at=clock.now(),
        )
        try:
            await catalogue.add(product)
        except IntegrityError as error:
            # Two admins adding the same code at once: the unique index decides.
            raise Conflict(DUPLICATE_PRODUCT) from error
        return product

    async def price_list_on(self, session: AsyncSession, day: date) -> PriceListVersion:
        version = await CatalogueRepository(session).version_in_force(day)
        if version is None:
            raise NotFound(f"No price list is in force on {day.isoformat()} (Moscow time)")
        return version

    async def price_in_force(
        self, session: AsyncSession, code: str, at: datetime, *, resident: bool
    ) -> Decimal:
        """The price of `code` at the moment `at`, resident or non-resident."""
        day = business_date(at)
        item = await CatalogueRepository(session).item_in_force(code, day)
        if item is None:
            raise NotFound(f"{code} has no price in the price list in force on {day.isoformat()}")
        return item.resident_price if resident else item.non_resident_price

    async def add_version(
        self,
        session: AsyncSession,
        clock: Clock,
        admin: Principal,
        asked: PriceListVersionCreate,
    ) -> PriceListVersion:
        today = business_date(clock.now())
        if asked.effective_from <= today:
            raise InvalidInput(
                "effective_from",
                f"must be after today ({today.isoformat()}, Moscow time): "
                "a price list that is or was in force is never rewritten",
            )
        catalogue = CatalogueRepository(session)
        products = await catalogue.products_with_codes(item.code for item in asked.items)
        errors: list[FieldError] = []
        seen: set[str] = set()
        for index, item in enumerate(asked.items):
            field = f"items[{index}].code"
            if item.code in seen:
                errors.append(FieldError(field=field, message=TWICE))
            elif item.code not in products and not is_service_code(item.code):
                errors.append(FieldError(field=field, message=UNKNOWN_CODE))
            seen.add(item.code)
        if errors:
            raise ValidationFailed(errors)
        if await catalogue.version_effective_on(asked.effective_from) is not None:
            raise Conflict(duplicate_version(asked.effective_from))
        version = PriceListVersion(
            effective_from=asked.effective_from,
            created_at=clock.now(),
            created_by=admin.user_id,
            items=[
                PriceListItem(
                    code=item.code,
                    product=products.get(item.code),
                    resident_price=item.resident_price,
                    non_resident_price=item.non_resident_price,
                )
                for item in asked.items
            ],
        )
        try:
            await catalogue.add(version)
        except IntegrityError as error:
            raise Conflict(duplicate_version(asked.effective_from)) from error
        return await catalogue.reload_version(version)

    async def seed_defaults(self, session: AsyncSession, clock: Clock) -> None:
        """An empty catalogue gets the default products; no price list at all gets the
        default one, in force from 1 January of the current year (Moscow time)."""
        catalogue = CatalogueRepository(session)
        now = clock.now()
        if not await catalogue.has_products():
            for default in DEFAULT_PRODUCTS:
                session.add(
                    Product(
                        code=default.code,
                        name=default.name,
                        protection_kind=default.protection_kind,
                        created_at=now,
                    )
                )
            await session.flush()
        if await catalogue.has_versions():
            return
        products = await catalogue.products_with_codes(DEFAULT_PRICES)
        session.add(
            PriceListVersion(
                effective_from=date(business_date(now).year, 1, 1),
                created_at=now,
                created_by=None,
                items=[
                    PriceListItem(
                        code=code,
                        product=products.get(code),
                        resident_price=price.resident,
                        non_resident_price=price.non_resident,
                    )
                    for code, price in DEFAULT_PRICES.items()
                    # A default product an admin never had in the catalogue gets no item.
                    if code in products or is_service_code(code)
                ],
            )
        )
        await session.flush()


catalogue_service = CatalogueService()
