"""The caller header between the gateway and a service: sealed for one service, method and path,
good for seconds, used once; a production process refuses the development secret."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.config import GatewaySettings
from services.dongle.config import Settings as DongleSettings
from services.helpdesk.config import Settings as HelpdeskSettings
from services.identity.config import Settings as IdentitySettings
from services.licensing.config import Settings as LicensingSettings
from shared.auth import (
    CALLER_LIFETIME_SECONDS,
    CLOCK_SKEW_SECONDS,
    PRINCIPAL_HEADER,
    NonceRegistry,
    Principal,
    sign_principal,
)
from shared.config import DEVELOPMENT_INTERNAL_SECRET, PlatformSettings
from shared.service import create_service_app
from shared.testing.plugin import running
from shared.tests.conftest import producer_definition

ROOT = Path(__file__).resolve().parents[2]
SERVICE = "probe_producer"
SECRET = "a-test-secret-that-is-long-enough-for-production"
PARTNER = Principal(
    kind="api_key",
    api_key_id=uuid.uuid4(),
    organization_id=uuid.uuid4(),
    roles=["partner"],
    scopes=["read"],
)


def sealed(**changes) -> dict[str, str]:
    seal = {"service": SERVICE, "method": "POST", "path": "/probe", "secret": SECRET, **changes}
    secret = seal.pop("secret")
    return {PRINCIPAL_HEADER: sign_principal(PARTNER, secret, **seal)}


@pytest.fixture
async def producer(platform_settings, clean_probe_tables):
    settings = platform_settings.model_copy(
        update={"run_workers": False, "internal_secret": SECRET}
    )
    async with running(create_service_app(producer_definition(), settings)) as client:
        yield client


async def call(client, headers: dict[str, str]) -> int:
    response = await client.post("/probe", params={"n": 1}, headers=headers)
    if response.status_code == 401:
        assert response.headers["content-type"] == "application/problem+json"
    return response.status_code


async def test_a_header_sealed_for_this_call_is_believed_once(producer):
    headers = sealed()
    assert await call(producer, headers) == 201
    # The same header again is a replay, however soon.
    assert await call(producer, headers) == 401
    assert await call(producer, sealed()) == 201


@pytest.mark.parametrize(
    "changes",
    [
        {"service": "identity"},
        {"method": "GET"},
        {"path": "/probe/other"},
    ],
    ids=["another service", "another method", "another path"],
)
async def test_a_header_sealed_for_another_call_is_refused(producer, changes):
    assert await call(producer, sealed(**changes)) == 401


async def test_an_expired_or_future_header_is_refused(producer):
    too_old = time.time() - CALLER_LIFETIME_SECONDS - CLOCK_SKEW_SECONDS - 1
    assert await call(producer, sealed(now=too_old)) == 401
    assert await call(producer, sealed(now=time.time() + 60)) == 401
    # Within the allowed skew it is still good.
    assert await call(producer, sealed(now=time.time() - CALLER_LIFETIME_SECONDS + 2)) == 201


async def test_a_forged_or_default_keyed_header_is_refused(producer):
    assert await call(producer, sealed(secret=DEVELOPMENT_INTERNAL_SECRET)) == 401
    assert await call(producer, sealed(secret="guess")) == 401
    payload, mac = sealed()[PRINCIPAL_HEADER].split(".")
    tampered = payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB")
    assert await call(producer, {PRINCIPAL_HEADER: f"{tampered}.{mac}"}) == 401
    assert await call(producer, {PRINCIPAL_HEADER: "not-a-header"}) == 401


def test_spent_nonces_are_forgotten_once_expired():
    nonces = NonceRegistry()
    now = 1_000.0
    for n in range(1000):
        assert nonces.first_use(f"n{n}", now + CALLER_LIFETIME_SECONDS, now)
    assert not nonces.first_use("n1", now + CALLER_LIFETIME_SECONDS, now)
    later = now + CALLER_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS + 1
    assert nonces.first_use("fresh", later + CALLER_LIFETIME_SECONDS, later)
    assert len(nonces) == 1


PROCESS_SETTINGS = [
    PlatformSettings,
    GatewaySettings,
    IdentitySettings,
    LicensingSettings,
    HelpdeskSettings,
    DongleSettings,
]


@pytest.mark.parametrize("settings_class", PROCESS_SETTINGS, ids=lambda c: c.__module__)
@pytest.mark.parametrize(
    "secret",
    [DEVELOPMENT_INTERNAL_SECRET, "change-me", "short-but-not-default"],
    ids=["development", "placeholder", "short"],
)
def test_production_refuses_development_secrets(settings_class, secret):
    with pytest.raises(ValidationError, match="KABINET_INTERNAL_SECRET"):
        settings_class(env="production", internal_secret=secret)
    assert settings_class(env="production", internal_secret=SECRET).env == "production"
    assert settings_class(env="local", internal_secret=secret).internal_secret == secret


def test_a_production_process_does_not_start_and_says_why():
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("KABINET_INTERNAL_SECRET")
    }
    env["KABINET_ENV"] = "production"
    result = subprocess.run(
        [sys.executable, "-c", "from gateway.app import create_app; create_app()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode != 0
    assert "KABINET_INTERNAL_SECRET" in result.stderr
    assert "development value" in result.stderr
