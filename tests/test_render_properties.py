"""Property: whatever text an item holds, every rendered message is one Telegram accepts."""

from __future__ import annotations

from datetime import UTC, date, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from aseanbot.catalog import Catalog
from aseanbot.formatting.render import (
    render_card,
    render_item_page,
    render_latest,
    render_search,
)
from aseanbot.formatting.split import split_message
from aseanbot.models import (
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    Country,
    Item,
    ItemPage,
    ItemQuery,
    SearchHit,
    SearchResult,
    Topic,
)
from tests.fake_bot_api import parse_telegram_html, utf16_len

NOW = datetime(2026, 11, 28, tzinfo=UTC)
CATALOG = Catalog(topics=(Topic("trade", "Trade & <more>", "d"),), countries=(Country("TH", "T"),))

# Any unicode but lone surrogates (which cannot be sent as UTF-8 at all).
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=3000)
SHORT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=300)
URL = st.builds(lambda path: "https://example.org/" + path, st.text(max_size=200))


@st.composite
def items(draw: st.DrawFn) -> Item:
    return Item(
        id="synthetic-item",
        kind=draw(st.sampled_from(["event", "initiative"])),
        title=draw(SHORT),
        sources=tuple(draw(st.lists(URL, min_size=1, max_size=5))),
        added_at=NOW,
        updated_at=NOW,
        topics=("trade",),
        countries=("TH", "XX"),
        date=draw(st.none() | st.dates(min_value=date(1967, 1, 1))),
        location=draw(st.none() | SHORT),
        summary=draw(st.none() | TEXT),
        key_focus=draw(st.none() | TEXT),
        outcome=draw(st.none() | TEXT),
        people=tuple(draw(st.lists(SHORT, max_size=30))),
    )


def assert_all_accepted(blocks: list[str]) -> None:
    messages = split_message(blocks)
    assert messages
    for message in messages:
        text, _ = parse_telegram_html(message)  # raises TelegramHtmlError if Telegram would
        assert 0 < utf16_len(text) <= 4096


@settings(max_examples=150, deadline=None)
@given(items(), st.lists(items(), max_size=3))
def test_cards_are_always_accepted(item: Item, related: list[Item]) -> None:
    assert_all_accepted(render_card(item, related, CATALOG))


@settings(max_examples=100, deadline=None)
@given(st.lists(items(), min_size=1, max_size=20))
def test_lists_are_always_accepted(listed: list[Item]) -> None:
    assert_all_accepted(render_latest(listed))
    page = ItemPage(items=tuple(listed[:5]), total=len(listed), offset=0, limit=5)
    assert_all_accepted(render_item_page(page, ItemQuery(kind="event", topic="trade"), CATALOG))


MARKED = st.text(
    alphabet=st.sampled_from(["a", "<", "&", " ", "😀", HIGHLIGHT_START, HIGHLIGHT_END, "\n"]),
    max_size=600,
)


@settings(max_examples=150, deadline=None)
@given(items(), MARKED, MARKED, TEXT)
def test_search_results_are_always_accepted(
    item: Item, title: str, snippet: str, query: str
) -> None:
    result = SearchResult(hits=(SearchHit(item, title, snippet),) * 5, total=9, terms=(query,))
    assert_all_accepted(render_search(result, query, 0))
