"""What a write leaves behind: the row, its audit row, encrypted secrets; and clear errors."""

from __future__ import annotations

import json
import uuid

import httpx
import psycopg
import pytest

from tests.api.conftest import SECRET_KEY, World
from tests.api.samples import body_for, created
from write_api import secrets_box


def _audit(world: World, object_id: str) -> list[dict[str, object]]:
    with psycopg.connect(world.database_url) as conn:
        cursor = conn.cursor(row_factory=psycopg.rows.dict_row)
        return cursor.execute(
            "SELECT tenant_id, action, resource, old_values, new_values, host(ip_address) AS ip, "
            "user_agent, metadata FROM public.audit_logs WHERE resource_id = %s "
            "ORDER BY created_at, action",
            (object_id,),
        ).fetchall()


def test_every_write_leaves_an_audit_row_with_old_and_new_values(world: World) -> None:
    http = world.a.client
    lead = http.post(
        "/v1/leads",
        json=body_for("leads", world, http),
        headers={"User-Agent": "platform-sync/1.0", "Idempotency-Key": f"k-{uuid.uuid4()}"},
    ).json()
    http.patch(f"/v1/leads/{lead['id']}", json={"status": "qualified", "score": 80})
    http.delete(f"/v1/leads/{lead['id']}")

    rows = {str(row["action"]): row for row in _audit(world, lead["id"])}
    assert set(rows) == {"create", "update", "delete"}
    assert rows["create"]["old_values"] is None
    assert rows["create"]["new_values"]["email"] == lead["email"]  # type: ignore[index]
    assert rows["update"]["old_values"]["status"] == "new"  # type: ignore[index]
    assert rows["update"]["new_values"]["status"] == "qualified"  # type: ignore[index]
    assert rows["delete"]["old_values"]["score"] == 80  # type: ignore[index]
    assert rows["delete"]["new_values"] is None
    for row in rows.values():
        assert row["tenant_id"] == world.a.id
        assert row["resource"] == "leads"
        assert row["ip"] == "127.0.0.1"
        assert row["metadata"]["api_key_prefix"] == world.a.key.split("_")[1]  # type: ignore[index]
    assert rows["create"]["user_agent"] == "platform-sync/1.0"
    assert "idempotency_key" in rows["create"]["metadata"]  # type: ignore[operator]


def test_a_failed_write_leaves_no_audit_row(world: World) -> None:
    body = body_for("leads", world, world.a.client)
    made = created(world.a.client, "leads", body)
    response = world.a.client.patch(f"/v1/leads/{made['id']}", json={"status": "sold"})
    assert response.status_code == 422
    assert [row["action"] for row in _audit(world, made["id"])] == ["create"]


@pytest.mark.parametrize("path", ["tenant-configurations", "system-configurations"])
def test_sensitive_values_are_stored_encrypted_and_never_returned(world: World, path: str) -> None:
    http = world.platform if path.startswith("system") else world.a.client
    made = created(http, path, body_for(path, world, http))
    table = path.replace("-", "_")
    stored = world.row(table, made["id"])
    assert stored is not None
    assert stored["is_encrypted"] is True
    clear = "hunter2" if path.startswith("system") else "s3cr3t"
    assert clear not in stored["value"]
    assert secrets_box.decrypt(SECRET_KEY, stored["value"]) == clear
    assert made["value"] == http.get(f"/v1/{path}/{made['id']}").json()["value"] == "[redacted]"
    listed = http.get(f"/v1/{path}").json()["data"]
    assert {row["value"] for row in listed if row["id"] == made["id"]} == {"[redacted]"}

    changed = http.patch(f"/v1/{path}/{made['id']}", json={"value": "rotated"}).json()
    assert changed["value"] == "[redacted]"
    stored = world.row(table, made["id"])
    assert stored is not None
    assert secrets_box.decrypt(SECRET_KEY, stored["value"]) == "rotated"
    for row in _audit(world, made["id"]):
        for image in (row["old_values"], row["new_values"]):
            assert image is None or image["value"] == "[redacted]"  # type: ignore[index]
    response = http.patch(f"/v1/{path}/{made['id']}", json={"is_sensitive": False})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "is_sensitive"


