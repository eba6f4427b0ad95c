"""Enrichment of web events: pure functions over Polars frames, offline, cached.

- `enrich_events(frame, enabled=True)` adds browser, browser_version, os, os_version,
  device_type (desktop, mobile, tablet, bot, other), device_brand, device_model, is_bot,
  country (ISO-2), region, city, latitude, longitude, asn and isp. Each distinct user
  agent and each distinct address of the frame is resolved once and joined back; results
  are also cached across frames (user agents and addresses repeat from batch to batch).
- `check_ip` / `ip_table` validate addresses and give their canonical text and version
  (4 or 6); an address they refuse is the caller's reject.
- `parse_user_agent` / `is_bot_user_agent` for one string; `GeoIp.lookup` for one address.

Libraries and data, all shipped by PyPI packages (no download at run time): ua-parser
with its compiled rules (ua-parser-builtins) and Rust accelerator (ua-parser-rs);
crawler-user-agents for the bot list; geoip2fast and maxminddb-geolite2 for the IP data,
whose coverage and age `ingestion.enrich.geo` describes.
"""

from ingestion.enrich.events import ENRICHED_SCHEMA, enrich_events
from ingestion.enrich.geo import GeoInfo, GeoIp, default_geoip
from ingestion.enrich.ip import IpCheck, check_ip, ip_table
from ingestion.enrich.user_agent import (
    DEVICE_TYPES,
    UserAgentInfo,
    is_bot_user_agent,
    parse_user_agent,
    user_agent_table,
)

__all__ = [
    "DEVICE_TYPES",
    "ENRICHED_SCHEMA",
    "GeoInfo",
    "GeoIp",
    "IpCheck",
    "UserAgentInfo",
    "check_ip",
    "default_geoip",
    "enrich_events",
    "ip_table",
    "is_bot_user_agent",
    "parse_user_agent",
    "user_agent_table",
]
