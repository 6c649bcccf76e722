"""Readers of the autofill directories in the formats their publishers use (rule 4).

- Bank of Russia BIK directory: electronic message ED807 (XML, namespace urn:cbr-ru:ed:v2.0),
  published as windows-1251, often inside a zip archive.
- Russian Post postal index list PIndx (published as DBF): its columns as delimited text.
- Company registry extract: JSON lines, one organization a line, EGRUL fields.
"""

import csv
import io
import json
import xml.etree.ElementTree as ET
import zipfile
from datetime import date, datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict

ED807_NAMESPACE = "urn:cbr-ru:ed:v2.0"
_NS = {"ed": ED807_NAMESPACE}
# A correspondent account of a credit institution in the Bank of Russia, and an active one.
_CORRESPONDENT_ACCOUNT = "CRSA"
_ACCOUNT_ACTIVE = "ACAC"
_PARTICIPANT_DELETED = "PSDL"
POSTAL_INDEX_COLUMNS = (
    "INDEX",
    "OPSNAME",
    "OPSTYPE",
    "OPSSUBM",
    "REGION",
    "AUTONOM",
    "AREA",
    "CITY",
    "CITY_1",
    "ACTDATE",
    "INDEXOLD",
)


class DirectoryFileError(ValueError):
    """A directory file that cannot be read as its format."""


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class BankRecord(_Record):
    bik: str
    name: str
    correspondent_account: str | None
    swift: str | None = None
    postal_code: str | None = None
    region_code: str | None = None
    """OKATO code of the region (ED807 `Rgn`), e.g. 45 for Moscow."""
    locality_type: str | None = None
    locality: str | None = None
    address: str | None = None


class PostalRecord(_Record):
    postal_code: str
    office_name: str
    office_type: str | None = None
    parent_office: str | None = None
    region: str
    autonomy: str | None = None
    area: str | None = None
    city: str | None = None
    settlement: str | None = None
    """PIndx `CITY_1`: a settlement inside the `area`."""
    active_since: date | None = None
    previous_postal_code: str | None = None

    @property
    def locality(self) -> str:
        return self.settlement or self.city or self.region


class RegistryAddress(_Record):
    postal_code: str | None = None
    region: str | None = None
    district: str | None = None
    locality: str | None = None
    street: str | None = None
    line: str


class RegistryRecord(_Record):
    inn: str
    kpp: str | None = None
    ogrn: str | None = None
    okpo: str | None = None
    okved: str | None = None
    legal_form: str | None = None
    full_name: str
    short_name: str | None = None
    director_name: str | None = None
    legal_address: RegistryAddress | None = None


def parse_bik_directory(path: Path | str) -> list[BankRecord]:
    """Every active participant of an ED807 file (plain XML or the zip it is published in)."""
    root = _xml_root(_ed807_bytes(Path(path)))
    if root.tag != f"{{{ED807_NAMESPACE}}}ED807":
        raise DirectoryFileError(f"{path}: not an ED807 BIK directory (root is {root.tag})")
    banks = []
    for entry in root.iterfind("ed:BICDirectoryEntry", _NS):
        info = entry.find("ed:ParticipantInfo", _NS)
        bik = entry.get("BIC")
        if info is None or not bik or info.get("ParticipantStatus") == _PARTICIPANT_DELETED:
            continue
        swift = entry.find("ed:SWBICS", _NS)
        banks.append(
            BankRecord(
                bik=bik,
                name=info.get("NameP", ""),
                correspondent_account=_correspondent_account(entry),
                swift=swift.get("SWBIC") if swift is not None else None,
                postal_code=info.get("Ind"),
                region_code=info.get("Rgn"),
                locality_type=info.get("Tnp"),
                locality=info.get("Nnp"),
                address=info.get("Adr"),
            )
        )
    return banks


def _ed807_bytes(path: Path) -> bytes:
    if not zipfile.is_zipfile(path):
        return path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        members = [name for name in archive.namelist() if name.lower().endswith(".xml")]
        if not members:
            raise DirectoryFileError(f"{path}: the archive holds no XML file")
        return archive.read(members[0])


def _xml_root(data: bytes) -> ET.Element:
    """Parsed from bytes, so expat decodes by the XML declaration (windows-1251 or UTF-8)."""
    try:
        # Files come from the project or an admin's import; expat >= 2.4 refuses entity bombs.
        return ET.fromstring(data)  # noqa: S314
    except ET.ParseError as error:
        declaration = data.lstrip()[:200].partition(b"?>")[0]
        if b"encoding" in declaration:
            raise DirectoryFileError(f"not well-formed XML: {error}") from error
    # No declared encoding and not UTF-8: the Bank of Russia's own encoding is the likely one.
    try:
        return ET.fromstring(data.decode("cp1251"))  # noqa: S314
    except ET.ParseError as error:
        raise DirectoryFileError(f"not well-formed XML: {error}") from error


def _correspondent_account(entry: ET.Element) -> str | None:
    for account in entry.iterfind("ed:Accounts", _NS):
        if (
            account.get("RegulationAccountType") == _CORRESPONDENT_ACCOUNT
            and account.get("AccountStatus", _ACCOUNT_ACTIVE) == _ACCOUNT_ACTIVE
        ):
            return account.get("Account")
    return None


def parse_postal_index(path: Path | str) -> list[PostalRecord]:
    """PIndx rows exported as text: ';' or ',' delimited, UTF-8 or windows-1251, header first."""
    text = _decode_text(Path(path).read_bytes())
    first_line = text.partition("\n")[0]
    delimiter = ";" if first_line.count(";") >= first_line.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    header = tuple(name.strip().upper() for name in reader.fieldnames or ())
    missing = [column for column in POSTAL_INDEX_COLUMNS[:5] if column not in header]
    if missing:
        raise DirectoryFileError(f"{path}: not a PIndx file, no column(s) {', '.join(missing)}")
    reader.fieldnames = list(header)
    records = []
    for line_number, row in enumerate(reader, start=2):
        values = {key: (value or "").strip() for key, value in row.items() if key}
        if not values.get("INDEX"):
            continue
        try:
            records.append(
                PostalRecord(
                    postal_code=values["INDEX"],
                    office_name=values["OPSNAME"],
                    office_type=values.get("OPSTYPE") or None,
                    parent_office=values.get("OPSSUBM") or None,
                    region=values["REGION"],
                    autonomy=values.get("AUTONOM") or None,
                    area=values.get("AREA") or None,
                    city=values.get("CITY") or None,
                    settlement=values.get("CITY_1") or None,
                    active_since=_pindx_date(values.get("ACTDATE", "")),
                    previous_postal_code=values.get("INDEXOLD") or None,
                )
            )
        except ValueError as error:
            raise DirectoryFileError(f"{path}, line {line_number}: {error}") from error
    return records


def _pindx_date(value: str) -> date | None:
    return datetime.strptime(value, "%Y%m%d").date() if value else None


def _decode_text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1251")


def parse_registry(path: Path | str) -> list[RegistryRecord]:
    """One JSON object a line; blank lines are skipped."""
    records = []
    text = _decode_text(Path(path).read_bytes())
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            records.append(RegistryRecord.model_validate(json.loads(line)))
        except ValueError as error:
            raise DirectoryFileError(f"{path}, line {line_number}: {error}") from error
    return records