def test_marking_a_value_sensitive_encrypts_the_stored_one(world: World) -> None:
    http = world.a.client
    body = {**body_for("tenant-configurations", world, http), "is_sensitive": False}
    made = created(http, "tenant-configurations", body)
    assert made["value"] == "s3cr3t"
    marked = http.patch(f"/v1/tenant-configurations/{made['id']}", json={"is_sensitive": True})
    assert marked.json()["value"] == "[redacted]"
    stored = world.row("tenant_configurations", made["id"])
    assert stored is not None
    assert secrets_box.decrypt(SECRET_KEY, stored["value"]) == "s3cr3t"


def test_read_only_configuration_refuses_updates(world: World) -> None:
    body = {**body_for("system-configurations", world, world.platform), "is_readonly": True}
    made = created(world.platform, "system-configurations", body)
    response = world.platform.patch(
        f"/v1/system-configurations/{made['id']}", json={"description": "x"}
    )
    assert response.status_code == 409


def test_referral_counters_count_and_are_audited(world: World) -> None:
    http = world.a.client
    link = created(http, "referral-links", body_for("referral-links", world, http))
    for _ in range(3):
        assert http.post(f"/v1/referral-links/{link['id']}/clicks").status_code == 200
    counted = http.post(f"/v1/referral-links/{link['id']}/conversions").json()
    assert (counted["click_count"], counted["conversion_count"]) == (3, 1)
    assert len(_audit(world, link["id"])) == 5


def test_document_versions_are_numbered_by_the_server(world: World) -> None:
    http = world.a.client
    body = body_for("document-versions", world, http)
    first = created(http, "document-versions", body)
    second = created(http, "document-versions", body)
    assert (first["version_number"], second["version_number"]) == (1, 2)
    document = http.get(f"/v1/documents/{body['document_id']}").json()
    assert document["version"] == 2


def test_deleting_a_parent_cascades_as_the_seed_says(world: World) -> None:
    http = world.a.client
    link = created(http, "referral-links", body_for("referral-links", world, http))
    assert http.delete(f"/v1/referral-campaigns/{link['campaign_id']}").json()["deleted"] is True
    assert world.row("referral_links", link["id"]) is None


