"""Admin import of the autofill directories, and their first load at service start.

    python -m services.identity.directory.importer [--banks FILE] [--postal FILE]
                                                   [--registry FILE]

Without options the three shipped sample files are imported; with options only the named
ones. Each imported file replaces its directory (banks and postal codes are upserted by BIK
and index, rows missing from the new file are dropped), so running it twice changes nothing.
"""

import argparse
import asyncio
import sys
from pathlib import Path

from services.identity.config import Settings
from services.identity.directory.parsers import DirectoryFileError
from services.identity.directory.schemas import ImportReport
from services.identity.directory.service import SHIPPED_FILES, DirectoryFiles, directory_service
from shared.clock import SystemClock
from shared.db import create_engine, create_sessionmaker
from shared.service import Runtime


async def load_offline_directory(runtime: Runtime) -> None:
    """Startup step: a directory table that is still empty gets the shipped sample file."""
    async with runtime.sessionmaker() as session, session.begin():
        await directory_service.import_shipped_when_empty(session, runtime.clock)


async def import_directory_files(database_url: str, files: DirectoryFiles) -> ImportReport:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            return await directory_service.import_files(session, files, SystemClock())
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.identity.directory.importer",
        description="Import the BIK, postal index and company registry directories.",
    )
    parser.add_argument("--banks", type=Path, help="Bank of Russia ED807 file (XML or zip)")
    parser.add_argument("--postal", type=Path, help="Russian Post PIndx file (CSV)")
    parser.add_argument("--registry", type=Path, help="company registry extract (JSON lines)")
    args = parser.parse_args(argv)
    files = DirectoryFiles(banks=args.banks, postal=args.postal, registry=args.registry)
    if files == DirectoryFiles():
        files = SHIPPED_FILES
    try:
        report = asyncio.run(import_directory_files(Settings().database_url, files))
    except (DirectoryFileError, OSError) as error:
        print(f"import failed, nothing changed: {error}", file=sys.stderr)
        return 1
    for name, count in report.model_dump(exclude_none=True).items():
        print(f"{name}: {count} records")
    return 0


if __name__ == "__main__":
    sys.exit(main())
