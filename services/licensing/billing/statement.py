"""A bank statement of payments, as a bookkeeper exports it: CSV (`text/csv`, a header row,
`,` or `;` between fields) or JSON lines (`application/x-ndjson`, one object a line).

Each line names the invoice number, the amount, the date and the payment reference (the payment
order's number). Amounts may be written `1500.00`, `1500,00` or `1 500,00`; dates `2026-11-20`
or `20.11.2026` (a Moscow calendar date). The file is read whole before anything is recorded:
any line that cannot be read makes the whole file a 422 whose errors name every such line and
field (`lines[7].amount`, 7 being the line's number in the file), so nothing of a broken file is
half-applied.
"""

import csv
import io
import json
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Request
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from pydantic import ValidationError as PydanticValidationError

from shared.clock import business_midnight
from shared.events.common import Money
from shared.problems import FieldError, InvalidInput, ProblemError, ValidationFailed, field_path

CSV_TYPES = ("text/csv",)
JSON_LINES_TYPES = ("application/x-ndjson", "application/jsonl", "application/json-lines")
FIELDS = ("invoice_number", "amount", "date", "reference")
MAX_LINES = 10_000
STATEMENT_MAX_BYTES = 5 * 1024 * 1024
MAX_ERRORS = 50
_SPACES = re.compile(r"[\s\u00a0\u202f]")
_RUSSIAN_DATE = re.compile(r"^(\d{2})\.(\d{2})\.(\d{4})$")


def _amount(value: Any) -> Any:
    """`1 500,00` → `1500.00` (a JSON number arrives as the Decimal it is written as)."""
    if isinstance(value, str):
        return _SPACES.sub("", value).replace(",", ".")
    return value


def _date(value: Any) -> Any:
    if isinstance(value, str) and (match := _RUSSIAN_DATE.match(value.strip())):
        day, month, year = match.groups()
        return f"{year}-{month}-{day}"
    return value.strip() if isinstance(value, str) else value


def _upper(value: Any) -> Any:
    return value.upper() if isinstance(value, str) else value


Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class StatementLine(BaseModel):
    """One payment of the statement."""

    model_config = ConfigDict(extra="ignore")

    line: int = Field(description="The line's number in the file.")
    invoice_number: Annotated[Text, BeforeValidator(_upper)]
    amount: Annotated[Money, Field(gt=0), BeforeValidator(_amount)]
    paid_on: Annotated[date, BeforeValidator(_date)] = Field(alias="date")
    reference: Text

    @property
    def paid_at(self) -> datetime:
        """A statement gives the day only: the payment counts from its start, Moscow time."""
        return business_midnight(self.paid_on)

    @property
    def document_number(self) -> str:
        """The payment reference is the payment order's number."""
        return self.reference


class StatementTooLarge(ProblemError):
    status, type_name, title = 413, "payload-too-large", "Statement too large"


async def request_body(request: Request, limit: int) -> bytes:
    """The statement as sent (the gateway already refuses a body past its own 10 MiB)."""
    body = await request.body()
    if len(body) > limit:
        raise StatementTooLarge(
            f"A statement is at most {limit} bytes; split it",
            errors=[FieldError(field="body", message=f"at most {limit} bytes")],
        )
    return body


def media_type(header: str | None) -> str:
    return (header or "").split(";", 1)[0].strip().lower()


def read_statement(content_type: str, body: bytes) -> list[StatementLine]:
    """The statement's lines, or `ValidationFailed` naming every line and field it cannot read."""
    if content_type in CSV_TYPES:
        rows = _csv_rows(_text(body))
    elif content_type in JSON_LINES_TYPES:
        rows = _json_rows(_text(body))
    else:
        raise InvalidInput(
            "Content-Type",
            "send the statement as text/csv or application/x-ndjson (JSON lines)",
        )
    if not rows:
        raise InvalidInput("body", "the statement has no payment lines")
    if len(rows) > MAX_LINES:
        raise InvalidInput("body", f"at most {MAX_LINES} lines in one statement")
    lines: list[StatementLine] = []
    errors: list[FieldError] = []
    for number, row in rows:
        if isinstance(row, FieldError):
            errors.append(row)
            continue
        try:
            lines.append(StatementLine.model_validate({**row, "line": number}))
        except PydanticValidationError as invalid:
            errors += [
                FieldError(
                    field=f"lines[{number}].{field_path(error['loc'])}",
                    message=f"line {number}: {error['msg'].removeprefix('Value error, ')}",
                )
                for error in invalid.errors()
            ]
    if errors:
        raise ValidationFailed(
            errors[:MAX_ERRORS], f"{len(errors)} problem(s) in the statement; nothing was recorded"
        )
    return lines


def _text(body: bytes) -> str:
    """UTF-8 (with or without its byte order mark); a Windows-1251 export as Russian banks
    still make it otherwise."""
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return body.decode("cp1251")
        except UnicodeDecodeError as error:
            raise InvalidInput("body", "the statement is neither UTF-8 nor Windows-1251") from error


Row = tuple[int, dict[str, Any] | FieldError]


def _broken(number: int, message: str) -> Row:
    return number, FieldError(field=f"lines[{number}]", message=f"line {number}: {message}")


def _csv_rows(text: str) -> list[Row]:
    lines = text.splitlines()
    if not lines:
        return []
    header = lines[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, strict=True)
    try:
        names = [name.strip().lower() for name in next(reader)]
    except csv.Error as error:
        raise InvalidInput("lines[1]", f"line 1: the header cannot be read ({error})") from error
    missing = [name for name in FIELDS if name not in names]
    if missing:
        raise InvalidInput(
            "lines[1]", f"line 1: the header lacks {', '.join(missing)} (needs {', '.join(FIELDS)})"
        )
    rows: list[Row] = []
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return rows
        except csv.Error as error:
            rows.append(_broken(reader.line_num, str(error)))
            continue
        number = reader.line_num
        if not any(value.strip() for value in values):
            continue  # a blank line
        if len(values) != len(names):
            rows.append(_broken(number, f"{len(values)} fields, the header has {len(names)}"))
            continue
        rows.append((number, dict(zip(names, values, strict=True))))


def _json_rows(text: str) -> list[Row]:
    rows: list[Row] = []
    for number, raw in enumerate(text.split("\n"), start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw, parse_float=Decimal)
        except json.JSONDecodeError as error:
            rows.append(_broken(number, f"not JSON ({error.msg})"))
            continue
        except RecursionError:
            rows.append(_broken(number, "nested too deeply"))
            continue
        if not isinstance(value, dict):
            rows.append(_broken(number, "not a JSON object"))
            continue
        rows.append((number, value))
    return rows
