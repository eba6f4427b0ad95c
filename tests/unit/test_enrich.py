"""Enrichment: user agents, bots, IP validation and geolocation, the frame-level join."""

from __future__ import annotations

import socket
import urllib.request
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from ingestion.enrich import (
    DEVICE_TYPES,
    ENRICHED_SCHEMA,
    GeoIp,
    check_ip,
    default_geoip,
    enrich_events,
    ip_table,
    is_bot_user_agent,
    parse_user_agent,
)
from ingestion.enrich.geo import bundled_asn_container, unpacked_asn_mmdb

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1"
)
GALAXY_S23 = (
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.82 Mobile Safari/537.36"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.6 Mobile/15E148 Safari/604.1"
)
GALAXY_TAB = (
    "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
SAFARI_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
EDGE = CHROME_WINDOWS + " Edg/124.0.2478.67"
PIXEL = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8 Pro) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.113 Mobile Safari/537.36"
)
SMART_TV = (
    "Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/4.0 Chrome/76.0.3809.146 TV Safari/537.36"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
GOOGLEBOT_SMARTPHONE = (
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/124.0.6367.201 Mobile Safari/537.36 (compatible; Googlebot/2.1; "
    "+http://www.google.com/bot.html)"
)
BINGBOT = (
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; "
    "+http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36"
)
HEADLESS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/120.0.0.0 Safari/537.36"
)
CUBOT = (  # a phone brand ending in "bot": not a robot
    "Mozilla/5.0 (Linux; Android 9; CUBOT P30) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36"
)


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        (CHROME_WINDOWS, ("Chrome", "124.0.0.0", "Windows", "10", "desktop", None, None)),
        (
            SAFARI_IPHONE,
            ("Mobile Safari", "17.4.1", "iOS", "17.4.1", "mobile", "Apple", "iPhone"),
        ),
        (
            GALAXY_S23,
            ("Chrome Mobile", "124.0.6367.82", "Android", "14", "mobile", "Samsung", "SM-S918B"),
        ),
        (IPAD, ("Mobile Safari", "16.6", "iOS", "16.6", "tablet", "Apple", "iPad")),
        (GALAXY_TAB, ("Chrome", "120.0.0.0", "Android", "13", "tablet", None, "SM-X700")),
        (SAFARI_MAC, ("Safari", "17.4", "Mac OS X", "10.15.7", "desktop", "Apple", "Mac")),
        (FIREFOX_LINUX, ("Firefox", "125.0", "Linux", None, "desktop", None, None)),
        (EDGE, ("Edge", "124.0.2478.67", "Windows", "10", "desktop", None, None)),
        (
            PIXEL,
            ("Chrome Mobile", "124.0.6367.113", "Android", "14", "mobile", "Google", "Pixel 8 Pro"),
        ),
        (SMART_TV, ("Samsung Internet", "4.0", "Tizen", "6.0", "other", "Samsung", "SMART-TV")),
    ],
)
def test_known_user_agents(user_agent: str, expected: tuple[object, ...]) -> None:
    info = parse_user_agent(user_agent)
    got = (
        info.browser,
        info.browser_version,
        info.os,
        info.os_version,
        info.device_type,
        info.device_brand,
        info.device_model,
    )
    assert got == expected
    assert info.is_bot is False


@pytest.mark.parametrize(
    "user_agent",
    [
        GOOGLEBOT,
        GOOGLEBOT_SMARTPHONE,
        BINGBOT,
        HEADLESS,
        "curl/8.5.0",
        "python-requests/2.31.0",
        "Go-http-client/1.1",
        "Wget/1.21.4",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
        "",
        "   ",
        None,
    ],
)
def test_bots_are_flagged(user_agent: str | None) -> None:
    info = parse_user_agent(user_agent)
    assert info.is_bot is True
    assert info.device_type == "bot"
    assert is_bot_user_agent(user_agent)


def test_people_are_not_bots() -> None:
    for user_agent in (CHROME_WINDOWS, SAFARI_IPHONE, GALAXY_S23, IPAD, CUBOT, SMART_TV):
        assert not is_bot_user_agent(user_agent), user_agent


def test_outputs_fit_the_columns_and_device_types_are_known() -> None:
    junk = "Mozilla/5.0 (Linux; Android 14; " + "X" * 300 + ") Chrome/1" + "2" * 80 + " Mobile"
    for user_agent in (junk, CHROME_WINDOWS, "zzz", "Mozilla/5.0"):
        info = parse_user_agent(user_agent)
        assert info.device_type in DEVICE_TYPES
        assert len(info.browser or "") <= 100
        assert len(info.browser_version or "") <= 50
        assert len(info.device_model or "") <= 100


@pytest.mark.parametrize(
    ("value", "address", "version"),
    [
        ("177.72.0.1", "177.72.0.1", 4),
        (" 8.8.8.8 ", "8.8.8.8", 4),
        ("2804:14C:5B80:0:0:0:0:1", "2804:14c:5b80::1", 6),
        ("::ffff:177.72.0.1", "177.72.0.1", 4),
        ("::1", "::1", 6),
    ],
)
def test_check_ip_accepts_and_canonicalizes(value: str, address: str, version: int) -> None:
    check = check_ip(value)
    assert (check.address, check.version, check.error) == (address, version, None)


