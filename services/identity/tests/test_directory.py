"""Autofill directories (spec 10-identity, rule 4): look-ups by BIK and postal index, the admin
import command, and the shipped sample loaded at start when the tables are empty."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from services.identity.app import create_app
from services.identity.directory.parsers import (
    parse_bik_directory,
    parse_postal_index,
    parse_registry,
)
from services.identity.directory.service import SHIPPED_FILES
from services.identity.models import Bank, PostalCode, RegistryEntry
from services.identity.tests.conftest import identity_settings
from shared.clock import ManualClock
from shared.testing.plugin import running

REPO_ROOT = Path(__file__).resolve().parents[3]

ED807 = """<?xml version="1.0" encoding="UTF-8"?>
<ED807 xmlns="urn:cbr-ru:ed:v2.0" EDNo="1" EDDate="2026-11-02" EDAuthor="4583001999">
  <BICDirectoryEntry BIC="044525999">
    <ParticipantInfo NameP="АО Тестовый Банк" Rgn="45" Ind="117997" Tnp="г" Nnp="Москва"
                     Adr="ул Вавилова, 1" ParticipantStatus="PSAC"/>
    <Accounts Account="30101810900000000999" RegulationAccountType="CRSA" AccountStatus="ACAC"/>
  </BICDirectoryEntry>
  <BICDirectoryEntry BIC="044525225">
    <ParticipantInfo NameP="ПАО Сбербанк (новое имя)" Rgn="45" Ind="117312" Tnp="г"
                     Nnp="Москва" Adr="ул Вавилова, 19" ParticipantStatus="PSAC"/>
    <Accounts Account="30101810400000000225" RegulationAccountType="CRSA" AccountStatus="ACAC"/>
  </BICDirectoryEntry>
</ED807>
"""

PINDX = (
    "INDEX;OPSNAME;OPSTYPE;OPSSUBM;REGION;AUTONOM;AREA;CITY;CITY_1;ACTDATE;INDEXOLD\n"
    "999001;ТЕСТОВО;ОПС;999000;ТЕСТОВАЯ ОБЛАСТЬ;;ТЕСТОВСКИЙ РАЙОН;;ТЕСТОВО;20240101;\n"
)

REGISTRY = (
    '{"inn": "7707083893", "kpp": "773601001", "full_name": "ТЕСТОВАЯ ЗАПИСЬ", '
    '"legal_form": "ПАО"}\n'
)


def run_importer(*args: str) -> subprocess.CompletedProcess[str]:
    """The admin command as an operator runs it, against this run's database."""
    return subprocess.run(
        [sys.executable, "-m", "services.identity.directory.importer", *args],
        cwd=REPO_ROOT,
        env={**os.environ},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def counts(identity) -> tuple[int, int, int]:
    async with identity.app.state.sessionmaker() as session:
        return (
            await session.scalar(select(func.count()).select_from(Bank)) or 0,
            await session.scalar(select(func.count()).select_from(PostalCode)) or 0,
            await session.scalar(select(func.count()).select_from(RegistryEntry)) or 0,
        )


@pytest.fixture
async def shipped_directory(identity):
    """Tests that import other files leave the shipped sample in place for everyone else."""
    yield
    result = run_importer()
    assert result.returncode == 0, result.stderr


# --- look-ups --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            "/api/v1/directory/banks/044525225",
            {
                "bik": "044525225",
                "name": "ПАО Сбербанк",
                "correspondent_account": "30101810400000000225",
                # ED807 names the region only by code: its name comes from the postal index.
                "region": "МОСКВА",
                "locality": "Москва",
                "address": "117312, г Москва, ул Вавилова, 19",
            },
        ),
        (
            # A postal index gives the region, the district and the locality.
            "/api/v1/directory/postal-codes/143050",
            {
                "postal_code": "143050",
                "office": "БОЛЬШИЕ ВЯЗЕМЫ",
                "region": "МОСКОВСКАЯ ОБЛАСТЬ",
                "district": "ОДИНЦОВСКИЙ РАЙОН",
                "locality": "БОЛЬШИЕ ВЯЗЕМЫ",
            },
        ),
    ],
)
async def test_a_bank_by_bik_and_a_postal_index_are_found(identity, path, expected):
    response = await identity.client.get(path)
    assert response.status_code == 200, response.text
    assert response.json() == expected


async def test_unknown_bik_is_404(identity):
    response = await identity.client.get("/api/v1/directory/banks/049999999")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("bik", ["04452522", "0445252250", "04452522A"])
async def test_malformed_bik_is_422(identity, bik):
    response = await identity.client.get(f"/api/v1/directory/banks/{bik}")
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["bik"]


async def test_autonomous_okrug_is_the_region(identity):
    response = await identity.client.get("/api/v1/directory/postal-codes/628011")
    assert response.json()["region"] == "ХАНТЫ-МАНСИЙСКИЙ-ЮГРА АВТОНОМНЫЙ ОКРУГ"
    assert response.json()["locality"] == "ХАНТЫ-МАНСИЙСК"


async def test_unknown_postal_code_is_404(identity):
    response = await identity.client.get("/api/v1/directory/postal-codes/999999")
    assert response.status_code == 404


@pytest.mark.parametrize("index", ["11799", "1179970", "11799A"])
async def test_malformed_postal_code_is_422(identity, index):
    response = await identity.client.get(f"/api/v1/directory/postal-codes/{index}")
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["index"]


# --- the admin import ------------------------------------------------------------------------


