"""Reading Stripe objects: currencies and minor units, timestamps, statuses, ids.

Pure functions used by the payments source (`ingestion.sources.payments`). Anything that
cannot be read raises `RecordError`, whose message is the reject reason: it names the field
(as a path in the event, e.g. `data.object.amount`), the value found and what is expected.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any


class RecordError(ValueError):
    """One record cannot be accepted; the message is the reason kept in the quarantine."""


# --- Currencies ------------------------------------------------------------------------------
# Stripe sends amounts as integers in the currency's minor unit. The exponent is the one
# Stripe's API uses, which is ISO 4217's except where Stripe documents a special case:
# ISK is ISO 0 but Stripe keeps it two-decimal (100 = 1 krona); MGA is ISO 2 but Stripe
# treats it as zero-decimal. Codes not listed here are rejected as unknown.
ZERO_DECIMAL_CURRENCIES = frozenset(
    {
        "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "UYI",
        "VND", "VUV", "XAF", "XOF", "XPF",
    }
)  # fmt: skip
THREE_DECIMAL_CURRENCIES = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})
FOUR_DECIMAL_CURRENCIES = frozenset({"CLF", "UYW"})
TWO_DECIMAL_CURRENCIES = frozenset(
    {
        "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD",
        "BDT", "BGN", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD",
        "CAD", "CDF", "CHE", "CHF", "CHW", "CNY", "COP", "COU", "CRC", "CUC", "CUP", "CVE",
        "CZK", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL",
        "GHS", "GIP", "GMD", "GTQ", "GYD", "HKD", "HNL", "HRK", "HTG", "HUF", "IDR", "ILS",
        "INR", "IRR", "ISK", "JMD", "KES", "KGS", "KHR", "KPW", "KYD", "KZT", "LAK", "LBP",
        "LKR", "LRD", "LSL", "MAD", "MDL", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR",
        "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "PAB",
        "PEN", "PGK", "PHP", "PKR", "PLN", "QAR", "RON", "RSD", "RUB", "SAR", "SBD", "SCR",
        "SDG", "SEK", "SGD", "SHP", "SLE", "SLL", "SOS", "SRD", "SSP", "STN", "SVC", "SYP",
        "SZL", "THB", "TJS", "TMT", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "USD", "USN",
        "UYU", "UZS", "VED", "VES", "WST", "XCD", "XCG", "YER", "ZAR", "ZMW", "ZWG", "ZWL",
    }
)  # fmt: skip

CURRENCY_EXPONENTS: Mapping[str, int] = {
    **dict.fromkeys(TWO_DECIMAL_CURRENCIES, 2),
    **dict.fromkeys(ZERO_DECIMAL_CURRENCIES, 0),
    **dict.fromkeys(THREE_DECIMAL_CURRENCIES, 3),
    **dict.fromkeys(FOUR_DECIMAL_CURRENCIES, 4),
}

CENT = Decimal("0.01")
# numeric(15, 2): at most 13 digits before the decimal point.
MAX_MAJOR = Decimal(10) ** 13


def currency(value: object, field: str) -> str:
    """The ISO code in upper case (Stripe sends lower case); unknown codes are rejected."""
    if value is None:
        raise RecordError(f"{field} is missing: expected a three-letter ISO 4217 code")
    if not isinstance(value, str):
        raise RecordError(f"{field} {show(value)} is not a three-letter ISO 4217 code")
    code = value.strip().upper()
    if code not in CURRENCY_EXPONENTS:
        raise RecordError(
            f"{field} '{value}' is not a known ISO 4217 currency: expected a code such as "
            "'brl', 'usd', 'jpy'"
        )
    return code


def minor_units(obj: Mapping[str, Any], key: str, where: str, *, minimum: int = 1) -> int:
    """An integer amount in minor units at `obj[key]`, at least `minimum`."""
    field = f"{where}.{key}"
    if key not in obj or obj[key] is None:
        raise RecordError(f"{field} is missing: expected an integer amount in minor units")
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise RecordError(
            f"{field} {show(value)} is not an integer amount: Stripe sends minor units as an "
            "integer (1250 for 12.50)"
        )
    if value < minimum:
        expected = "> 0" if minimum == 1 else f">= {minimum}"
        raise RecordError(f"{field} {value} is out of range: expected an amount {expected}")
    return value


def to_major(minor: int, code: str, field: str) -> Decimal:
    """Minor units to an exact Decimal in major units with two decimals (numeric(15, 2)).

    Three- and four-decimal amounts must be whole cents (Stripe requires the last digit of a
    three-decimal amount to be 0), otherwise the ledger's two decimals would round them.
    """
    exact = Decimal(minor).scaleb(-CURRENCY_EXPONENTS[code])
    cents = exact.quantize(CENT)
    if cents != exact:
        raise RecordError(
            f"{field} {minor} {code} is {exact}, a fraction of a cent: the ledger keeps two "
            "decimals and Stripe rounds three-decimal amounts to the last digit 0"
        )
    if abs(cents) >= MAX_MAJOR:
        raise RecordError(f"{field} {minor} {code} is {cents}: too large for numeric(15, 2)")
    return cents


# --- Timestamps, ids, flags ------------------------------------------------------------------
# Unix seconds up to the end of year 9999.
_MAX_UNIX = 253_402_300_799


def timestamp(obj: Mapping[str, Any], key: str, where: str) -> datetime | None:
    """A Unix-seconds field as an aware UTC datetime; missing or null is None."""
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_UNIX:
        raise RecordError(
            f"{where}.{key} {show(value)} is not a timestamp: expected Unix seconds (integer)"
        )
    return datetime.fromtimestamp(value, tz=UTC)


def required_timestamp(obj: Mapping[str, Any], key: str, where: str) -> datetime:
    value = timestamp(obj, key, where)
    if value is None:
        raise RecordError(f"{where}.{key} is missing: expected Unix seconds (integer)")
    return value


def flag(obj: Mapping[str, Any], key: str, where: str, *, default: bool = False) -> bool:
    value = obj.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise RecordError(f"{where}.{key} {show(value)} is not a boolean: expected true/false")
    return value


def ref_id(value: object) -> str | None:
    """The id of a reference that is either an id string or an expanded object."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, Mapping):
        inner = value.get("id")
        if isinstance(inner, str) and inner:
            return inner
    return None


