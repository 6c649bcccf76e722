"""API-key scopes: one list, enforced by `require_scope` for keys, not for people."""

import typing
import uuid

import pytest

from services.identity.api_keys.schemas import ApiKeyScope
from shared.auth import SCOPES, Principal, require_scope
from shared.problems import Forbidden


def test_identity_issues_exactly_the_scopes_services_check():
    assert set(typing.get_args(ApiKeyScope)) == set(SCOPES)


def key(*scopes: str) -> Principal:
    return Principal(kind="api_key", organization_id=uuid.uuid4(), scopes=list(scopes))


async def test_a_key_without_the_scope_is_refused_and_one_with_it_passes():
    check = require_scope("contracts:write")
    with pytest.raises(Forbidden):
        await check(key("read"))
    assert (await check(key("read", "contracts:write"))).scopes == ["read", "contracts:write"]


async def test_people_are_not_limited_by_scopes():
    admin = Principal(kind="user", user_id=uuid.uuid4(), roles=["admin"])
    assert await require_scope("tickets:write")(admin) is admin


def test_an_unknown_scope_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown API-key scope"):
        require_scope("everything")
