"""A login's list settings from a backup's manifest go back item by item, as literals."""

from __future__ import annotations

import pytest

from core.db.login_roles import list_setting_items


@pytest.mark.parametrize(
    ("stored", "items"),
    [
        ("marts", ["marts"]),
        ('"$user", marts', ["$user", "marts"]),
        ('a, "b,c", "d""e"', ["a", "b,c", 'd"e']),
        ("marts; DROP TABLE public.tenants", ["marts; DROP TABLE public.tenants"]),
    ],
)
def test_a_list_setting_is_split_into_its_items(stored: str, items: list[str]) -> None:
    assert list_setting_items(stored) == items
