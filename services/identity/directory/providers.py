"""Company registry prefill by INN (rule 4): pluggable, offline from the shipped file by default,
or a DaData-compatible HTTP service."""

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

import httpx

from services.identity.directory.parsers import RegistryAddress, RegistryRecord, parse_registry


class RegistryUnavailableError(RuntimeError):
    """The company registry did not answer, or answered with an error."""


class RegistryProvider(Protocol):
    async def find_by_inn(self, inn: str, kpp: str | None = None) -> RegistryRecord | None:
        """The organization registered under `inn` (and `kpp`, for one subdivision), if any."""
        ...


class OfflineRegistryProvider:
    """Answers from registry records held in memory, e.g. the file the project ships."""

    def __init__(self, records: Iterable[RegistryRecord]) -> None:
        self._records = tuple(records)

    @classmethod
    def from_file(cls, path: Path | str) -> "OfflineRegistryProvider":
        return cls(parse_registry(path))

    async def find_by_inn(self, inn: str, kpp: str | None = None) -> RegistryRecord | None:
        return next(
            (r for r in self._records if r.inn == inn and (kpp is None or r.kpp == kpp)),
            None,
        )


class HttpRegistryProvider:
    """DaData's "find party by id": POST {url}/findById/party with `Authorization: Token …`."""

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        timeout: float = 5.0,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._endpoint = url.rstrip("/") + "/findById/party"
        self._headers = {"Authorization": f"Token {api_key}", "Accept": "application/json"}
        self._timeout = httpx.Timeout(timeout)
        self._client = client

    async def find_by_inn(self, inn: str, kpp: str | None = None) -> RegistryRecord | None:
        query: dict[str, str] = {"query": inn}
        if kpp:
            query["kpp"] = kpp
        try:
            if self._client is not None:
                response = await self._post(self._client, query)
            else:
                async with httpx.AsyncClient() as client:
                    response = await self._post(client, query)
        except httpx.TimeoutException as error:
            raise RegistryUnavailableError(
                f"company registry did not answer within {self._timeout.read} s"
            ) from error
        except httpx.HTTPError as error:
            raise RegistryUnavailableError(f"company registry is unreachable: {error}") from error
        if response.status_code != httpx.codes.OK:
            raise RegistryUnavailableError(
                f"company registry answered {response.status_code}: {response.text[:200]}"
            )
        try:
            suggestions = response.json()["suggestions"]
            return _record_from_party(suggestions[0]["data"]) if suggestions else None
        except (ValueError, LookupError, TypeError, AttributeError) as error:
            raise RegistryUnavailableError(
                f"company registry answered in an unexpected shape: {error}"
            ) from error

    async def _post(self, client: httpx.AsyncClient, query: dict[str, str]) -> httpx.Response:
        return await client.post(
            self._endpoint, json=query, headers=self._headers, timeout=self._timeout
        )


def _record_from_party(data: dict[str, Any]) -> RegistryRecord:
    """A DaData `party` to a registry record; a sole proprietor's "director" is the person."""
    name = data.get("name") or {}
    opf = data.get("opf") or {}
    management = data.get("management") or {}
    address = data.get("address") or {}
    parts = address.get("data") or {}
    return RegistryRecord(
        inn=data["inn"],
        kpp=data.get("kpp"),
        ogrn=data.get("ogrn"),
        okpo=data.get("okpo"),
        okved=data.get("okved"),
        legal_form=opf.get("short"),
        full_name=name.get("full_with_opf") or name.get("full") or data["inn"],
        short_name=name.get("short_with_opf") or name.get("short"),
        director_name=management.get("name")
        or (name.get("full") if data.get("type") == "INDIVIDUAL" else None),
        legal_address=RegistryAddress(
            postal_code=parts.get("postal_code"),
            region=parts.get("region_with_type"),
            district=parts.get("area_with_type"),
            locality=parts.get("city") or parts.get("settlement_with_type"),
            street=parts.get("street_with_type"),
            line=address["value"],
        )
        if address.get("value")
        else None,
    )