def object_id(obj: Mapping[str, Any], where: str, *, max_length: int = 255) -> str:
    value = obj.get("id")
    if value is None:
        raise RecordError(f"{where}.id is missing: expected the Stripe object id")
    if not isinstance(value, str) or not value:
        raise RecordError(f"{where}.id {show(value)} is not a Stripe object id")
    if len(value) > max_length:
        raise RecordError(f"{where}.id is {len(value)} characters: at most {max_length}")
    return value


def mapping(value: object) -> Mapping[str, Any]:
    """`value` when it is a JSON object, else an empty one (absent metadata and the like)."""
    return value if isinstance(value, Mapping) else {}


def list_data(value: object) -> list[Any] | None:
    """The `data` array of a Stripe list object (`{"object": "list", "data": [...]}`)."""
    if isinstance(value, Mapping) and isinstance(value.get("data"), list):
        return list(value["data"])
    return None


def short_text(value: object, limit: int) -> str | None:
    """A free-text field for a bounded varchar column: strings only, cut to `limit`."""
    if not isinstance(value, str) or not value:
        return None
    return value[:limit]


# --- Statuses ----------------------------------------------------------------------------------
# Charge status -> financial_transactions.status. An uncaptured authorisation (status
# succeeded, captured false) is pending: no money has moved yet.
CHARGE_STATUS: Mapping[str, str] = {
    "succeeded": "completed",
    "pending": "pending",
    "failed": "failed",
}

REFUND_STATUS: Mapping[str, str] = {
    "succeeded": "completed",
    "pending": "pending",
    "requires_action": "pending",
    "failed": "failed",
    "canceled": "cancelled",
}

# Dispute status -> financial_transactions.status of the withdrawal row (`dp_`, see
# payments_disputes): a chargeback's funds are withdrawn when it opens, so a chargeback is
# completed whatever its outcome (a won one also gets a reinstatement row); an inquiry
# (warning_*) withdraws nothing: pending while open, cancelled when it closes without
# becoming a chargeback (closed, prevented, or settled by refunding the charge, whose refund
# row carries the money).
DISPUTE_STATUS: Mapping[str, str] = {
    "warning_needs_response": "pending",
    "warning_under_review": "pending",
    "needs_response": "completed",
    "under_review": "completed",
    "lost": "completed",
    "won": "completed",
    "warning_closed": "cancelled",
    "prevented": "cancelled",
    "charge_refunded": "cancelled",
}
DISPUTE_CLOSED = frozenset({"lost", "won", "warning_closed", "prevented", "charge_refunded"})

