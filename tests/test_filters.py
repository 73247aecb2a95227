"""/events and /initiatives filters: words and phrases to an ItemQuery, or a clear error."""

from __future__ import annotations

import pytest

from aseanbot.catalog import Catalog
from aseanbot.filters import FilterError, describe_query, parse_item_filter
from aseanbot.models import Country, ItemQuery, Partner, Topic

CATALOG = Catalog(
    topics=(
        Topic("digital-economy", "Digital economy", "d"),
        Topic("trade", "Trade", "t"),
    ),
    countries=(
        Country("TH", "Thailand", ("Thai", "Bangkok")),
        Country("VN", "Viet Nam", ("Vietnam", "Hanoi")),
        Country("ASEAN", "ASEAN (all member states)", ("Southeast Asia",)),
    ),
    partners=(Partner("NZ", "New Zealand", ("Wellington",)), Partner("JP", "Japan", ("Tokyo",))),
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ItemQuery(kind="event")),
        ("digital-economy", ItemQuery(kind="event", topic="digital-economy")),
        ("Digital Economy", ItemQuery(kind="event", topic="digital-economy")),
        ("th", ItemQuery(kind="event", country="TH")),
        ("thailand 2025", ItemQuery(kind="event", country="TH", year=2025)),
        ("Viet Nam", ItemQuery(kind="event", country="VN")),
        ("hanoi trade", ItemQuery(kind="event", country="VN", topic="trade")),
        ("new zealand", ItemQuery(kind="event", partner="NZ")),
        ("2024 japan trade viet nam", ItemQuery("event", "trade", "VN", "JP", 2024)),
        ("southeast asia", ItemQuery(kind="event", country="ASEAN")),
    ],
)
def test_filters_resolve_to_a_query(text: str, expected: ItemQuery) -> None:
    assert parse_item_filter(text, CATALOG, kind="event") == expected


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("atlantis", "filter.unknown"),
        ("trade <b>", "filter.unknown"),
        ("thailand viet nam", "filter.too_many"),
        ("2024 2025", "filter.too_many"),
        ("1066", "filter.year_range"),
        ("9999", "filter.year_range"),
    ],
)
def test_unusable_words_name_the_problem(text: str, key: str) -> None:
    with pytest.raises(FilterError) as raised:
        parse_item_filter(text, CATALOG, kind=None)
    assert raised.value.key == key


def test_the_unknown_word_is_reported() -> None:
    with pytest.raises(FilterError) as raised:
        parse_item_filter("trade atlantis", CATALOG, kind=None)
    assert raised.value.params["word"] == "atlantis"


def test_a_query_is_described_with_display_names() -> None:
    query = ItemQuery(topic="trade", country="VN", partner="NZ", year=2025)
    assert describe_query(query, CATALOG) == ["Trade", "Viet Nam", "New Zealand", "2025"]
