"""Making update files in memory: the payload, the compact JWS, the event's data.

Pure functions of plain values (no database, no event loop), so that a large monthly run can
hand a batch to a worker process and sign it while the next batch is read from the database.
"""

import base64
import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any

from shared.ids import uuid7_many
from shared.signing import ED25519_ALGORITHM, load_ed25519

JWS_TYPE = "JOSE"

KeyRow = tuple[uuid.UUID, str, uuid.UUID, int]
"""A key due a file: id, serial, organization id, the file's sequence number."""
LicenseRow = tuple[uuid.UUID, str, date | None]
"""A license written into a file: id, product code, expiry."""


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def utc_text(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Signer:
    """The signing key by its PEM (plain text, so it can be handed to a worker process)."""

    kid: str
    pem: str

    @cached_property
    def _protected_header(self) -> bytes:
        header = {"alg": ED25519_ALGORITHM, "kid": self.kid, "typ": JWS_TYPE}
        return _b64(json.dumps(header, separators=(",", ":"), sort_keys=True).encode())

    def sign(self, payload: bytes) -> str:
        """A compact JWS (RFC 7515) of the payload bytes, EdDSA with `kid` in the header.
        Assembled here rather than by PyJWT because the monthly run signs 100,000 at a time and
        the header is the same for all of them; the tests verify the result with PyJWT."""
        signing_input = self._protected_header + b"." + _b64(payload)
        signature = load_ed25519(self.pem).sign(signing_input)
        return (signing_input + b"." + _b64(signature)).decode()


@dataclass
class SignedFiles:
    """A batch of signed files of one month and trigger, kept as columns for one INSERT."""

    month: str
    trigger: str
    generated_at: datetime
    valid_until: datetime
    signing_key_id: str
    ids: list[uuid.UUID] = field(default_factory=list)
    key_ids: list[uuid.UUID] = field(default_factory=list)
    sequences: list[int] = field(default_factory=list)
    jws: list[str] = field(default_factory=list)


def sign_files(
    signer: Signer,
    rows: list[KeyRow],
    licenses: dict[uuid.UUID, list[LicenseRow]],
    generated_at: datetime,
    valid_until: datetime,
    month: str,
    trigger: str,
) -> tuple[SignedFiles, list[dict[str, Any]]]:
    """One signed file per key; also the `data` (JSON form) of each file's
    `dongle.update_file.generated` event."""
    issued_at, valid_text = utc_text(generated_at), utc_text(valid_until)
    files = SignedFiles(month, trigger, generated_at, valid_until, signer.kid)
    events: list[dict[str, Any]] = []
    event_month = month if trigger == "monthly" else None
    for (key_id, serial, organization_id, sequence), file_id in zip(
        rows, uuid7_many(len(rows)), strict=True
    ):
        on_key = [
            {
                "id": str(license_id),
                "product_code": product_code,
                "expires_at": None if expires_at is None else expires_at.isoformat(),
            }
            for license_id, product_code, expires_at in licenses.get(key_id, [])
        ]
        payload = {
            "serial": serial,
            "sequence": sequence,
            "valid_until": valid_text,
            "licenses": on_key,
            "issued_at": issued_at,
        }
        files.ids.append(file_id)
        files.key_ids.append(key_id)
        files.sequences.append(sequence)
        files.jws.append(signer.sign(json.dumps(payload, separators=(",", ":")).encode()))
        events.append(
            {
                "update_file_id": str(file_id),
                "key_serial": serial,
                "organization_id": str(organization_id),
                "sequence": sequence,
                "valid_until": valid_text,
                "trigger": trigger,
                "month": event_month,
                "license_ids": [license_["id"] for license_ in on_key],
            }
        )
    return files, events
