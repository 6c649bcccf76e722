"""Rate limits at the edge: per address for the anonymous endpoint groups, per API key and per
signed-in user, on an injected clock; through a served gateway in front of the real identity."""

from datetime import timedelta

import httpx
import pytest

from gateway.ratelimit import Bucket, Gcra, endpoint_group
from gateway.tests.identity import (
    PASSWORD,
    RunningIdentity,
    admin_token,
    bearer,
    issue_key,
    sign_in,
)
from shared.clock import ManualClock

PROBLEM = "application/problem+json"
LOGIN = "/api/v1/auth/login"
ANOTHER_ADDRESS = {"X-Forwarded-For": "203.0.113.7"}  # uvicorn trusts it from 127.0.0.1 only


def quota(response: httpx.Response) -> tuple[int, int, int]:
    headers = response.headers
    return (
        int(headers["RateLimit-Limit"]),
        int(headers["RateLimit-Remaining"]),
        int(headers["RateLimit-Reset"]),
    )


def assert_limited(response: httpx.Response, retry_after: int) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["status"] == 429
    assert "calls a minute" in response.json()["detail"]  # the gateway's, not a service's
    assert int(response.headers["Retry-After"]) == retry_after
    assert int(response.headers["RateLimit-Remaining"]) == 0


async def login_attempt(
    gateway: httpx.AsyncClient, headers: dict[str, str] | None = None
) -> httpx.Response:
    # An empty body: identity answers 422 at once, so the limit is all the test measures.
    return await gateway.post(LOGIN, json={}, headers=headers)


# -- the counter itself --------------------------------------------------------------------


def bucket(limit: int, key: str = "a") -> Bucket:
    return Bucket("test", key, limit, "in the test")


