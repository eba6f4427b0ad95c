"""Routes found through the family index answer as FastAPI's own scan did.

`FamilyDispatch` tries only the routes of the request's `/v1/<family>`; whatever they do not
fully match must still get the router's answer (404, 405, a slash redirect).
"""

from __future__ import annotations

import uuid

from ingestion.api.dispatch import family
from tests.api.conftest import World


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