# Stripe subscription status -> billing_subscriptions.status (the seed allows active,
# cancelled, past_due, unpaid). Trialing is active with trial dates; never-activated and
# paused subscriptions are unpaid (not counted as active); incomplete_expired is terminal.
# The Stripe status is kept verbatim in the row's metadata and in raw.subscription_events.
SUBSCRIPTION_STATUS: Mapping[str, str] = {
    "active": "active",
    "trialing": "active",
    "past_due": "past_due",
    "unpaid": "unpaid",
    "canceled": "cancelled",
    "incomplete": "unpaid",
    "incomplete_expired": "cancelled",
    "paused": "unpaid",
}

REVENUE_TYPES = ("subscription", "commission", "usage", "other")


def mapped_status(value: object, table: Mapping[str, str], field: str) -> tuple[str, str]:
    """(Stripe's status, our status) or a reject naming the accepted values."""
    if isinstance(value, str) and value in table:
        return value, table[value]
    raise RecordError(f"{field} {show(value)} is not one of {', '.join(table)}")


# Longest interval Stripe accepts: three years.
MAX_INTERVAL_MONTHS = 36


def billing_cycle(interval: object, interval_count: object, where: str) -> str | None:
    """monthly / quarterly / yearly for those intervals, None for the other month- and
    year-based ones (every 2 months, every 6, ...): MRR divides by the interval's months.
    Day and week intervals, and counts beyond three years, are rejected."""
    count = 1 if interval_count is None else interval_count
    months_each = {"month": 1, "year": 12}.get(interval) if isinstance(interval, str) else None
    if (
        months_each is None
        or isinstance(count, bool)
        or not isinstance(count, int)
        or not 1 <= count * months_each <= MAX_INTERVAL_MONTHS
    ):
        raise RecordError(
            f"{where}.interval {show(interval)} with interval_count {show(interval_count)} is "
            "not a supported billing interval: expected month or year, with an interval_count "
            "of at most three years (MRR is measured per month)"
        )
    return {1: "monthly", 3: "quarterly", 12: "yearly"}.get(count * months_each)


COUPON_DURATIONS = ("once", "repeating", "forever")


def discount(obj: Mapping[str, Any], where: str) -> None:
    """A Discount object as the MRR models read it: its coupon (at `coupon` up to API version
    2025-08-27.basil, at `source.coupon` from then on) with `percent_off` (0-100) or
    `amount_off` (minor units, with a currency) and a `duration`, and its `start`/`end`."""
    object_id(obj, where)
    timestamp(obj, "start", where)
    timestamp(obj, "end", where)
    coupon, cw = obj.get("coupon"), f"{where}.coupon"
    if coupon is None:
        coupon, cw = mapping(obj.get("source")).get("coupon"), f"{where}.source.coupon"
    if isinstance(coupon, str) and coupon:
        return  # not expanded: kept as sent, but it cannot change MRR (docs/landing.md)
    if not isinstance(coupon, Mapping):
        raise RecordError(
            f"{where}.coupon and {where}.source.coupon are missing: expected the discount's "
            "coupon (an object, or its id)"
        )
    percent = coupon.get("percent_off")
    amount = coupon.get("amount_off")
    if percent is not None and (
        isinstance(percent, bool) or not isinstance(percent, int | float) or not 0 < percent <= 100
    ):
        raise RecordError(f"{cw}.percent_off {show(percent)} is not a percentage in (0, 100]")
    if amount is not None:
        minor_units(coupon, "amount_off", cw, minimum=0)
        currency(coupon.get("currency"), f"{cw}.currency")
    if (percent is None) == (amount is None):
        raise RecordError(
            f"{cw} has {'both' if percent is not None else 'neither'} percent_off "
            "and amount_off: expected exactly one"
        )
    duration = coupon.get("duration")
    if duration not in COUPON_DURATIONS:
        raise RecordError(f"{cw}.duration {show(duration)} is not one of once, repeating, forever")


def payment_method(details: object) -> str | None:
    """The card brand for card payments (visa, mastercard, ...), else the method type (pix)."""
    info = mapping(details)
    kind = info.get("type")
    if not isinstance(kind, str) or not kind:
        return None
    brand = mapping(info.get(kind)).get("brand") if kind == "card" else None
    return (brand if isinstance(brand, str) and brand else kind)[:50]


def show(value: object) -> str:
    """A value as it appears in a reject reason: quoted strings, JSON-ish others."""
    if value is None:
        return "null"
    if isinstance(value, str):
        return f"'{value[:80]}'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    return type(value).__name__.replace("dict", "an object").replace("list", "an array")