@pytest.mark.parametrize(
    "value",
    ["999.1.1.1", "01.2.3.4", "1.2.3", "10.0.0.0/8", "1.2.3.4:80", "fe80::1%eth0", "abc", ""],
)
def test_check_ip_refuses(value: str) -> None:
    check = check_ip(value)
    assert (check.address, check.version) == (None, None)
    assert check.error


def test_ip_table_checks_each_distinct_value_once() -> None:
    table = ip_table(pl.Series("ip", ["1.1.1.1", "1.1.1.1", "bad", None, "::1"]))
    assert table.height == 4
    assert table.columns == ["ip", "ip_address", "ip_version", "ip_error"]


@pytest.mark.parametrize(
    ("address", "country", "isp_part", "asn"),
    [
        ("177.72.0.1", "BR", "TELECOMUNICACOES", "AS61832"),
        ("2804:14c:5b80::1", "BR", "Claro", "AS28573"),
        ("189.6.22.1", "BR", "Claro", "AS28573"),
        ("8.8.8.8", "US", "GOOGLE", "AS15169"),
        ("2001:4860:4860::8888", "US", "GOOGLE", "AS15169"),
        ("1.1.1.1", "AU", "CLOUDFLARE", "AS13335"),
        ("200.147.3.157", "BR", "Universo Online", "AS7162"),
        ("81.2.69.142", "GB", "Andrews & Arnold", "AS20712"),
    ],
)
def test_known_addresses(address: str, country: str, isp_part: str, asn: str) -> None:
    info = default_geoip().lookup(address)
    assert info.country == country
    assert isp_part.lower() in (info.isp or "").lower()
    assert info.asn == asn  # from the bundled IPtoASN data


def test_asn_database_is_unpacked_once_per_content(tmp_path: Path) -> None:
    bundled = bundled_asn_container()
    first = unpacked_asn_mmdb(bundled)
    assert unpacked_asn_mmdb(bundled) == first  # the same content: the same file, reused
    copy = tmp_path / bundled.name
    copy.write_bytes(bundled.read_bytes())
    assert unpacked_asn_mmdb(copy) == first
    geo = GeoIp(asn_mmdb=first)
    assert geo.lookup("8.8.4.4").asn == "AS15169"


def test_city_level_where_the_city_database_agrees() -> None:
    recife = default_geoip().lookup("177.72.0.1")
    assert (recife.region, recife.city) == ("Pernambuco", "Recife")
    assert recife.latitude == pytest.approx(-8.05, abs=0.5)
    assert recife.longitude == pytest.approx(-34.9, abs=0.5)


@pytest.mark.parametrize("address", ["10.0.0.1", "192.168.1.10", "127.0.0.1", "::1", "fd00::1"])
def test_private_addresses_have_no_place(address: str) -> None:
    info = default_geoip().lookup(address)
    assert (info.country, info.city, info.isp, info.asn, info.latitude) == (None,) * 5


def test_geo_databases_load_and_answer_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("enrichment tried to use the network")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    geo = GeoIp(cache_size=4)
    assert geo.lookup("177.72.0.1").country == "BR"
    for n in range(10):  # past the cache size: evicts, still right
        assert geo.lookup(f"177.72.0.{n + 1}").country == "BR"


def _events() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "event": [1, 2, 3, 4, 5, 6],
            "ip_address": [
                "177.72.0.1",
                "2804:14c:5b80::1",
                "177.72.0.1",
                "8.8.8.8",
                "10.0.0.1",
                None,
            ],
            "user_agent": [CHROME_WINDOWS, SAFARI_IPHONE, CHROME_WINDOWS, GOOGLEBOT, None, IPAD],
        }
    )


def test_enrich_events_adds_every_column_in_order() -> None:
    events = _events()
    out = enrich_events(events)
    assert out.height == events.height
    assert out.get_column("event").to_list() == [1, 2, 3, 4, 5, 6]
    assert out.select(list(ENRICHED_SCHEMA)).schema == pl.Schema(ENRICHED_SCHEMA)
    rows = out.select("country", "city", "browser", "device_type", "is_bot").rows()
    assert rows[0] == ("BR", "Recife", "Chrome", "desktop", False)
    assert (rows[1][0], rows[1][3]) == ("BR", "mobile")
    assert rows[2] == rows[0]
    assert (rows[3][0], *rows[3][3:]) == ("US", "bot", True)
    assert (rows[4][0], *rows[4][3:]) == (None, "bot", True)  # no user agent: a bot
    assert (rows[5][0], rows[5][3]) == (None, "tablet")
    latitude = out.get_column("latitude")[0]
    assert isinstance(latitude, Decimal)
    assert -9 < latitude < -7


def test_enrichment_can_be_switched_off() -> None:
    events = _events()
    out = enrich_events(events, enabled=False)
    assert out.height == events.height
    assert out.select(list(ENRICHED_SCHEMA)).schema == pl.Schema(ENRICHED_SCHEMA)
    assert out.select(pl.all().exclude(events.columns).is_null().all()).row(0) == tuple(
        True for _ in ENRICHED_SCHEMA
    )


def test_enrich_events_replaces_stale_enrichment_columns() -> None:
    events = _events().with_columns(pl.lit("XX").alias("country"))
    assert enrich_events(events).get_column("country")[0] == "BR"
