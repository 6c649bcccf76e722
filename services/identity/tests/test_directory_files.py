"""Rule 4 of spec 10-identity: autofill directories from the shipped real-format files, and the
DaData-compatible registry provider against a real HTTP server."""

import asyncio
import zipfile
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse

from services.identity.directory import (
    SHIPPED_BIK_DIRECTORY,
    SHIPPED_POSTAL_INDEX,
    SHIPPED_REGISTRY,
    DirectoryFileError,
    HttpRegistryProvider,
    OfflineRegistryProvider,
    RegistryUnavailableError,
    parse_bik_directory,
    parse_postal_index,
    parse_registry,
)
from services.identity.requisites import (
    classification_for,
    director_name_genitive,
    validate_bik,
    validate_correspondent_account,
    validate_organization_requisites,
    validate_postal_code,
)
from shared.testing.servers import free_port, serve

# --- Bank of Russia BIK directory (ED807) ---


def test_shipped_bik_directory_is_ed807_in_windows_1251():
    raw = SHIPPED_BIK_DIRECTORY.read_bytes()
    assert raw.startswith(b'<?xml version="1.0" encoding="windows-1251"?>')
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert b'xmlns="urn:cbr-ru:ed:v2.0"' in raw


def test_shipped_bik_directory_parses_with_real_banks():
    banks = {bank.bik: bank for bank in parse_bik_directory(SHIPPED_BIK_DIRECTORY)}
    assert len(banks) >= 15
    sber = banks["044525225"]
    assert sber.name == "ПАО Сбербанк"
    assert sber.correspondent_account == "30101810400000000225"
    assert (sber.postal_code, sber.region_code, sber.locality_type, sber.locality) == (
        "117312",
        "45",
        "г",
        "Москва",
    )
    assert sber.swift == "SABRRUMMXXX"
    assert banks["044525593"].name == 'АО "АЛЬФА-БАНК"'
    assert banks["044525974"].correspondent_account == "30101810145250000974"
    for bik in ("044525187", "044525823", "044525700", "046577674", "044030653"):
        assert banks[bik].correspondent_account
    # A Bank of Russia division keeps no correspondent account of its own.
    assert banks["044525000"].correspondent_account is None


def test_every_shipped_correspondent_account_passes_the_control_key():
    banks = parse_bik_directory(SHIPPED_BIK_DIRECTORY)
    with_accounts = [bank for bank in banks if bank.correspondent_account]
    assert len(with_accounts) >= 15
    for bank in with_accounts:
        assert validate_bik(bank.bik) == bank.bik
        assert bank.correspondent_account is not None
        assert validate_correspondent_account(bank.correspondent_account, bank.bik)


def test_bik_directory_in_utf8_zipped_or_without_declaration(tmp_path):
    expected = parse_bik_directory(SHIPPED_BIK_DIRECTORY)
    text = SHIPPED_BIK_DIRECTORY.read_bytes().decode("cp1251")

    utf8 = tmp_path / "ED807_utf8.xml"
    utf8.write_text(text.replace('encoding="windows-1251"', 'encoding="UTF-8"'), "utf-8")
    assert parse_bik_directory(utf8) == expected

    archive = tmp_path / "20250602ED01OSBR.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("20250602_ED807_full.xml", SHIPPED_BIK_DIRECTORY.read_bytes())
    assert parse_bik_directory(archive) == expected

    undeclared = tmp_path / "ED807_bare.xml"
    undeclared.write_bytes(text.partition("?>")[2].encode("cp1251"))
    assert parse_bik_directory(undeclared) == expected


def test_deleted_participants_are_left_out(tmp_path):
    path = tmp_path / "ED807.xml"
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<ED807 xmlns="urn:cbr-ru:ed:v2.0" EDNo="1" EDDate="2025-06-02">'
        '<BICDirectoryEntry BIC="044525225"><ParticipantInfo NameP="ПАО Сбербанк"/>'
        '<Accounts Account="30101810400000000225" RegulationAccountType="CRSA"/>'
        "</BICDirectoryEntry>"
        '<BICDirectoryEntry BIC="044525999"><ParticipantInfo NameP="Закрытый"'
        ' ParticipantStatus="PSDL"/></BICDirectoryEntry>'
        '<BICDirectoryEntry BIC="044525998"><ParticipantInfo NameP="Счёт закрыт"/>'
        '<Accounts Account="30101810900000000998" RegulationAccountType="CRSA"'
        ' AccountStatus="ACDL"/></BICDirectoryEntry>'
        "</ED807>",
        "utf-8",
    )
    banks = parse_bik_directory(path)
    assert [(bank.bik, bank.correspondent_account) for bank in banks] == [
        ("044525225", "30101810400000000225"),
        ("044525998", None),
    ]


