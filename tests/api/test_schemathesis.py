"""Schemathesis against /v1/openapi.json: no 5xx, every response matches the document, and
the document states what the API enforces (a request it calls valid is not refused with a
422: only credentials, missing objects and conflicts may refuse it).

A bounded number of generated requests per operation (CI-sized), each with the key kind the
operation needs, on a database holding a tenant, a user and a department.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)

from core.settings import Settings
from tests.api.conftest import add_tenant
from write_api.app import create_app
from write_api.keys import create_key
from write_api.resources import RESOURCES

TENANT_PATHS = tuple(f"/v1/{r.path}" for r in RESOURCES if r.kind in ("tenant", "child"))
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
    positive_data_acceptance,
]


@pytest.fixture(scope="module")
def keys(api_database_url: str) -> Iterator[dict[str, str]]:
    tenant = add_tenant(api_database_url, "fuzz")
    scopes = ("read", "write", "track")
    _, tenant_key = create_key(api_database_url, "fuzz", tenant_id=tenant, scopes=scopes)
    _, platform_key = create_key(api_database_url, "fuzz", tenant_id=None, scopes=scopes)
    return {"tenant": tenant_key, "platform": platform_key}


def _document() -> dict[str, Any]:
    """The served document (building the app reaches no server; requests go to `api_url`)."""
    app = create_app(Settings(), database_url="postgresql://localhost/unused", redis_url="")
    return app.openapi()


schema = schemathesis.openapi.from_dict(_document())


@schema.parametrize()
@settings(
    max_examples=3,
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error_and_no_response_outside_the_schema(
    case: Any, keys: dict[str, str], api_url: str
) -> None:
    tenant_route = case.operation.path.startswith(TENANT_PATHS) or case.operation.path in (
        "/v1/tenants/{object_id}",
        "/v1/track",
    )
    key = keys["tenant" if tenant_route else "platform"]
    if case.operation.path == "/v1/tenants" and case.method == "GET":
        key = keys["tenant"]
    case.call_and_validate(
        base_url=api_url, headers={"Authorization": f"Bearer {key}"}, checks=CHECKS
    )
