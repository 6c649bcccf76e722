"""Offline autofill directories (rule 4): banks by BIK, places by postal index, companies by
INN, read from files in their publishers' formats; the project ships a small real sample."""

from pathlib import Path

from services.identity.directory.parsers import (
    BankRecord,
    DirectoryFileError,
    PostalRecord,
    RegistryAddress,
    RegistryRecord,
    parse_bik_directory,
    parse_postal_index,
    parse_registry,
)
from services.identity.directory.providers import (
    HttpRegistryProvider,
    OfflineRegistryProvider,
    RegistryProvider,
    RegistryUnavailableError,
)

DATA_DIR = Path(__file__).parent / "data"
SHIPPED_BIK_DIRECTORY = DATA_DIR / "ED807_sample.xml"
SHIPPED_POSTAL_INDEX = DATA_DIR / "PIndx_sample.csv"
SHIPPED_REGISTRY = DATA_DIR / "registry_sample.jsonl"

__all__ = [
    "DATA_DIR",
    "SHIPPED_BIK_DIRECTORY",
    "SHIPPED_POSTAL_INDEX",
    "SHIPPED_REGISTRY",
    "BankRecord",
    "DirectoryFileError",
    "HttpRegistryProvider",
    "OfflineRegistryProvider",
    "PostalRecord",
    "RegistryAddress",
    "RegistryProvider",
    "RegistryRecord",
    "RegistryUnavailableError",
    "parse_bik_directory",
    "parse_postal_index",
    "parse_registry",
]