def test_files_that_are_not_ed807_are_refused(tmp_path):
    other = tmp_path / "other.xml"
    other.write_text('<?xml version="1.0"?><root/>', "utf-8")
    with pytest.raises(DirectoryFileError, match="not an ED807"):
        parse_bik_directory(other)
    broken = tmp_path / "broken.xml"
    broken.write_bytes(b'<?xml version="1.0" encoding="windows-1251"?><ED807')
    with pytest.raises(DirectoryFileError, match="not well-formed"):
        parse_bik_directory(broken)


# --- Russian Post postal index (PIndx) ---


def test_shipped_postal_index_parses_with_real_indexes():
    places = {place.postal_code: place for place in parse_postal_index(SHIPPED_POSTAL_INDEX)}
    assert len(places) >= 40
    for code in places:
        assert validate_postal_code(code) == code
    moscow = places["101000"]
    assert (moscow.office_name, moscow.office_type, moscow.region, moscow.locality) == (
        "МОСКВА 101",
        "ГОПС",
        "МОСКВА",
        "МОСКВА",
    )
    assert moscow.active_since is not None
    assert places["190000"].locality == "САНКТ-ПЕТЕРБУРГ"
    assert places["630099"].region == "НОВОСИБИРСКАЯ ОБЛАСТЬ"
    assert places["620014"].locality == "ЕКАТЕРИНБУРГ"
    assert places["420111"].region == "ТАТАРСТАН РЕСПУБЛИКА"
    for code in ("117997", "123112", "125009", "191186"):
        assert code in places
    village = places["143050"]
    assert (village.area, village.city, village.locality) == (
        "ОДИНЦОВСКИЙ РАЙОН",
        None,
        "БОЛЬШИЕ ВЯЗЕМЫ",
    )
    assert places["628011"].autonomy == "ХАНТЫ-МАНСИЙСКИЙ-ЮГРА АВТОНОМНЫЙ ОКРУГ"


def test_postal_index_in_windows_1251_with_commas(tmp_path):
    path = tmp_path / "PIndx01.csv"
    path.write_bytes(
        (
            "INDEX,OPSNAME,OPSTYPE,OPSSUBM,REGION,AUTONOM,AREA,CITY,CITY_1,ACTDATE,INDEXOLD\r\n"
            "630099,НОВОСИБИРСК 99,ГОПС,630961,НОВОСИБИРСКАЯ ОБЛАСТЬ,,,НОВОСИБИРСК,,20180726,\r\n"
        ).encode("cp1251")
    )
    [place] = parse_postal_index(path)
    assert (place.postal_code, place.locality, place.previous_postal_code) == (
        "630099",
        "НОВОСИБИРСК",
        None,
    )


def test_file_without_pindx_columns_is_refused(tmp_path):
    path = tmp_path / "wrong.csv"
    path.write_text("code;name\n101000;Москва\n", "utf-8")
    with pytest.raises(DirectoryFileError, match="not a PIndx file"):
        parse_postal_index(path)


# --- company registry sample ---


def test_every_shipped_registry_entry_passes_requisite_validation():
    records = parse_registry(SHIPPED_REGISTRY)
    assert len(records) >= 10
    for record in records:
        assert record.legal_form is not None
        errors = validate_organization_requisites(
            legal_form=record.legal_form,
            inn=record.inn,
            kpp=record.kpp,
            ogrn=record.ogrn,
            okpo=record.okpo,
            bik="044525225",
            settlement_account="40702810938000012345",
            correspondent_account="30101810400000000225",
            country="RU",
        )
        assert errors == [], (record.short_name, errors)
        assert record.okved is not None and classification_for(record.okved)
        assert record.legal_address is not None
        assert record.legal_address.postal_code
        assert validate_postal_code(record.legal_address.postal_code)
        if record.director_name:
            assert director_name_genitive(record.director_name) != record.director_name


