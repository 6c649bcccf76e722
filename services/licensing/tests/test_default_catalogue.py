"""`make run` seeds the default catalogue and price list: once, when empty, on any replica."""

import asyncio
from datetime import UTC, date, datetime

from sqlalchemy import delete, func, select

from services.licensing.app import definition
from services.licensing.catalogue.bootstrap import ensure_default_catalogue
from services.licensing.catalogue.defaults import DEFAULT_PRICES, DEFAULT_PRODUCTS
from services.licensing.catalogue.price_codes import SERVICE_NAMES
from services.licensing.models import PriceListItem, PriceListVersion, Product
from shared.clock import ManualClock
from shared.service import Runtime


async def counts(runtime):
    async with runtime.sessionmaker() as session:
        return [
            await session.scalar(select(func.count()).select_from(model))
            for model in (Product, PriceListVersion, PriceListItem)
        ]


async def test_two_replicas_starting_together_seed_the_defaults_once(empty_database):
    clock = ManualClock(datetime(2027, 3, 15, 9, 0, tzinfo=UTC))
    replicas = [Runtime(definition, empty_database, clock) for _ in range(2)]
    try:
        await asyncio.gather(*(ensure_default_catalogue(replica) for replica in replicas))
        await ensure_default_catalogue(replicas[0])  # a later restart

        assert await counts(replicas[0]) == [len(DEFAULT_PRODUCTS), 1, len(DEFAULT_PRICES)]
        async with replicas[0].sessionmaker() as session:
            version = await session.scalar(select(PriceListVersion))
        assert version is not None and version.effective_from == date(2027, 1, 1)
    finally:
        for replica in replicas:
            await replica.close()


async def test_an_existing_catalogue_and_price_list_are_left_alone(empty_database):
    clock = ManualClock()
    runtime = Runtime(definition, empty_database, clock)
    try:
        async with runtime.sessionmaker() as session, session.begin():
            session.add(
                Product(
                    code="OWN_PRODUCT", name="Своё", protection_kind="none", created_at=clock.now()
                )
            )

        await ensure_default_catalogue(runtime)

        async with runtime.sessionmaker() as session:
            codes = set(await session.scalars(select(Product.code)))
            item_codes = set(await session.scalars(select(PriceListItem.code)))
        assert codes == {"OWN_PRODUCT"}
        # The price list still gets the services; no item for products never catalogued.
        assert item_codes == set(SERVICE_NAMES)

        async with runtime.sessionmaker() as session, session.begin():
            await session.execute(delete(PriceListItem))
            await session.execute(delete(PriceListVersion))
            session.add(
                PriceListVersion(
                    effective_from=date(2026, 5, 1), created_at=clock.now(), created_by=None
                )
            )

        await ensure_default_catalogue(runtime)

        assert await counts(runtime) == [1, 1, 0]
    finally:
        await runtime.close()
