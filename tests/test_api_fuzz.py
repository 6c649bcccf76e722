"""The merged OpenAPI document, fuzzed through the gateway with schemathesis: no request a
client can make gets a 5xx, and every answer matches the documented schema."""

import asyncio
import os
import sys
import tempfile
from pathlib import Path

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Stack

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


async def fuzz(stack: Stack, *headers: str) -> tuple[int, str]:
    args = [
        str(SCHEMATHESIS),
        "run",
        f"{stack.urls['gateway']}/openapi.json",
        "--checks",
        "not_a_server_error,status_code_conformance,response_schema_conformance,"
        "content_type_conformance",
        "--phases",
        "examples,fuzzing",
        "--max-examples",
        os.environ.get("KABINET_FUZZ_EXAMPLES", "12"),
        "--seed",
        "20261122",
        "--generation-deterministic",
        "--request-timeout",
        "20",
        "--no-color",
    ]
    for header in headers:
        args += ["-H", header]
    # Its own working directory keeps schemathesis' cache out of the repository.
    with tempfile.TemporaryDirectory() as workdir:
        process = await asyncio.create_subprocess_exec(
            *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=workdir
        )
        output, _ = await process.communicate()
    return process.returncode or 0, output.decode(errors="replace")


async def test_anonymous_callers_get_no_server_error_and_documented_answers(stack: Stack):
    code, output = await fuzz(stack)
    assert code == 0, output[-6000:]


async def test_an_admin_gets_no_server_error_and_documented_answers(stack: Stack):
    login = await stack.gateway.post(
        "/api/v1/auth/login", json={"login": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    token = login.json()["access_token"]
    code, output = await fuzz(stack, f"Authorization: Bearer {token}")
    assert code == 0, output[-6000:]