def test_shipped_registry_knows_sberbank():
    sber = next(r for r in parse_registry(SHIPPED_REGISTRY) if r.inn == "7707083893")
    assert (sber.kpp, sber.ogrn, sber.okpo, sber.legal_form) == (
        "773601001",
        "1027700132195",
        "00032537",
        "ПАО",
    )
    assert sber.director_name == "Греф Герман Оскарович"
    assert sber.legal_address is not None
    assert sber.legal_address.line == "117312, г. Москва, ул. Вавилова, д. 19"


def test_broken_registry_line_is_reported_with_its_number(tmp_path):
    path = tmp_path / "registry.jsonl"
    path.write_text('{"inn": "7707083893", "full_name": "ПАО СБЕРБАНК"}\n\n{"inn": 1\n', "utf-8")
    with pytest.raises(DirectoryFileError, match="line 3"):
        parse_registry(path)


async def test_offline_registry_provider_finds_by_inn_and_kpp():
    registry = OfflineRegistryProvider.from_file(SHIPPED_REGISTRY)
    sber = await registry.find_by_inn("7707083893")
    assert sber is not None and sber.short_name == "ПАО СБЕРБАНК"
    assert await registry.find_by_inn("7707083893", "773601001") == sber
    assert await registry.find_by_inn("7707083893", "770801001") is None
    assert await registry.find_by_inn("7736050001") is None


# --- DaData-compatible HTTP provider against a real server ---

API_KEY = "test-dadata-key"
FAILING_INN = "5000000000"
SLOW_INN = "6000000000"

SBER_PARTY: dict[str, Any] = {
    "value": "ПАО СБЕРБАНК",
    "unrestricted_value": "ПАО СБЕРБАНК",
    "data": {
        "kpp": "773601001",
        "management": {
            "name": "Греф Герман Оскарович",
            "post": "ПРЕЗИДЕНТ, ПРЕДСЕДАТЕЛЬ ПРАВЛЕНИЯ",
        },
        "branch_type": "MAIN",
        "type": "LEGAL",
        "opf": {
            "type": "2014",
            "code": "12247",
            "full": "Публичное акционерное общество",
            "short": "ПАО",
        },
        "name": {
            "full_with_opf": 'ПУБЛИЧНОЕ АКЦИОНЕРНОЕ ОБЩЕСТВО "СБЕРБАНК РОССИИ"',
            "short_with_opf": "ПАО СБЕРБАНК",
            "full": "СБЕРБАНК РОССИИ",
            "short": "СБЕРБАНК",
        },
        "inn": "7707083893",
        "ogrn": "1027700132195",
        "okpo": "00032537",
        "okved": "64.19",
        "address": {
            "value": "г Москва, ул Вавилова, д 19",
            "unrestricted_value": "117312, г Москва, Академический р-н, ул Вавилова, д 19",
            "data": {
                "postal_code": "117312",
                "region_with_type": "г Москва",
                "area_with_type": None,
                "city": "Москва",
                "settlement_with_type": None,
                "street_with_type": "ул Вавилова",
                "house": "19",
            },
        },
    },
}
SOLE_PROPRIETOR_PARTY: dict[str, Any] = {
    "value": "ИП Иванов Иван Иванович",
    "data": {
        "kpp": None,
        "type": "INDIVIDUAL",
        "opf": {"short": "ИП", "full": "Индивидуальный предприниматель"},
        "name": {
            "full_with_opf": "Индивидуальный предприниматель Иванов Иван Иванович",
            "short_with_opf": "ИП Иванов Иван Иванович",
            "full": "Иванов Иван Иванович",
        },
        "inn": "500100732259",
        "ogrn": "304770100001231",
        "okpo": None,
        "okved": "62.01",
        "address": {
            "value": "Московская обл, Одинцовский р-н, село Большие Вязёмы",
            "data": {
                "postal_code": "143050",
                "region_with_type": "Московская обл",
                "area_with_type": "Одинцовский р-н",
                "city": None,
                "settlement_with_type": "село Большие Вязёмы",
                "street_with_type": None,
            },
        },
    },
}


