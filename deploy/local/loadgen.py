"""The load generator of `make bench`, always in a process of its own: wrk, else Python.

wrk (an established C load generator) is used when it is installed; its Lua `done` hook prints
one JSON line with the figures. Without it, this module runs itself as a separate process
(`python -m deploy.local.loadgen SPEC`) with an httpx client per connection under uvloop and
prints the same JSON line, so the servers never share an event loop with their load.
"""

import asyncio
import contextlib
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

# Headers that must differ on every request (a caller header good for one use) are made ahead,
# this many per second of load, and taken in turn.
FRESH_PER_SECOND = 4000

# wrk's Lua: method, body and headers of the request, and the figures as one JSON line.
WRK_FRESH = """
local fresh = {{
{sets}
}}
local turn = 0
request = function()
  turn = turn % #fresh + 1
  for name, value in pairs(fresh[turn]) do wrk.headers[name] = value end
  return wrk.format()
end
"""
WRK_SCRIPT = """
wrk.method = {method}
wrk.body = {body}
{headers}
{fresh}
done = function(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{{"requests": %d, "seconds": %f, "p50_ms": %f, "p99_ms": %f, '
    .. '"errors": %d, "error_kinds": "connect %d, read %d, write %d, status %d, timeout %d"}}\\n',
    summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    errors.connect + errors.read + errors.write + errors.status + errors.timeout,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout))
end
"""


@dataclass(frozen=True)
class LoadRequest:
    """The one request a load run repeats."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    # Makes the headers that must be new on every request (None: there are none).
    fresh: Callable[[], dict[str, str]] | None = None

    def one(self) -> dict[str, str]:
        """The headers of one request."""
        return {**self.headers, **(self.fresh() if self.fresh else {})}

    def fresh_sets(self, seconds: float) -> list[dict[str, str]]:
        if self.fresh is None:
            return []
        return [self.fresh() for _ in range(int(FRESH_PER_SECOND * max(seconds, 1)))]


@dataclass
class LoadResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    error_kinds: str = ""

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wrk_path() -> str | None:
    return shutil.which("wrk")


def _lua_string(value: str | bytes) -> str:
    """A Lua long-bracket literal that holds `value` byte for byte (level 1 and up, so that it
    can stand inside `[...]`)."""
    text = value.decode("utf-8") if isinstance(value, bytes) else value
    level = 1
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


def _lua_table(headers: dict[str, str]) -> str:
    return ", ".join(
        f"[ {_lua_string(name)} ] = {_lua_string(value)}" for name, value in headers.items()
    )


def wrk_script(request: LoadRequest, fresh_sets: list[dict[str, str]] | None = None) -> str:
    headers = "\n".join(
        f"wrk.headers[ {_lua_string(name)} ] = {_lua_string(value)}"
        for name, value in request.headers.items()
    )
    body = _lua_string(request.body) if request.body is not None else "nil"
    fresh = ""
    if fresh_sets:
        fresh = WRK_FRESH.format(sets=",\n".join(f"{{ {_lua_table(one)} }}" for one in fresh_sets))
    return WRK_SCRIPT.format(
        method=_lua_string(request.method), body=body, headers=headers, fresh=fresh
    )


async def run_load(request: LoadRequest, connections: int, seconds: float) -> LoadResult:
    """`connections` keep-alive connections sending `request` back to back for `seconds`."""
    wrk = wrk_path()
    if wrk is not None:
        return await _run_wrk(wrk, request, connections, seconds)
    spec = json.dumps(
        {
            "method": request.method,
            "url": request.url,
            "headers": request.headers,
            "fresh": request.fresh_sets(seconds),
            "body": request.body.decode() if request.body is not None else None,
            "connections": connections,
            "seconds": seconds,
        }
    )
    return await _run_child([sys.executable, "-m", "deploy.local.loadgen", spec])


@contextlib.contextmanager
def _script_file(request: LoadRequest, seconds: float) -> Iterator[str]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(wrk_script(request, request.fresh_sets(seconds)))
    try:
        yield script.name
    finally:
        Path(script.name).unlink(missing_ok=True)


async def _run_wrk(wrk: str, request: LoadRequest, connections: int, seconds: float) -> LoadResult:
    with _script_file(request, seconds) as script:
        # One thread: wrk outpaces any Python server on a core, and leaves the other to them.
        args = [wrk, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "10s"]
        return await _run_child([*args, "-s", script, request.url])


async def _run_child(args: list[str]) -> LoadResult:
    process = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await process.communicate()
    for line in reversed(stdout.decode(errors="replace").splitlines()):
        if line.startswith("{"):
            return LoadResult(**json.loads(line))
    raise RuntimeError(f"{args[0]} gave no figures: {stderr.decode(errors='replace')[-500:]}")


async def _python_load(spec: dict[str, object]) -> LoadResult:
    """The fallback generator: one client and one task per connection, latencies kept."""
    connections = int(str(spec["connections"]))
    seconds = float(str(spec["seconds"]))
    body = spec["body"]
    content = body.encode() if isinstance(body, str) else None
    headers = spec["headers"] if isinstance(spec["headers"], dict) else {}
    given = spec.get("fresh")
    fresh: list[dict[str, str]] = given if isinstance(given, list) else []
    turn = 0
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def connection() -> None:
        nonlocal errors, turn
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(limits=limits, timeout=10, trust_env=False) as client:
            # At least one request per connection, however late the connection got going.
            sending = True
            while sending:
                turn += 1
                sent = {**headers, **fresh[turn % len(fresh)]} if fresh else headers
                started = time.perf_counter()
                try:
                    response = await client.request(
                        str(spec["method"]), str(spec["url"]), headers=sent, content=content
                    )
                except httpx.HTTPError:
                    errors += 1
                else:
                    if response.status_code >= 400:
                        errors += 1
                    latencies.append(time.perf_counter() - started)
                sending = time.perf_counter() < deadline

    started = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies) or [float("nan")]

    def percentile(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return LoadResult(
        requests=len(latencies),
        seconds=elapsed,
        p50_ms=percentile(0.5),
        p99_ms=percentile(0.99),
        errors=errors,
        error_kinds=f"status or transport {errors}",
    )


def main() -> None:
    spec = json.loads(sys.argv[1])
    runner = asyncio.run
    with contextlib.suppress(ImportError):
        import uvloop

        runner = uvloop.run
    print(json.dumps(asdict(runner(_python_load(spec)))))


if __name__ == "__main__":
    main()
