"""Liveness, readiness of every service, metrics, CORS."""

import asyncio

from gateway.tests.conftest import Doubles
from shared.testing.servers import free_port


async def test_healthz_answers_without_asking_the_services(gateway, doubles):
    response = await gateway.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert not any(double.hits for double in doubles.values())


async def test_readyz_is_200_when_every_service_is_ready(gateway, doubles):
    response = await gateway.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"identity": "ok", "licensing": "ok", "helpdesk": "ok", "dongle": "ok"},
    }


async def test_readyz_is_503_when_a_service_is_down(start_gateway, doubles):
    async with start_gateway(dongle_url=f"http://127.0.0.1:{free_port()}") as gateway:
        response = await gateway.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not_ready"
    assert body["checks"]["dongle"] == "unavailable: ConnectError"
    assert body["checks"]["identity"] == "ok"


async def test_readyz_is_503_when_a_service_is_not_ready(gateway, doubles):
    doubles["licensing"].ready = False
    response = await gateway.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["licensing"] == "not ready: 503"


async def test_readyz_does_not_wait_for_a_hanging_service(start_gateway, doubles):
    doubles["helpdesk"].hold_readiness = True
    async with start_gateway(gateway_probe_timeout=0.3) as gateway:
        response = await asyncio.wait_for(gateway.get("/readyz"), 5)
    assert response.status_code == 503
    assert response.json()["checks"]["helpdesk"] == "unavailable: ReadTimeout"


async def test_readyz_asks_all_services_at_once(gateway, doubles: Doubles):
    # Each service answers only when all four have been asked: one at a time would never finish.
    barrier = asyncio.Barrier(len(doubles))
    for double in doubles.values():
        double.readiness_barrier = barrier
    response = await gateway.get("/readyz")
    assert response.status_code == 200, response.text


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