@pytest.mark.parametrize("limit", [1, 7, 60, 600, 1200])
def test_a_full_allowance_then_refusal(limit):
    clock = ManualClock()
    gcra = Gcra(clock)
    remaining = [gcra.admit([bucket(limit)]).remaining for _ in range(limit)]
    assert remaining == list(range(limit - 1, -1, -1))
    refused = gcra.admit([bucket(limit)])
    assert not refused.allowed
    # The next call is allowed one emission interval (60 s / limit) after the burst.
    assert refused.retry_after_seconds == max(1, -(-60 // limit))
    assert refused.reset_seconds == 60


def test_the_window_slides():
    clock = ManualClock()
    gcra = Gcra(clock)
    for _ in range(60):
        assert gcra.admit([bucket(60)]).allowed
    clock.advance(seconds=30)
    allowed = [gcra.admit([bucket(60)]).allowed for _ in range(31)]
    # Half the minute gone, half the allowance back: a fixed window would give none or all.
    assert allowed == [True] * 30 + [False]
    clock.advance(seconds=60)
    assert gcra.admit([bucket(60)]).remaining == 59


def test_a_call_counts_in_every_bucket_or_in_none():
    clock = ManualClock()
    gcra = Gcra(clock)
    for _ in range(2):
        gcra.admit([bucket(2, "tight")])
    refused = gcra.admit([bucket(10, "roomy"), bucket(2, "tight")])
    assert not refused.allowed and refused.bucket.key == "tight"
    # The refused call did not use up the roomy bucket.
    assert gcra.admit([bucket(10, "roomy")]).remaining == 9


def test_answer_is_the_tightest_bucket():
    gcra = Gcra(ManualClock())
    answer = gcra.admit([bucket(100, "roomy"), bucket(3, "tight")])
    assert (answer.bucket.key, answer.remaining) == ("tight", 2)


def test_buckets_full_again_are_forgotten():
    clock = ManualClock()
    gcra = Gcra(clock)
    for n in range(1000):
        gcra.admit([bucket(60, f"address-{n}")])
    clock.advance(timedelta(minutes=1, seconds=1))
    gcra.admit([bucket(60, "one more")])
    assert gcra.tracked == 1


@pytest.mark.parametrize(
    ("method", "path", "group"),
    [
        ("POST", "/api/v1/auth/login", "login"),
        ("POST", "/api/v1/auth/accountant", "login"),
        ("POST", "/api/v1/registration", "registration"),
        ("POST", "/api/v1/registration/lookup", "registration"),
        ("POST", "/api/v1/registration/0193-ab/verify", "codes"),
        ("POST", "/api/v1/registration/0193-ab/resend", "codes"),
        ("POST", "/api/v1/auth/password-recovery", "recovery"),
        ("POST", "/api/v1/auth/password-recovery/verify", "recovery"),
        ("POST", "/api/v1/auth/password-recovery/complete", "recovery"),
        ("POST", "/api/v1/callbacks", "callbacks"),
        ("GET", "/api/v1/callbacks", None),  # the agents' list
        ("POST", "/api/v1/callbacks/5/done", None),
        ("POST", "/api/v1/licenses/validate", "validation"),
        ("POST", "/api/v1/kb/suggest", "knowledge_base"),
        ("POST", "/api/v1/kb/articles/17/feedback", "knowledge_base"),
        ("GET", "/api/v1/kb/articles/17", None),
        ("POST", "/api/v1/auth/refresh", None),
        ("GET", "/api/v1/auth/jwks.json", None),
        ("GET", "/api/v1/products", None),
        ("POST", "/api/v1/auth/login-history", None),
    ],
)
def test_endpoint_groups(method, path, group):
    assert endpoint_group(method, path) == group


# -- per address, through the gateway ----------------------------------------------------


async def test_61st_login_call_in_a_minute_from_one_address_is_refused(
    start_edge, doubles, identity_service: RunningIdentity
):
    clock = identity_service.clock
    async with start_edge() as elsewhere:
        token = await admin_token(elsewhere, identity_service)
    async with start_edge() as gateway:  # the default: 60 a minute
        reached = identity_service.hits[LOGIN]
        answers = [await login_attempt(gateway) for _ in range(60)]
        refused = await login_attempt(gateway)
        # The accountant's sign-in is in the same group; a bearer token does not lift it.
        refused_too = [
            await gateway.post("/api/v1/auth/accountant", json={}),
            await gateway.post(LOGIN, json={}, headers=bearer(token)),
        ]
        other_group = await gateway.post("/api/v1/registration/lookup", json={})
        other_address = await login_attempt(gateway, ANOTHER_ADDRESS)
        clock.advance(seconds=1)
        after_a_second = [await login_attempt(gateway) for _ in range(2)]
    assert [response.status_code for response in answers] == [422] * 60
    assert [quota(response)[:2] for response in answers] == [(60, n) for n in range(59, -1, -1)]
    assert_limited(refused, retry_after=1)
    assert quota(refused) == (60, 0, 60)
    for response in refused_too:
        assert_limited(response, retry_after=1)
    # Refused at the edge: identity saw the 60 calls, the other address's and the one a
    # second later, nothing refused.
    assert identity_service.hits[LOGIN] == reached + 60 + 1 + 1
    assert other_group.status_code == 422 and quota(other_group)[:2] == (60, 59)
    assert other_address.status_code == 422 and quota(other_address)[:2] == (60, 59)
    assert after_a_second[0].status_code == 422
    assert_limited(after_a_second[1], retry_after=1)


async def test_limit_comes_from_settings_and_the_window_slides(
    start_edge, doubles, identity_service
):
    clock = identity_service.clock
    async with start_edge(anon_rate_per_minute=4) as gateway:
        for _ in range(4):
            assert (await gateway.post("/api/v1/callbacks", json={})).status_code == 200
        assert_limited(await gateway.post("/api/v1/callbacks", json={}), retry_after=15)
        clock.advance(seconds=14)
        assert_limited(await gateway.post("/api/v1/callbacks", json={}), retry_after=1)
        clock.advance(seconds=1)
        assert (await gateway.post("/api/v1/callbacks", json={})).status_code == 200
        assert_limited(await gateway.post("/api/v1/callbacks", json={}), retry_after=15)
        clock.advance(seconds=60)
        fresh = await gateway.post("/api/v1/callbacks", json={})
        agents_list = [await gateway.get("/api/v1/callbacks") for _ in range(6)]
    assert fresh.status_code == 200 and quota(fresh) == (4, 3, 15)
    assert len(doubles["helpdesk"].received) == 4 + 1 + 1 + 6
    # Outside every group, anonymous calls are not limited and carry no RateLimit-* headers.
    assert [response.status_code for response in agents_list] == [200] * 6
    assert "RateLimit-Limit" not in agents_list[-1].headers


# -- per API key and per user -------------------------------------------------------------


async def test_each_api_key_has_its_own_limit(start_edge, doubles, identity_service):
    clock = identity_service.clock
    async with start_edge(api_key_rate_per_minute=5) as gateway:
        first = {"X-API-Key": (await issue_key(gateway, identity_service, ["read"]))["key"]}
        second = {"X-API-Key": (await issue_key(gateway, identity_service, ["read"]))["key"]}
        answers = [await gateway.get("/api/v1/licenses", headers=first) for _ in range(5)]
        refused = await gateway.get("/api/v1/licenses", headers=first)
        other_key = await gateway.get("/api/v1/licenses", headers=second)
        anonymous = await gateway.get("/api/v1/licenses")
        clock.advance(seconds=12)
        a_slot_later = await gateway.get("/api/v1/licenses", headers=first)
    assert [response.status_code for response in answers] == [200] * 5
    assert [quota(response)[:2] for response in answers] == [(5, n) for n in range(4, -1, -1)]
    assert_limited(refused, retry_after=12)
    assert other_key.status_code == 200 and quota(other_key)[:2] == (5, 4)
    assert anonymous.status_code == 200
    assert a_slot_later.status_code == 200
    assert len(doubles["licensing"].received) == 5 + 1 + 1 + 1


async def test_each_signed_in_user_has_its_own_limit(start_edge, doubles, identity_service):
    contact = await identity_service.contact()
    async with start_edge(user_rate_per_minute=3) as gateway:
        token = (await sign_in(gateway, contact.email, PASSWORD))["access_token"]
        other = await admin_token(gateway, identity_service)
        answers = [await gateway.get("/api/v1/tickets", headers=bearer(token)) for _ in range(3)]
        refused = await gateway.get("/api/v1/tickets", headers=bearer(token))
        other_user = await gateway.get("/api/v1/tickets", headers=bearer(other))
    assert [response.status_code for response in answers] == [200] * 3
    assert quota(answers[0])[:2] == (3, 2)
    assert_limited(refused, retry_after=20)
    assert other_user.status_code == 200
    assert len(doubles["helpdesk"].received) == 3 + 1
