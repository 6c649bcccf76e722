"""Liveness, the gateway's readiness, every service's status, metrics, CORS."""

import asyncio

from gateway.tests.conftest import Doubles
from shared.testing.servers import free_port


async def test_healthz_answers_without_asking_the_services(gateway, doubles):
    response = await gateway.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert not any(double.hits for double in doubles.values())


async def test_status_shows_every_service_and_readyz_only_the_gateway(gateway, doubles):
    status = await gateway.get("/status")
    assert status.status_code == 200
    assert status.json() == {
        "status": "ok",
        "services": {"identity": "ok", "licensing": "ok", "helpdesk": "ok", "dongle": "ok"},
    }
    ready = await gateway.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"signing_keys": "ok"}}


async def test_a_service_down_is_in_status_but_the_gateway_stays_ready(start_gateway, doubles):
    async with start_gateway(dongle_url=f"http://127.0.0.1:{free_port()}") as gateway:
        ready = await gateway.get("/readyz")
        status = await gateway.get("/status")
    assert ready.status_code == 200, ready.text
    assert status.status_code == 200
    assert status.json()["status"] == "degraded"
    assert status.json()["services"]["dongle"] == "unavailable: ConnectError"
    assert status.json()["services"]["identity"] == "ok"


async def test_readyz_is_503_while_identitys_keys_are_unknown(start_gateway, doubles):
    async with start_gateway(identity_url=f"http://127.0.0.1:{free_port()}") as gateway:
        ready = await gateway.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["signing_keys"].startswith("unavailable")


async def test_once_the_keys_are_known_identitys_outage_does_not_unready_the_gateway(
    start_gateway, doubles
):
    async with start_gateway() as gateway:
        assert (await gateway.get("/readyz")).status_code == 200
        doubles["identity"].ready = False
        assert (await gateway.get("/readyz")).status_code == 200
        assert (await gateway.get("/status")).json()["services"]["identity"] == "not ready: 503"


async def test_status_reports_a_service_that_is_not_ready(gateway, doubles):
    doubles["licensing"].ready = False
    response = await gateway.get("/status")
    assert response.json()["services"]["licensing"] == "not ready: 503"


async def test_status_does_not_wait_for_a_hanging_service(start_gateway, doubles):
    doubles["helpdesk"].hold_readiness = True
    async with start_gateway(gateway_probe_timeout=0.3) as gateway:
        response = await asyncio.wait_for(gateway.get("/status"), 5)
    assert response.json()["services"]["helpdesk"] == "unavailable: ReadTimeout"


async def test_status_asks_all_services_at_once(gateway, doubles: Doubles):
    # Each service answers only when all four have been asked: one at a time would never finish.
    barrier = asyncio.Barrier(len(doubles))
    for double in doubles.values():
        double.readiness_barrier = barrier
    response = await gateway.get("/status")
    assert response.json()["status"] == "ok", response.text


async def test_metrics_count_requests_per_service(gateway, doubles):
    await gateway.get("/api/v1/keys")
    metrics = (await gateway.get("/metrics")).text
    assert 'kabinet_gateway_upstream_requests_total{outcome="200",service="dongle"}' in metrics
    assert "kabinet_http_requests_total" in metrics


async def test_cors_allows_configured_origins_only(start_gateway, doubles):
    preflight = {"Access-Control-Request-Method": "POST"}
    async with start_gateway(cors_origins=["https://portal.example.ru"]) as gateway:
        allowed = await gateway.options(
            "/api/v1/tickets", headers={"Origin": "https://portal.example.ru", **preflight}
        )
        refused = await gateway.options(
            "/api/v1/tickets", headers={"Origin": "https://evil.example", **preflight}
        )
        simple = await gateway.get(
            "/api/v1/tickets", headers={"Origin": "https://portal.example.ru"}
        )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://portal.example.ru"
    assert "access-control-allow-origin" not in refused.headers
    assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()
    # Preflights are answered by the gateway and never bother a service.
    assert doubles["helpdesk"].hits["/api/v1/tickets"] == 1
