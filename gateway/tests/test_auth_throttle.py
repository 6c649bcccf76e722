"""Bad credentials cost something: an address that keeps sending unknown API keys or bogus
tokens is throttled, and made-up keys never push a partner's real key out of the cache."""

import asyncio
import secrets

from gateway.tests.identity import VERIFY_PATH, RunningIdentity, bearer, issue_key
from shared.testing.servers import free_port

RANDOM_KEYS = 1000
ANON_LIMIT = 60


async def test_random_keys_from_one_address_are_throttled(
    start_edge, identity_service: RunningIdentity
):
    # The gateway runs on identity's clock, which stands still here: no allowance comes back.
    async with start_edge(anon_rate_per_minute=ANON_LIMIT) as gateway:
        asked = identity_service.hits[VERIFY_PATH]
        statuses = []
        for _ in range(RANDOM_KEYS // 50):
            answers = await asyncio.gather(
                *(
                    gateway.get("/api/v1/tickets", headers={"X-API-Key": secrets.token_hex(16)})
                    for _ in range(50)
                )
            )
            statuses += [answer.status_code for answer in answers]
        refused = answers[-1]
        tokens = await gateway.get("/api/v1/tickets", headers=bearer("not.a.token"))
    assert statuses.count(401) == ANON_LIMIT
    assert statuses.count(429) == RANDOM_KEYS - ANON_LIMIT
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["content-type"] == "application/problem+json"
    # 1,000 keys cost identity at most one question per allowed failure.
    assert identity_service.hits[VERIFY_PATH] - asked <= ANON_LIMIT
    # Bogus tokens from that address are throttled too.
    assert tokens.status_code == 429


async def test_bogus_tokens_count_as_failures(start_edge, identity_service: RunningIdentity):
    async with start_edge(anon_rate_per_minute=5) as gateway:
        answers = [
            await gateway.get("/api/v1/licenses", headers=bearer(f"bogus-{n}")) for n in range(8)
        ]
        anonymous = await gateway.get("/api/v1/licenses")
    assert [answer.status_code for answer in answers] == [401] * 5 + [429] * 3
    # A call without a credential is not a failed authentication.
    assert anonymous.status_code == 200


async def test_unknown_keys_never_evict_known_ones(start_edge, identity_service: RunningIdentity):
    async with start_edge(
        anon_rate_per_minute=100_000,
        gateway_api_key_cache_entries=5,
        gateway_unknown_api_key_cache_entries=50,
        gateway_api_key_cache_seconds=600,
    ) as gateway:
        issued = await issue_key(gateway, identity_service, ["read"])
        partner = {"X-API-Key": issued["key"]}
        assert (await gateway.get("/api/v1/licenses", headers=partner)).status_code == 200
        asked = identity_service.hits[VERIFY_PATH]
        unknown = [secrets.token_hex(16) for _ in range(200)]
        for key in unknown:
            response = await gateway.get("/api/v1/licenses", headers={"X-API-Key": key})
            assert response.status_code == 401
        assert identity_service.hits[VERIFY_PATH] - asked == len(unknown)
        # The partner's key is still cached: no question to identity for it.
        assert (await gateway.get("/api/v1/licenses", headers=partner)).status_code == 200
        assert identity_service.hits[VERIFY_PATH] - asked == len(unknown)
        # A recent unknown key is remembered too (negative cache).
        again = await gateway.get("/api/v1/licenses", headers={"X-API-Key": unknown[-1]})
        assert again.status_code == 401
        assert identity_service.hits[VERIFY_PATH] - asked == len(unknown)


async def test_an_unreachable_identity_is_not_a_failed_authentication(start_edge):
    async with start_edge(
        anon_rate_per_minute=2,
        identity_url=f"http://127.0.0.1:{free_port()}",
    ) as gateway:
        answers = [
            await gateway.get("/api/v1/licenses", headers={"X-API-Key": "k"}) for _ in range(4)
        ]
    assert [answer.status_code for answer in answers] == [503] * 4