def test_deleting_a_referenced_row_is_a_conflict(world: World) -> None:
    http = world.a.client
    earned = created(http, "user-achievements", body_for("user-achievements", world, http))
    response = http.delete(f"/v1/achievements/{earned['achievement_id']}")
    assert response.status_code == 409
    assert world.row("gamification_achievements", earned["achievement_id"]) is not None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"source": "tv"}, "source"),
        ({"email": "x" * 300}, "email"),
        ({"score": 2**40}, "score"),
        ({"name": None}, "name"),
        ({"metadata": "not an object"}, "metadata"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(
    world: World, body: dict[str, object], field: str
) -> None:
    base = body_for("leads", world, world.a.client)
    response = world.a.client.post("/v1/leads", json={**base, **body})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == field
    assert error["message"]


def test_database_refusals_are_4xx_with_the_field(world: World) -> None:
    http = world.platform
    body = body_for("users", world, http)
    created(http, "users", body)
    taken = http.post("/v1/users", json=body)
    assert taken.status_code == 409
    assert taken.json()["error"]["field"] == "email"
    bad_email = http.post("/v1/users", json={**body_for("users", world, http), "email": "nope"})
    assert bad_email.status_code == 422
    assert bad_email.json()["error"]["field"] == "email"  # the column's check, stated up front
    nobody = http.post(
        "/v1/notifications",
        json={**body_for("notifications", world, http), "user_id": str(uuid.uuid4())},
    )
    assert nobody.status_code == 404  # as for a path to nothing
    assert nobody.json()["error"]["type"] == "invalid_reference"
    assert nobody.json()["error"]["field"] == "user_id"
    nul = http.post("/v1/users", json={**body_for("users", world, http), "name": "a\u0000b"})
    assert nul.status_code == 422
    assert nul.json()["error"]["field"] == "name"  # refused at the door, by the loader's rule
    assert "NUL" in nul.json()["error"]["message"]


def test_malformed_requests_are_4xx(world: World, api_url: str) -> None:
    http = world.a.client
    broken = http.post(
        "/v1/leads", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 422
    assert broken.json()["error"]["field"] == "body"
    assert "Invalid JSON" in broken.json()["error"]["message"]
    not_json = http.post("/v1/leads", content=b"name=x", headers={"Content-Type": "text/plain"})
    assert not_json.status_code == 422
    assert "Content-Type: application/json" in not_json.json()["error"]["message"]
    empty = http.post("/v1/leads", content=b"", headers={"Content-Type": "application/json"})
    assert (empty.status_code, empty.json()["error"]["field"]) == (422, "body")
    # The key is checked before the body: a stranger learns nothing from the body's errors.
    stranger = httpx.post(f"{api_url}/v1/leads", content=b"{not json")
    assert stranger.status_code == 401
    # An id in the URL is checked first: whether it is well formed reveals nothing.
    assert httpx.get(f"{api_url}/v1/leads/not-a-uuid").status_code == 422
    assert http.get("/v1/leads/not-a-uuid").status_code == 422
    assert http.patch(f"/v1/leads/{uuid.uuid4()}", json={}).status_code == 422
    assert http.get("/v1/nothing-here").json()["error"]["type"] == "not_found"
    anonymous = httpx.get(f"{api_url}/v1/leads")
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["field"] == "Authorization"
    wrong = httpx.get(f"{api_url}/v1/leads", headers={"Authorization": "Bearer bcf_x_y"})
    assert wrong.status_code == 401


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "application/x+json"])
def test_json_media_types_are_read(world: World, content_type: str) -> None:
    body = json.dumps(body_for("leads", world, world.a.client)).encode()
    response = world.a.client.post(
        "/v1/leads", content=body, headers={"Content-Type": content_type}
    )
    assert response.status_code == 201, response.text


def test_pages_are_capped_and_chained(world: World) -> None:
    http = world.a.client
    made = {created(http, "leads", body_for("leads", world, http))["id"] for _ in range(3)}
    assert http.get("/v1/leads", params={"limit": 101}).status_code == 422
    first = http.get("/v1/leads", params={"limit": 2}).json()
    rest = http.get("/v1/leads", params={"limit": 2, "after": first["next_after"]}).json()
    seen = [row["id"] for row in first["data"] + rest["data"]]
    assert set(seen) == made
    assert len(seen) == 3
    assert rest["next_after"] is None


def test_oversized_bodies_are_refused(world: World) -> None:
    body = {**body_for("leads", world, world.a.client), "metadata": {"blob": "x" * 1_100_000}}
    response = world.a.client.post("/v1/leads", json=body)
    assert response.status_code == 413
    assert response.json()["error"]["type"] == "payload_too_large"


def test_a_key_without_the_scope_is_forbidden(world: World, api_url: str) -> None:
    from write_api.keys import create_key

    _, key = create_key(world.database_url, "reader", tenant_id=world.a.id, scopes=("read",))
    reader = httpx.Client(base_url=api_url, headers={"Authorization": f"Bearer {key}"})
    assert reader.get("/v1/leads").status_code == 200
    response = reader.post("/v1/leads", json=body_for("leads", world, world.a.client))
    assert response.status_code == 403
    reader.close()


def test_health_and_readiness(api_url: str) -> None:
    assert httpx.get(f"{api_url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{api_url}/readyz").json()
    assert ready["checks"] == {"database": "ok", "redis": "ok"}
    assert httpx.get(f"{api_url}/v1/openapi.json").json()["info"]["title"]


