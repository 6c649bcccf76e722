"""A caller the gateway vouches for whose account does not exist (gone, or never was) is a 401,
never a 500 from a broken reference."""

import uuid

import pytest

from services.identity.tests.organization_factories import add_organization
from shared.auth import Principal

GHOST = Principal(kind="user", user_id=uuid.uuid4(), roles=["admin"])


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/me", None),
        ("POST", "/api/v1/api-keys", "key"),
        ("GET", "/api/v1/api-keys", None),
        ("POST", "/api/v1/staff", "staff"),
        ("POST", f"/api/v1/change-requests/{uuid.uuid4()}/approve", None),
    ],
)
async def test_an_admin_without_an_account_is_401(identity, method, path, body):
    organization = await add_organization(identity)
    json = {
        None: None,
        "key": {"organization_id": str(organization.id), "name": "ERP", "scopes": ["read"]},
        "staff": {
            "email": f"agent-{uuid.uuid4().hex[:8]}@kabinet.test",
            "full_name": "Сидоров Сидор Сидорович",
            "role": "agent",
            "password": "Agent-Secret-Pass-1",
        },
    }[body]
    response = await identity.client.request(method, path, json=json, headers=identity.as_(GHOST))
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
