"""The reporting calendar's holidays: days that behave like a Sunday.

Brazil's national holidays (the reporting currency and time zone are Brazil's by default).
The demo-data generator keeps staff at home on them, and the volume checks compare a
holiday with Sundays rather than with its own weekday.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache
from typing import Literal

HolidayCalendar = Literal["BR", "none"]


def holidays(calendar: HolidayCalendar, first: date, last: date) -> frozenset[date]:
    """The calendar's holidays from `first` to `last`, both included."""
    if calendar == "none":
        return frozenset()
    return frozenset(
        day
        for year in range(first.year, last.year + 1)
        for day in brazilian_holidays(year)
        if first <= day <= last
    )


@cache
def brazilian_holidays(year: int) -> frozenset[date]:
    """National holidays (banks closed): fixed dates, Carnival Monday and Tuesday, Good
    Friday, Corpus Christi (from Easter, by the anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    lw = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * lw) // 451
    month = (h + lw - 7 * m + 114) // 31
    day = (h + lw - 7 * m + 114) % 31 + 1
    easter = date(year, month, day)
    fixed = [(1, 1), (4, 21), (5, 1), (9, 7), (10, 12), (11, 2), (11, 15), (12, 25)]
    if year >= 2024:
        fixed.append((11, 20))
    days = {date(year, mm, dd) for mm, dd in fixed}
    days |= {
        easter - timedelta(days=48),
        easter - timedelta(days=47),
        easter - timedelta(days=2),
        easter + timedelta(days=60),
    }
    return frozenset(days)