def test_a_write_the_database_refuses_leaves_nothing_and_the_next_one_goes_through(
    world: World,
) -> None:
    http = world.a.client
    body = body_for("support-tickets", world, http)  # one statement: no references to check
    created(http, "support-tickets", body)
    audited = "SELECT count(*) FROM public.audit_logs WHERE resource = 'support_tickets'"
    before = world.count(audited)
    # The same ticket number again fails in the database after the role and tenant were set
    # in its transaction: all of it is rolled back, the audit row too.
    for _ in range(6):  # past the executions after which the statement is prepared
        taken = http.post("/v1/support-tickets", json=body)
        assert taken.status_code == 409
        assert taken.json()["error"]["field"] == "ticket_number"
    assert world.count(audited) == before
    again = created(http, "support-tickets", {**body, "ticket_number": f"T-{uuid.uuid4().hex[:8]}"})
    assert world.row("support_tickets", again["id"])["tenant_id"] == world.a.id  # type: ignore[index]
    assert world.count(audited) == before + 1


def test_json_values_beyond_64_bits_are_stored_as_sent(world: World) -> None:
    http = world.a.client
    sent = {"big": 2**70 + 1, "small": 1.5}  # 2**70 + 1 has no exact float
    made = created(http, "leads", {**body_for("leads", world, http), "metadata": sent})
    assert made["metadata"] == sent
    stored = world.row("leads", made["id"])
    assert stored is not None
    assert stored["metadata"] == sent


def test_a_json_value_json_cannot_hold_is_refused_not_changed(world: World) -> None:
    http = world.a.client
    body = json.dumps({**body_for("leads", world, http), "metadata": {"x": float("nan")}})
    refused = http.post("/v1/leads", content=body, headers={"Content-Type": "application/json"})
    assert refused.status_code == 422
    assert world.count("SELECT count(*) FROM public.leads WHERE metadata ? 'x'") == 0


def test_deeply_nested_bodies_are_a_json_4xx(world: World) -> None:
    """Nesting pydantic, orjson or jsonb cannot take is a 4xx with a JSON error, never a 500."""
    http = world.a.client
    body = json.dumps(body_for("leads", world, http)).encode()
    for depth in (129, 255, 300, 600, 1_020, 5_000):
        deep = b'{"k":' * (depth // 2) + b"[" * (depth // 2) + b"]" * (depth // 2)
        deep += b"}" * (depth // 2)
        sent = body[:-1] + b', "metadata": {"deep": %s}}' % deep
        answer = http.post("/v1/leads", content=sent, headers={"Content-Type": "application/json"})
        assert 400 <= answer.status_code < 500, (depth, answer.status_code, answer.text)
        assert answer.json()["error"]["field"], (depth, answer.json())


def test_what_the_document_states_is_what_a_write_is_refused_for(
    world: World, api_url: str
) -> None:
    document = httpx.get(f"{api_url}/v1/openapi.json").json()
    campaign_update = document["paths"]["/v1/referral-campaigns/{object_id}"]["patch"]
    schema = campaign_update["requestBody"]["content"]["application/json"]["schema"]
    assert schema["minProperties"] == 1
    assert "null" not in json.dumps(schema["properties"]["start_date"])  # a NOT NULL column
    http = world.a.client
    campaign = created(http, "referral-campaigns", body_for("referral-campaigns", world, http))
    url = f"/v1/referral-campaigns/{campaign['id']}"

    for body, field in (
        ({"start_date": "2026-12-07T10:00:00+16:00"}, "start_date"),  # PostgreSQL keeps < 16 h
        ({"start_date": 1796662264}, "start_date"),  # a date-time is a string
        ({"start_date": None}, "start_date"),
        ({"reward_value": "123456789.5"}, "reward_value"),  # numeric(10, 2)
        ({"rules": True}, "rules"),  # an object
    ):
        response = http.patch(url, json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["field"].split(".")[0] == field, response.text
    assert http.patch(url, json={}).json()["error"]["message"].startswith("nothing to update")
    moved = http.patch(url, json={"start_date": "2026-12-07T10:00:00+15:59", "reward_value": 7})
    assert moved.status_code == 200, moved.text
    assert moved.json()["start_date"] == "2026-12-06T18:01:00Z"
