"""`make bench` itself, without benchmarking: its scenario table is sound, its load generators
count what they send and what failed, and its ratios divide the right figures.

No timing is asserted anywhere: the load runs below last a fraction of a second and only their
counts are checked.
"""

import shutil

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from deploy.local import bench
from deploy.local.loadgen import LoadRequest, LoadResult, _python_load, run_load, wrk_script
from gateway.routes import owning_service
from shared.config import SERVICES
from shared.testing.servers import serve


def test_every_scenario_names_a_service_route_and_anchor_that_exist() -> None:
    names = [scenario.name for scenario in bench.SCENARIOS]
    assert len(names) == len(set(names)), "scenario names must be unique (--only uses them)"
    for scenario in bench.SCENARIOS:
        assert scenario.service in SERVICES, scenario.name
        assert scenario.routes and set(scenario.routes) <= set(bench.ROUTES), scenario.name
        assert scenario.auth in ("anonymous", "contact", "admin", "partner"), scenario.name
        assert scenario.anchor is None or scenario.anchor in bench.ANCHOR_PATHS, scenario.name
        if "gateway" in scenario.routes:
            # Through the gateway the path must reach the very service measured directly.
            assert owning_service(scenario.path) == scenario.service, scenario.name


def test_the_tracked_scenarios_are_in_the_table() -> None:
    anchors = {scenario.anchor for scenario in bench.SCENARIOS}
    assert anchors >= {"healthz", "select"}
    assert any(
        {"direct", "nginx", "gateway"} <= set(scenario.routes) for scenario in bench.SCENARIOS
    )


def test_wrk_script_carries_method_headers_and_a_body_with_brackets_intact() -> None:
    body = b'{"password": "]]=]x"}'
    script = wrk_script(LoadRequest("POST", "http://127.0.0.1:1/x", {"X-Key": "v]=]w"}, body=body))
    assert "wrk.method = [=[POST]=]" in script
    # The long bracket grows past any `]=]` inside the value, so Lua reads it unchanged.
    assert 'wrk.body = [==[{"password": "]]=]x"}]==]' in script
    assert "wrk.headers[ [=[X-Key]=] ] = [==[v]=]w]==]" in script


def test_fresh_headers_are_made_ahead_and_taken_in_turn_by_wrk() -> None:
    made = iter(range(10_000))
    request = LoadRequest("GET", "http://127.0.0.1:1/x", fresh=lambda: {"X-Once": str(next(made))})
    script = wrk_script(request, request.fresh_sets(1))
    assert "[ [=[X-Once]=] ] = [=[0]=]" in script
    assert "[ [=[X-Once]=] ] = [=[3999]=]" in script
    assert "request = function()" in script
    assert request.one() == {"X-Once": "4000"}


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/ok")
    async def ok() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/broken")
    async def broken() -> JSONResponse:
        return JSONResponse({"status": "broken"}, status_code=500)

    return app


async def test_python_load_counts_answers_and_failed_answers() -> None:
    async with serve(_app()) as base:
        spec: dict[str, object] = {
            "method": "GET",
            "headers": {},
            "body": None,
            "connections": 2,
            "seconds": 0.3,
        }
        fine = await _python_load({**spec, "url": f"{base}/ok"})
        failing = await _python_load({**spec, "url": f"{base}/broken"})
    assert fine.requests > 0 and fine.errors == 0
    assert failing.requests > 0 and failing.errors == failing.requests


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
async def test_wrk_figures_are_read_back_with_failed_answers_counted() -> None:
    async with serve(_app()) as base:
        result = await run_load(LoadRequest("GET", f"{base}/broken"), connections=2, seconds=1)
    assert result.requests > 0
    assert result.errors == result.requests


def _figures(route: str, per_second: float, p50_ms: float) -> bench.Figures:
    result = LoadResult(requests=int(per_second), seconds=1.0, p50_ms=p50_ms, p99_ms=0, errors=0)
    return bench.Figures("products", route, LoadRequest("GET", "x"), [result], [result])


def test_ratios_divide_gateway_by_nginx_and_direct_by_its_anchor() -> None:
    scenario = next(s for s in bench.SCENARIOS if s.name == "products")
    results = [
        _figures("anchor", 1000, 0.5),
        _figures("direct", 600, 1.0),
        _figures("nginx", 500, 1.25),
        _figures("gateway", 400, 1.5),
    ]
    lines = bench.ratios(results, [scenario])
    assert "products: direct = 0.60× bare FastAPI + one SELECT [≥ 0.7]" in lines
    assert any(
        line.startswith("products: gateway = 0.80× nginx's requests/s [≥ 0.8]") for line in lines
    )
    assert any("gateway +0.50 ms, nginx +0.25 ms" in line for line in lines)


def test_slices_merge_into_one_figure_whose_percentiles_ignore_one_bad_slice() -> None:
    slices = [
        LoadResult(requests=100, seconds=1, p50_ms=1.0, p99_ms=4.0, errors=1, error_kinds="a"),
        LoadResult(requests=300, seconds=1, p50_ms=2.0, p99_ms=8.0, errors=0),
        LoadResult(requests=10, seconds=1, p50_ms=90.0, p99_ms=400.0, errors=0),
    ]
    merged = bench.merge(slices)
    assert merged is not None
    assert (merged.requests, merged.seconds, merged.errors) == (410, 3, 1)
    assert (merged.p50_ms, merged.p99_ms) == (2.0, 8.0)
    # A slice in which nothing finished has no percentiles to offer.
    empty = LoadResult(requests=0, seconds=1, p50_ms=0.0, p99_ms=0.0, errors=0)
    assert bench.merge([empty, slices[0]]) == LoadResult(
        requests=100, seconds=2, p50_ms=1.0, p99_ms=4.0, errors=1, error_kinds="a"
    )
    assert bench.merge([]) is None