def dadata_app(calls: list[dict]) -> FastAPI:
    app = FastAPI()

    @app.post("/suggestions/api/4_1/rs/findById/party")
    async def find_party(request: Request, authorization: str = Header("")) -> JSONResponse:
        if authorization != f"Token {API_KEY}":
            return JSONResponse({"family": "CLIENT_ERROR", "reason": "Forbidden"}, 403)
        query = await request.json()
        calls.append(query)
        if query["query"] == FAILING_INN:
            return JSONResponse({"family": "SERVER_ERROR", "reason": "Internal"}, 500)
        if query["query"] == SLOW_INN:
            await asyncio.sleep(1)
        parties = [
            party
            for party in (SBER_PARTY, SOLE_PROPRIETOR_PARTY)
            if party["data"]["inn"] == query["query"]
            and query.get("kpp") in (None, party["data"]["kpp"])
        ]
        return JSONResponse({"suggestions": parties})

    return app


@pytest.fixture(scope="module")
async def dadata():
    calls: list[dict] = []
    async with serve(dadata_app(calls)) as base_url:
        yield f"{base_url}/suggestions/api/4_1/rs/", calls


async def test_http_provider_maps_a_dadata_party(dadata):
    url, calls = dadata
    registry = HttpRegistryProvider(url, API_KEY)
    sber = await registry.find_by_inn("7707083893", "773601001")
    assert calls[-1] == {"query": "7707083893", "kpp": "773601001"}
    assert sber is not None
    assert (sber.inn, sber.kpp, sber.ogrn, sber.okpo, sber.okved, sber.legal_form) == (
        "7707083893",
        "773601001",
        "1027700132195",
        "00032537",
        "64.19",
        "ПАО",
    )
    assert sber.full_name == 'ПУБЛИЧНОЕ АКЦИОНЕРНОЕ ОБЩЕСТВО "СБЕРБАНК РОССИИ"'
    assert sber.short_name == "ПАО СБЕРБАНК"
    assert sber.director_name == "Греф Герман Оскарович"
    assert sber.legal_address is not None
    assert sber.legal_address.model_dump() == {
        "postal_code": "117312",
        "region": "г Москва",
        "district": None,
        "locality": "Москва",
        "street": "ул Вавилова",
        "line": "г Москва, ул Вавилова, д 19",
    }


async def test_http_provider_maps_a_sole_proprietor(dadata):
    url, calls = dadata
    person = await HttpRegistryProvider(url, API_KEY).find_by_inn("500100732259")
    assert calls[-1] == {"query": "500100732259"}
    assert person is not None
    assert (person.legal_form, person.kpp, person.director_name) == (
        "ИП",
        None,
        "Иванов Иван Иванович",
    )
    assert person.legal_address is not None
    assert (person.legal_address.district, person.legal_address.locality) == (
        "Одинцовский р-н",
        "село Большие Вязёмы",
    )


async def test_http_provider_answers_none_when_registry_knows_nothing(dadata):
    url, _ = dadata
    registry = HttpRegistryProvider(url, API_KEY)
    assert await registry.find_by_inn("7736050003") is None
    assert await registry.find_by_inn("7707083893", "770801001") is None


async def test_http_provider_with_a_shared_client(dadata):
    url, _ = dadata
    async with httpx.AsyncClient() as client:
        registry = HttpRegistryProvider(url, API_KEY, client=client)
        first = await registry.find_by_inn("7707083893")
        second = await registry.find_by_inn("7707083893")
    assert first is not None and first == second


async def test_http_provider_upstream_failures_are_clear_errors(dadata):
    url, _ = dadata
    with pytest.raises(RegistryUnavailableError, match="answered 500"):
        await HttpRegistryProvider(url, API_KEY).find_by_inn(FAILING_INN)
    with pytest.raises(RegistryUnavailableError, match="answered 403"):
        await HttpRegistryProvider(url, "wrong-key").find_by_inn("7707083893")
    with pytest.raises(RegistryUnavailableError, match=r"did not answer within 0\.2 s"):
        await HttpRegistryProvider(url, API_KEY, timeout=0.2).find_by_inn(SLOW_INN)


async def test_http_provider_unreachable_registry():
    registry = HttpRegistryProvider(f"http://127.0.0.1:{free_port()}", API_KEY, timeout=2)
    with pytest.raises(RegistryUnavailableError, match="unreachable"):
        await registry.find_by_inn("7707083893")
