"""Routes found through the family index answer as FastAPI's own scan did.

`FamilyDispatch` tries only the routes of the request's `/v1/<family>`; whatever they do not
fully match must still get the router's answer (404, 405, a slash redirect).
"""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Request, Response

from tests.api.conftest import World
from write_api.dispatch import RequestOnlyRoute, family


def test_family_is_the_first_two_segments() -> None:
    assert family("/v1/leads") == "/v1/leads"
    assert family("/v1/referral-links/{object_id}/clicks") == "/v1/referral-links"
    assert family("/healthz") == "/healthz"
    assert family("/") == "/"


def test_family_routes_and_their_misses(world: World) -> None:
    http = world.a.client
    created = http.post(
        "/v1/leads", json={"name": "Routed", "email": "routed@example.com", "source": "organic"}
    )
    assert created.status_code == 201, created.text
    lead = created.json()["id"]
    assert http.get(f"/v1/leads/{lead}").json()["email"] == "routed@example.com"
    assert http.get("/v1/leads", params={"limit": 1}).status_code == 200

    wrong_method = http.put(f"/v1/leads/{lead}", json={})
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["type"] == "method_not_allowed"
    assert "allow" in wrong_method.headers

    for path in ("/v1/no-such-things", f"/v1/leads/{lead}/no-such-counter", "/v2/leads"):
        missing = http.get(path)
        assert missing.status_code == 404, path
        assert missing.json()["error"]["type"] == "not_found"

    slash = http.get("/v1/leads/")
    assert slash.status_code == 307
    assert slash.headers["location"].endswith("/v1/leads")

    # A malformed id is the route's validation, not a miss.
    assert http.get("/v1/leads/not-a-uuid").status_code == 422
    assert http.get(f"/v1/leads/{uuid.uuid4()}").status_code == 404


def test_a_request_only_route_refuses_an_endpoint_with_other_parameters() -> None:
    async def with_an_id(request: Request, object_id: uuid.UUID) -> Response:
        return Response()

    async def request_only(request: Request) -> Response:
        return Response(b"direct")

    router = APIRouter()
    with pytest.raises(TypeError, match="takes only the request"):
        router.add_api_route("/x/{object_id}", with_an_id, route_class_override=RequestOnlyRoute)
    router.add_api_route(
        "/x", request_only, methods=["POST"], route_class_override=RequestOnlyRoute
    )
    app = FastAPI()
    app.include_router(router)

    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            return await client.post("/x")

    assert asyncio.run(call()).content == b"direct"
    assert "/x" in app.openapi()["paths"]
