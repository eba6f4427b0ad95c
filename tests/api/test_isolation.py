"""No key reaches another tenant's rows, nor writes what the body may not set.

For every tenant-owned resource, tenant A's key on tenant B's object is a 404 for every
verb (also where B's object is named in a body, as a parent or a reference) and the row and
the audit trail are unchanged. Global resources need a platform key; tenant resources a
tenant's key.
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

from tests.api.conftest import World
from tests.api.samples import UPDATES, body_for, created
from write_api.resources import RESOURCES, Resource

TENANT_OWNED = [r for r in RESOURCES if r.kind in ("tenant", "child")]
GLOBAL = [r for r in RESOURCES if r.kind == "platform"]
CREATABLE = [r for r in RESOURCES if r.can_create]


def _ids(resource: Resource) -> str:
    return resource.path


def _object_of_b(world: World, resource: Resource) -> dict[str, Any]:
    if resource.can_create:
        return created(
            world.b.client, resource.path, body_for(resource.path, world, world.b.client)
        )
    # Irregularities are detected by the pipeline, not created through the API.
    irregularity_id = uuid.uuid4()
    with psycopg.connect(world.database_url) as conn:
        conn.execute(
            "INSERT INTO public.irregularity_detection (id, tenant_id, irregularity_type, "
            "severity, description, evidence, status) VALUES (%s, %s, 'policy_violation', "
            "'high', 'many failed logins', '{}', 'detected')",
            (irregularity_id, world.b.id),
        )
    return {"id": str(irregularity_id)}


def _audit_rows(world: World, object_id: str) -> int:
    return world.count("SELECT count(*) FROM public.audit_logs WHERE resource_id = %s", object_id)


@pytest.mark.parametrize("resource", TENANT_OWNED, ids=_ids)
def test_another_tenants_object_is_not_found_for_every_verb(
    world: World, resource: Resource
) -> None:
    theirs = _object_of_b(world, resource)
    object_id = theirs["id"]
    stored = world.row(resource.name, object_id)
    audited = _audit_rows(world, object_id)
    mine = world.a.client
    url = f"/v1/{resource.path}/{object_id}"

    assert mine.get(url).status_code == 404
    if resource.update_fields:
        response = mine.patch(url, json=UPDATES[resource.path])
        assert response.status_code == 404, response.text
        assert response.json()["error"]["type"] == "not_found"
    if resource.can_delete:
        assert mine.delete(url).status_code == 404
    for counter in resource.counters:
        assert mine.post(f"{url}/{counter}").status_code == 404
    listed = mine.get(f"/v1/{resource.path}", params={"limit": 100}).json()["data"]
    assert object_id not in {row["id"] for row in listed}
    if resource.kind == "child":
        # Naming B's parent in a create is refused: the parent is not visible to A.
        body = body_for(resource.path, world, world.b.client)
        response = mine.post(f"/v1/{resource.path}", json=body)
        assert response.status_code == 404, response.text
        assert response.json()["error"]["type"] == "invalid_reference"
        assert response.json()["error"]["field"] in resource.create_only

    assert world.row(resource.name, object_id) == stored
    assert _audit_rows(world, object_id) == audited
    # B still reaches it: the 404s were about the key, not the object.
    assert world.b.client.get(url).status_code == 200


def test_another_tenant_is_not_found(world: World) -> None:
    stored = world.row("tenants", world.b.id)
    url = f"/v1/tenants/{world.b.id}"
    assert world.a.client.get(url).status_code == 404
    assert world.a.client.patch(url, json={"name": "taken over"}).status_code == 404
    assert [t["id"] for t in world.a.client.get("/v1/tenants").json()["data"]] == [str(world.a.id)]
    assert world.row("tenants", world.b.id) == stored
    assert world.a.client.patch(f"/v1/tenants/{world.a.id}", json={"name": "A"}).status_code == 200


@pytest.mark.parametrize(
    ("path", "field", "refers_to"),
    [
        ("user-achievements", "achievement_id", "achievements"),
        ("documents", "parent_id", "documents"),
    ],
)
def test_referring_to_another_tenants_row_is_refused(
    world: World, path: str, field: str, refers_to: str
) -> None:
    theirs = created(world.b.client, refers_to, body_for(refers_to, world, world.b.client))
    body = {**body_for(path, world, world.a.client), field: theirs["id"]}
    response = world.a.client.post(f"/v1/{path}", json=body)
    assert response.status_code == 404
    error = response.json()["error"]
    assert (error["type"], error["field"]) == ("invalid_reference", field)
    assert error["message"].startswith(f"{field}: no such ")


@pytest.mark.parametrize("resource", GLOBAL, ids=_ids)
def test_global_resources_need_a_platform_key(world: World, resource: Resource) -> None:
    made = created(world.platform, resource.path, body_for(resource.path, world, world.platform))
    stored = world.row(resource.name, made["id"])
    url = f"/v1/{resource.path}/{made['id']}"
    tenant = world.a.client
    assert tenant.get(f"/v1/{resource.path}").status_code == 403
    assert tenant.get(url).status_code == 403
    body = body_for(resource.path, world, world.platform)
    assert tenant.post(f"/v1/{resource.path}", json=body).status_code == 403
    if resource.update_fields:
        assert tenant.patch(url, json=UPDATES[resource.path]).status_code == 403
    if resource.can_delete:
        assert tenant.delete(url).status_code == 403
    assert world.row(resource.name, made["id"]) == stored


@pytest.mark.parametrize("resource", [r for r in TENANT_OWNED if r.can_create], ids=_ids)
def test_tenant_resources_need_a_tenants_key(world: World, resource: Resource) -> None:
    body = body_for(resource.path, world, world.a.client)
    response = world.platform.post(f"/v1/{resource.path}", json=body)
    assert response.status_code == 403
    assert world.platform.get(f"/v1/{resource.path}").status_code == 403


def _unwritable(resource: Resource, world: World) -> dict[str, Any]:
    """Every column the body may not set, with a value a careless API would store."""
    values: dict[str, Any] = {}
    for column in resource.table.columns:
        if column.name in resource.fields:
            continue
        values[column.name] = {
            "id": str(uuid.uuid4()),
            "tenant_id": str(world.b.id),
        }.get(column.name, "2000-01-01T00:00:00Z" if "_at" in column.name else 999)
    return values


@pytest.mark.parametrize("resource", CREATABLE, ids=_ids)
def test_unwritable_fields_are_refused_and_change_nothing(world: World, resource: Resource) -> None:
    http = world.platform if resource.kind in ("platform", "tenants") else world.a.client
    body = body_for(resource.path, world, http)
    extra = _unwritable(resource, world)
    rows = world.count(f"SELECT count(*) FROM public.{resource.name}")

    response = http.post(f"/v1/{resource.path}", json={**body, **extra})
    assert response.status_code == 422, response.text
    refused = {problem["field"] for problem in response.json()["error"]["details"]}
    assert refused == set(extra)
    assert world.count(f"SELECT count(*) FROM public.{resource.name}") == rows

    made = created(http, resource.path, body)
    if resource.kind == "tenants":  # a tenant updates itself, with its own key
        made, http = {"id": str(world.a.id)}, world.a.client
    if resource.update_fields:
        stored = world.row(resource.name, made["id"])
        response = http.patch(f"/v1/{resource.path}/{made['id']}", json=extra)
        assert response.status_code == 422
        assert world.row(resource.name, made["id"]) == stored
    if resource.kind == "tenant":
        assert made["tenant_id"] == str(world.a.id)
