"""How dbt nodes become Dagster assets: keys where the data lives, groups by domain, owners.

- A model is `[schema, name]` (`["marts", "revenue_daily"]`, `["staging", "stg_..."]`).
- A source is the key its `meta.dagster.asset_key` names, else `[schema, table]`: the same
  keys the ingest assets use (`["public", "financial_transactions"]`), so lineage is one graph.
- The group is the model's domain, from its folder: `staging` for every staging model, else
  the folder under `intermediate/` or `marts/`, with a few folders folded into the domain
  they report on (executive -> ceo, subscriptions and trading -> finance, ...).
- dbt tests become asset checks (`enable_asset_checks`); a test that reads several models is
  attached to the one its `meta.dagster.ref` names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

OWNERS = ["team:data-platform"]
STAGING_GROUP = "staging"
# Folder under intermediate/ or marts/ -> the domain (Dagster group) it belongs to.
DOMAIN_OF_FOLDER = {
    "executive": "ceo",
    "finance": "finance",
    "subscriptions": "finance",
    "trading": "finance",
    "usage": "usage",
    "product": "usage",
    "growth": "growth",
    "web": "growth",
    "compliance": "compliance",
}


def domain_group(fqn: Sequence[str]) -> str:
    """The group of a model from its fqn `[project, layer, folder..., name]`."""
    layer = fqn[1] if len(fqn) > 2 else ""
    if layer == "staging":
        return STAGING_GROUP
    folder = fqn[2] if len(fqn) > 3 else layer
    return DOMAIN_OF_FOLDER.get(folder, folder or "dbt")


def dbt_asset_key(props: Mapping[str, Any]) -> dg.AssetKey:
    meta = props.get("config", {}).get("meta") or props.get("meta") or {}
    configured = meta.get("dagster", {}).get("asset_key")
    if configured:
        return dg.AssetKey(configured)
    if props["resource_type"] == "source":
        return dg.AssetKey([props["schema"], props.get("identifier") or props["name"]])
    return dg.AssetKey([props["config"].get("schema") or props["schema"], props["name"]])


class BcfDbtTranslator(DagsterDbtTranslator):
    def __init__(self) -> None:
        super().__init__(DagsterDbtTranslatorSettings(enable_asset_checks=True))

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        return dbt_asset_key(dbt_resource_props)

    def get_description(self, dbt_resource_props: Mapping[str, Any]) -> str:
        # The YAML's description (dagster-dbt's default appends the model's SQL).
        description = (dbt_resource_props.get("description") or "").strip()
        return description or super().get_description(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "source":
            return None  # sources are the ingest assets' (group "ingestion")
        return super().get_group_name(dbt_resource_props) or domain_group(dbt_resource_props["fqn"])

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> Sequence[str] | None:
        return super().get_owners(dbt_resource_props) or OWNERS

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        tags = dict(super().get_tags(dbt_resource_props))
        fqn = dbt_resource_props.get("fqn") or []
        if dbt_resource_props["resource_type"] == "model" and len(fqn) > 2:
            tags["layer"] = fqn[1]
        return tags

    def get_metadata(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, Any]:
        metadata = dict(super().get_metadata(dbt_resource_props))
        if dbt_resource_props["resource_type"] == "model":
            metadata["dbt_materialized"] = dbt_resource_props["config"].get("materialized")
            metadata["dbt_path"] = dbt_resource_props.get("original_file_path")
        return metadata