async def test_import_replaces_a_directory_and_is_idempotent(identity, shipped_directory, tmp_path):
    banks = tmp_path / "ED807.xml"
    banks.write_text(ED807, encoding="utf-8")
    _, postal_before, registry_before = await counts(identity)

    first = run_importer("--banks", str(banks))
    assert first.returncode == 0, first.stderr
    assert "banks: 2 records" in first.stdout
    # Only the named file was imported.
    assert (await counts(identity))[1:] == (postal_before, registry_before)

    new = await identity.client.get("/api/v1/directory/banks/044525999")
    assert new.status_code == 200
    assert new.json()["correspondent_account"] == "30101810900000000999"
    assert new.json()["region"] == "МОСКВА"
    renamed = await identity.client.get("/api/v1/directory/banks/044525225")
    assert renamed.json()["name"] == "ПАО Сбербанк (новое имя)"
    # Banks missing from the new file are gone.
    assert (await identity.client.get("/api/v1/directory/banks/044525187")).status_code == 404

    async with identity.app.state.sessionmaker() as session:
        before = [(b.bik, b.name) for b in await session.scalars(select(Bank).order_by(Bank.bik))]
    second = run_importer("--banks", str(banks))
    assert second.returncode == 0, second.stderr
    async with identity.app.state.sessionmaker() as session:
        after = [(b.bik, b.name) for b in await session.scalars(select(Bank).order_by(Bank.bik))]
    assert (
        after
        == before
        == [("044525225", "ПАО Сбербанк (новое имя)"), ("044525999", "АО Тестовый Банк")]
    )


async def test_import_of_postal_codes_and_registry(identity, shipped_directory, tmp_path):
    postal = tmp_path / "PIndx.csv"
    postal.write_text(PINDX, encoding="cp1251")
    registry = tmp_path / "registry.jsonl"
    registry.write_text(REGISTRY, encoding="utf-8")
    result = run_importer("--postal", str(postal), "--registry", str(registry))
    assert result.returncode == 0, result.stderr

    response = await identity.client.get("/api/v1/directory/postal-codes/999001")
    assert response.json() == {
        "postal_code": "999001",
        "office": "ТЕСТОВО",
        "region": "ТЕСТОВАЯ ОБЛАСТЬ",
        "district": "ТЕСТОВСКИЙ РАЙОН",
        "locality": "ТЕСТОВО",
    }
    assert (await identity.client.get("/api/v1/directory/postal-codes/117997")).status_code == 404
    async with identity.app.state.sessionmaker() as session:
        entries = (await session.scalars(select(RegistryEntry))).all()
    assert [(e.inn, e.kpp, e.data["full_name"]) for e in entries] == [
        ("7707083893", "773601001", "ТЕСТОВАЯ ЗАПИСЬ")
    ]


async def test_import_without_options_loads_the_shipped_files(identity):
    result = run_importer()
    assert result.returncode == 0, result.stderr
    again = run_importer()
    assert again.returncode == 0, again.stderr
    assert again.stdout == result.stdout
    banks, postal, registry = await counts(identity)
    assert SHIPPED_FILES.banks and SHIPPED_FILES.postal and SHIPPED_FILES.registry
    assert banks == len({bank.bik for bank in parse_bik_directory(SHIPPED_FILES.banks)})
    assert postal == len({row.postal_code for row in parse_postal_index(SHIPPED_FILES.postal)})
    assert registry == len(parse_registry(SHIPPED_FILES.registry))
    assert f"banks: {banks} records" in result.stdout
    assert f"postal_codes: {postal} records" in result.stdout
    assert f"registry_entries: {registry} records" in result.stdout
    sberbank = await identity.client.get("/api/v1/directory/banks/044525225")
    assert sberbank.json()["name"] == "ПАО Сбербанк"


async def test_a_broken_file_changes_nothing(identity, tmp_path):
    before = await counts(identity)
    broken = tmp_path / "broken.xml"
    broken.write_text("<not-an-ed807/>", encoding="utf-8")
    result = run_importer("--banks", str(broken))
    assert result.returncode == 1
    assert "nothing changed" in result.stderr
    empty = tmp_path / "empty.csv"
    empty.write_text(PINDX.splitlines()[0] + "\n", encoding="utf-8")
    assert run_importer("--postal", str(empty)).returncode == 1
    assert await counts(identity) == before


# --- the first load at start -----------------------------------------------------------------


async def test_empty_directories_are_loaded_at_start(
    identity, platform_settings, mail_sink, sms_sink
):
    async with identity.app.state.sessionmaker() as session, session.begin():
        await session.execute(delete(Bank))
        await session.execute(delete(PostalCode))
        await session.execute(delete(RegistryEntry))
    assert await counts(identity) == (0, 0, 0)

    settings = identity_settings(platform_settings, mail_sink[1], sms_sink.url)
    async with running(create_app(settings, clock=ManualClock())) as client:
        response = await client.get("/api/v1/directory/banks/044525225")
    assert response.status_code == 200
    banks, postal, registry = await counts(identity)
    assert banks > 0 and postal > 0 and registry > 0


async def test_start_leaves_an_imported_directory_alone(
    identity, shipped_directory, platform_settings, mail_sink, sms_sink, tmp_path
):
    banks = tmp_path / "ED807.xml"
    banks.write_text(ED807, encoding="utf-8")
    assert run_importer("--banks", str(banks)).returncode == 0

    settings = identity_settings(platform_settings, mail_sink[1], sms_sink.url)
    async with running(create_app(settings, clock=ManualClock())):
        pass
    assert (await counts(identity))[0] == 2
