"""User agent -> browser, OS, device and a bot flag.

Parsing uses `ua-parser` (Browserscope's uap-core rules, compiled in `ua-parser-builtins`,
run by the Rust accelerator `ua-parser-rs`): about 20 µs per string, offline. uap-core names
browser, OS and device but not the *kind* of device, so `device_type` is derived here:

- `bot`: uap-core's device family "Spider", a match in the maintained crawler list of the
  `crawler-user-agents` package, an HTTP tool or headless browser (curl, Wget,
  python-requests, Go-http-client, HeadlessChrome, ...), or an empty user agent.
- `tablet`: iPad, Kindle/Silk, a "Tablet" token, uap-core's generic Android tablet, or an
  Android user agent without the "Mobile" token (Android tablets leave it out).
- `mobile`: iPhone/iPod, an Android or other handset OS with "Mobile"/"Mobi", Windows Phone,
  KaiOS, BlackBerry, Opera Mini.
- `desktop`: Windows, macOS, Linux distributions, ChromeOS, the BSDs.
- `other`: everything else (smart TVs, consoles, unknown strings).

Names are uap-core's (browser "Chrome Mobile", OS "Mac OS X"); versions are the dotted
parts uap-core found ("124.0.6367"). Outputs are cut to the visitor_tracking column sizes.
iPadOS 13+ Safari in its default "desktop site" mode sends a Mac user agent and is counted
as desktop: no user-agent parser can tell them apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache

import crawleruseragents
import polars as pl
import ua_parser

DEVICE_TYPES = ("desktop", "mobile", "tablet", "bot", "other")

# visitor_tracking column sizes
_MAX = {"browser": 100, "version": 50, "os": 100, "brand": 100, "model": 100}

# HTTP clients, headless browsers and monitors that some lists miss; matched case-insensitively.
_TOOLS = re.compile(
    r"curl/|wget/|python-requests|python-urllib|python-httpx|aiohttp|httpie|go-http-client"
    r"|java/|okhttp|apache-httpclient|libwww-perl|lwp::|php/|guzzlehttp|node-fetch|axios/"
    r"|undici|postmanruntime|insomnia|headlesschrome|phantomjs|electron/.*headless|puppeteer"
    r"|playwright|selenium|scrapy|restsharp|dart:io|lighthouse|pagespeed|gtmetrix",
    re.IGNORECASE,
)
_TOOL_FAMILIES = frozenset(
    {
        "curl",
        "Wget",
        "Python Requests",
        "Python-urllib",
        "HeadlessChrome",
        "PhantomJS",
        "Apache-HttpClient",
        "Go-http-client",
        "okhttp",
        "Java",
    }
)
_DESKTOP_OS_PREFIXES = (
    "Windows",
    "Mac OS X",
    "macOS",
    "Linux",
    "Ubuntu",
    "Debian",
    "Fedora",
    "Red Hat",
    "SUSE",
    "openSUSE",
    "Mint",
    "Arch Linux",
    "Gentoo",
    "Chrome OS",
    "ChromeOS",
    "FreeBSD",
    "OpenBSD",
    "NetBSD",
    "Solaris",
)
_NOT_DESKTOP_WINDOWS = ("Windows Phone", "Windows Mobile", "Windows CE", "Windows RT")
_MOBILE_OS = frozenset(
    {"iOS", "Android", "Windows Phone", "KaiOS", "BlackBerry OS", "Symbian OS", "Firefox OS"}
)
_TABLET_TOKENS = re.compile(r"\b(?:tablet|ipad|playbook|kindle|silk)\b", re.IGNORECASE)
_MOBILE_TOKENS = re.compile(r"mobi|iphone|ipod|opera mini|windows phone|kaios", re.IGNORECASE)
_TV_OR_CONSOLE = re.compile(
    r"smart-?tv|smarttv|\btv\b|hbbtv|googletv|appletv|roku|crkey|web0s|netcast|tizen.*tv"
    r"|playstation|xbox|nintendo",
    re.IGNORECASE,
)
# uap-core brands that say "we do not know the maker"
_GENERIC_BRANDS = frozenset(
    {"Generic", "Generic_Android", "Generic_Android_Tablet", "Generic_Inettv", "Spider"}
)

# Models uap-core fills in for unknown devices ("K": Chrome's reduced "Android 10; K").
_PLACEHOLDER_MODELS = frozenset({"K", "Smartphone", "Tablet", "Feature Phone", "Desktop"})


@dataclass(frozen=True, slots=True)
class UserAgentInfo:
    """What one user agent string says; `None` where it says nothing."""

    browser: str | None
    browser_version: str | None
    os: str | None
    os_version: str | None
    device_type: str  # one of DEVICE_TYPES
    device_brand: str | None
    device_model: str | None
    is_bot: bool


EMPTY_USER_AGENT = UserAgentInfo(None, None, None, None, "bot", None, None, is_bot=True)


@cache
def _parser() -> ua_parser.Parser:
    # Built on first use (compiling the rules takes ~0.1 s); its own cache is ours below.
    return ua_parser.Parser(ua_parser.BestAvailableResolver(ua_parser.load_lazy_builtins()))


def _cut(value: str | None, size: int) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value[:size] if value else None


def _version(*parts: str | None) -> str | None:
    found: list[str] = []
    for part in parts:
        if not part:
            break
        found.append(part)
    return _cut(".".join(found), _MAX["version"]) if found else None


def is_bot_user_agent(user_agent: str | None) -> bool:
    """True for crawlers, HTTP tools, headless browsers and an empty user agent."""
    return parse_user_agent(user_agent).is_bot


def _is_bot(ua: str, browser: str | None, device_family: str | None) -> bool:
    return (
        device_family == "Spider"
        or browser in _TOOL_FAMILIES
        or _TOOLS.search(ua) is not None
        or crawleruseragents.is_crawler(ua)
    )


def _device_type(ua: str, os_family: str | None, device: ua_parser.Device | None) -> str:
    family = device.family if device else None
    brand = device.brand if device else None
    if family == "iPad" or brand == "Generic_Android_Tablet" or _TABLET_TOKENS.search(ua):
        return "tablet"
    if _TV_OR_CONSOLE.search(ua):
        return "other"
    if family in ("iPhone", "iPod") or family == "iPod Touch":
        return "mobile"
    if os_family == "Android":
        return "mobile" if "Mobile" in ua else "tablet"
    if os_family in _MOBILE_OS or _MOBILE_TOKENS.search(ua):
        return "mobile"
    if family == "Mac" or (
        os_family is not None
        and os_family.startswith(_DESKTOP_OS_PREFIXES)
        and not os_family.startswith(_NOT_DESKTOP_WINDOWS)
    ):
        return "desktop"
    return "other"


@lru_cache(maxsize=65_536)
def parse_user_agent(user_agent: str | None) -> UserAgentInfo:
    """Parse one user agent string (cached: user agents repeat heavily)."""
    if user_agent is None or not user_agent.strip():
        return EMPTY_USER_AGENT
    result = _parser().parse(user_agent)
    agent, os, device = result.user_agent, result.os, result.device
    browser = agent.family if agent and agent.family != "Other" else None
    os_family = os.family if os and os.family != "Other" else None
    device_family = device.family if device and device.family != "Other" else None
    is_bot = _is_bot(user_agent, browser, device_family)
    brand = device.brand if device and device.brand not in _GENERIC_BRANDS else None
    model = device.model if device and device_family != "Spider" else None
    if brand is None and model in _PLACEHOLDER_MODELS:
        model = None
    return UserAgentInfo(
        browser=_cut(browser, _MAX["browser"]),
        browser_version=_version(agent.major, agent.minor, agent.patch, agent.patch_minor)
        if agent and browser
        else None,
        os=_cut(os_family, _MAX["os"]),
        os_version=_version(os.major, os.minor, os.patch, os.patch_minor)
        if os and os_family
        else None,
        device_type="bot" if is_bot else _device_type(user_agent, os_family, device),
        device_brand=_cut(brand, _MAX["brand"]),
        device_model=_cut(model, _MAX["model"]),
        is_bot=is_bot,
    )


USER_AGENT_SCHEMA: dict[str, pl.DataType] = {
    "browser": pl.String(),
    "browser_version": pl.String(),
    "os": pl.String(),
    "os_version": pl.String(),
    "device_type": pl.String(),
    "device_brand": pl.String(),
    "device_model": pl.String(),
    "is_bot": pl.Boolean(),
}


def user_agent_table(user_agents: pl.Series) -> pl.DataFrame:
    """One row per distinct user agent (null included) with the parsed columns.

    The first column keeps the input's name, ready to join back onto the events.
    """
    distinct = user_agents.unique()
    infos = [parse_user_agent(ua) for ua in distinct.to_list()]
    columns: dict[str, list[object]] = {name: [] for name in USER_AGENT_SCHEMA}
    for info in infos:
        columns["browser"].append(info.browser)
        columns["browser_version"].append(info.browser_version)
        columns["os"].append(info.os)
        columns["os_version"].append(info.os_version)
        columns["device_type"].append(info.device_type)
        columns["device_brand"].append(info.device_brand)
        columns["device_model"].append(info.device_model)
        columns["is_bot"].append(info.is_bot)
    table = pl.DataFrame(columns, schema=USER_AGENT_SCHEMA)
    return table.insert_column(0, distinct)
