"""The default catalogue and price list, seeded at start when empty (`make run` needs prices)."""

from services.licensing.catalogue.service import catalogue_service
from shared.db import hold_advisory_lock
from shared.service import Runtime


async def ensure_default_catalogue(runtime: Runtime) -> None:
    async with runtime.sessionmaker() as session, session.begin():
        # Replicas starting together must not both find the catalogue empty and both seed it.
        await hold_advisory_lock(session, "licensing:default-catalogue")
        await catalogue_service.seed_defaults(session, runtime.clock)
