"""`python -m services.identity.auth.rotate_key`: retire the active signing key, start a new one.

Tokens signed with the old key keep working until they expire: it stays in the JWKS for twice
the access-token lifetime. The gateway picks up the new key on the first token that names it.
"""

import asyncio

from services.identity.auth.tokens import rotate_signing_key
from services.identity.config import Settings
from shared.clock import Clock, SystemClock
from shared.db import create_engine, create_sessionmaker


async def rotate(settings: Settings, clock: Clock | None = None) -> str:
    engine = create_engine(settings.database_url, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            return await rotate_signing_key(session, (clock or SystemClock()).now())
    finally:
        await engine.dispose()


def main() -> None:
    kid = asyncio.run(rotate(Settings()))
    print(f"new signing key {kid}; the previous one stays published until its tokens expire")


if __name__ == "__main__":
    main()
