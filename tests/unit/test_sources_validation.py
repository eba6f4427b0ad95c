"""The shared validation checks and record readers (`ingestion.parsing.validate`, `.records`)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
import pytest

from ingestion.parsing import validate as v
from ingestion.parsing.records import read_csv, read_jsonl


def reasons(check: pl.Expr, *values: str | None) -> list[str | None]:
    return pl.DataFrame({"f": list(values)}, schema={"f": pl.String}).select(check)["f"].to_list()


def test_enumerations_and_lengths_come_from_the_schema():
    assert v.allowed_values("public.platform_usage_tracking", "resource_type") == (
        "bots",
        "api_calls",
        "storage",
        "bandwidth",
        "users",
        "transactions",
    )
    assert v.allowed_values("tenants", "type") == ("empresa", "trader", "influencer")
    assert v.max_length("raw.expenses", "category") == 50
    assert v.numeric_shape("public.trading_commissions", "commission_rate") == (5, 4)
    with pytest.raises(LookupError):
        v.allowed_values("public.users", "email")


def test_required_and_nulls():
    assert reasons(v.required("f").alias("f"), None, "x") == ["f is missing: it is required", None]
    assert reasons(v.uuid("f").alias("f"), None) == [None]  # optional fields pass nulls


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("12.50", None),
        ("-3", None),
        (".5", None),
        ("12,50", "f '12,50' is not a number: use a dot as the decimal separator"),
        ("1.234,56", "f '1.234,56' is not a number: use a dot as the decimal separator"),
        ("abc", "f 'abc' is not a number: expected digits with an optional dot"),
        ("1e5", "f '1e5' is not a number"),
        ("1.234", "f '1.234' has more than 2 decimal places"),
        ("12345678901234", "f '12345678901234' is too large: at most 13 digits"),
    ],
)
def test_decimal(value: str, reason: str | None):
    found = reasons(v.decimal("f", 15, 2).alias("f"), value)[0]
    assert found == reason if reason is None else found is not None and found.startswith(reason)


def test_decimal_bounds():
    check = v.decimal("f", 5, 4, minimum=0, maximum=1).alias("f")
    assert reasons(check, "0", "1.0000", "-0.1", "1.5") == [
        None,
        None,
        "f '-0.1' must be at least 0",
        "f '1.5' must be at most 1",
    ]
    assert reasons(v.decimal("f", 15, 2, above=0).alias("f"), "0.00") == [
        "f '0.00' must be greater than 0"
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-31T14:05:00Z", datetime(2026, 1, 31, 14, 5, tzinfo=UTC)),
        ("2026-01-31 14:05:00-03:00", datetime(2026, 1, 31, 17, 5, tzinfo=UTC)),
        ("2026-01-31T14:05+0530", datetime(2026, 1, 31, 8, 35, tzinfo=UTC)),
        ("2026-01-31T14:05:00.250+00", datetime(2026, 1, 31, 14, 5, 0, 250000, tzinfo=UTC)),
    ],
)
def test_timestamps_with_a_zone_become_utc(value: str, expected: datetime):
    frame = pl.DataFrame({"f": [value]})
    assert frame.select(v.timestamp("f"))["f"].to_list() == [None]
    assert frame.select(v.as_timestamp("f"))["f"].to_list() == [expected]


def test_timestamps_without_a_zone_or_invalid_are_refused():
    found = reasons(v.timestamp("f").alias("f"), "2026-01-31T14:05:00", "2026-02-30T00:00:00Z", "x")
    assert (
        found[0] == "f '2026-01-31T14:05:00' has no time zone: add Z (UTC) or an offset like -03:00"
    )
    assert found[1] is not None
    assert "is not an ISO-8601 date-time with a time zone" in found[1]
    assert found[2] is not None


def test_uuid_known_one_of_lengths_ip_currency_date_integer():
    known_id = "0b5f4c1e-8d4a-4c3e-9f59-2f7a3b1c9d10"
    assert reasons(v.uuid("f").alias("f"), known_id.upper(), "123") == [
        None,
        "f '123' is not a UUID: expected one like 0b5f4c1e-8d4a-4c3e-9f59-2f7a3b1c9d10",
    ]
    assert reasons(
        v.known("f", {known_id}, "tenant").alias("f"), known_id.upper(), known_id[:-1] + "1"
    ) == [None, f"f '{known_id[:-1]}1' is not a known tenant"]
    assert reasons(v.one_of("f", ("a", "b")).alias("f"), "a", "c") == [
        None,
        "f 'c' is not allowed: expected one of a, b",
    ]
    long = "y" * 70
    assert reasons(v.longest("f", 60).alias("f"), long) == [
        f"f '{'y' * 57}...' is 70 characters long: at most 60 allowed"
    ]
    assert reasons(v.ip_address("f").alias("f"), "10.0.0.1", "::1", "10.0.0.256") == [
        None,
        None,
        "f '10.0.0.256' is not an IPv4 or IPv6 address",
    ]
    assert reasons(v.currency("f").alias("f"), "BRL", "brl")[1] is not None
    assert reasons(v.date("f").alias("f"), "2026-01-31", "2026-02-30", "31/01/2026")[0] is None
    assert reasons(v.integer("f", minimum=1).alias("f"), "3", "0", "1.5", "99999999999") == [
        None,
        "f '0' must be at least 1",
        "f '1.5' is not a whole number",
        "f '99999999999' is too large: at most 2147483647",
    ]


def test_conversions_are_exact():
    frame = pl.DataFrame({"a": ["12.5", "+0.10"], "d": ["2026-01-31", "2026-02-01"]})
    converted = frame.select(v.as_decimal("a", 15, 2), v.as_date("d"))
    assert converted["a"].to_list() == [Decimal("12.50"), Decimal("0.10")]
    assert converted["d"].to_list() == [date(2026, 1, 31), date(2026, 2, 1)]


def test_split_valid_joins_every_reason_of_a_row():
    records = read_csv(b"a,b\n1,x\n,y\n2,z\n", ("a", "b"), ("a",))
    valid, rejects = v.split_valid(
        records.frame, [v.required("a"), v.one_of("b", ("x", "y"))], records.rejects
    )
    assert valid.to_dicts() == [{"a": "1", "b": "x"}]
    assert [(r.record_number, r.reason) for r in rejects] == [
        (3, "a is missing: it is required"),
        (4, "b 'z' is not allowed: expected one of x, y"),
    ]
    assert rejects[1].raw_record == "2,z"


def test_read_csv_lines_quotes_blanks_bom_and_bad_bytes():
    data = (
        b'\xef\xbb\xbfA, B ,c\r\n1,"x, y",3\r\n\r\n4,"say ""hi""",6\n7,8\n9,"open,10\n'
        b"\xffbad,1,2\n11,12,13"
    )
    records = read_csv(data, ("a", "b", "missing"))
    assert records.records_in == 6
    assert records.frame.to_dicts() == [
        {"a": "1", "b": "x, y", "missing": None, "_record": 2, "_raw": '1,"x, y",3'},
        {"a": "4", "b": 'say "hi"', "missing": None, "_record": 4, "_raw": '4,"say ""hi""",6'},
        {"a": "11", "b": "12", "missing": None, "_record": 8, "_raw": "11,12,13"},
    ]
    reasons_by_line = {r.record_number or 0: r.reason for r in records.rejects}
    assert sorted(reasons_by_line) == [5, 6, 7]
    assert reasons_by_line[5].startswith("the line has 2 fields but the header has 3")
    assert reasons_by_line[6].startswith("the line is not valid CSV")
    assert reasons_by_line[7].startswith("the line is not valid UTF-8 (byte ff at position 1)")
    assert records.rejects[-1].raw_record == "\ufffdbad,1,2"


def test_read_csv_refuses_every_row_when_the_header_lacks_a_required_column():
    records = read_csv(b"a;b\n1;2\n", ("a", "b"), ("a", "b"))
    assert [r.reason for r in records.rejects] == [
        "the header is separated by ';': separate fields with ',' (and write decimals with a dot)"
    ]
    records = read_csv(b"a,c\n1,2\n", ("a", "b"), ("a", "b"))
    assert records.rejects[0].reason == "the header has no column b (expected columns: a, b)"
    assert read_csv(b"", ("a",)).records_in == 0


def test_read_jsonl_types_and_bad_lines():
    data = (
        b'{"s": "x", "o": {"k": 1}, "n": 3, "extra": true}\n'
        b"\n"
        b'{"s": 5, "o": [1], "n": "4"}\n'
        b"[1, 2]\n"
        b'{"s": "\xff"}\n'
        b'{"s": "a\\u0000b"}\n'
        b'{"s": "\\ud800"}\n'
        b"{nope\n"
        b'{"o": null}\n'
    )
    records = read_jsonl(data, {"s": "string", "o": "object", "n": "integer"}, present=("s",))
    assert records.records_in == 8
    rows = records.frame.select("s", "o", "n", "_record", "_problems").to_dicts()
    assert rows[0] == {"s": "x", "o": '{"k":1}', "n": "3", "_record": 1, "_problems": None}
    assert rows[1]["_problems"] == (
        "s must be a JSON string, got 5; o must be a JSON object, got [1]"
    )
    assert rows[2]["_problems"] == "s is missing: give it (null is allowed)"
    reasons_by_line = {r.record_number or 0: r.reason for r in records.rejects}
    assert reasons_by_line[4] == "the line must hold one JSON object, got a JSON array"
    assert reasons_by_line[5].startswith("the line is not valid UTF-8")
    assert "NUL" in reasons_by_line[6]
    assert "lone surrogate" in reasons_by_line[7]
    assert reasons_by_line[8].startswith("the line is not valid JSON: Expecting property name")
