"""Renderers: every field the sources stated, escaped, and nothing they did not state."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from aseanbot.catalog import Catalog
from aseanbot.formatting.render import (
    format_date_range,
    marked_to_html,
    render_card,
    render_item_page,
    render_list_entry,
    render_search,
)
from aseanbot.models import (
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    Country,
    Item,
    ItemPage,
    ItemQuery,
    Partner,
    SearchHit,
    SearchResult,
    Topic,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
CATALOG = Catalog(
    topics=(Topic("digital-economy", "Digital economy", "d"),),
    countries=(Country("TH", "Thailand"), Country("ASEAN", "ASEAN (all member states)")),
    partners=(Partner("JP", "Japan"),),
)


def make_item(**changes: object) -> Item:
    fields: dict[str, object] = {
        "id": "5th-adgmin-bangkok-2025",
        "kind": "event",
        "title": "5th ASEAN Digital Ministers' Meeting <ADGMIN> & more",
        "sources": ("https://www.example.org/a?x=1&y=2",),
        "added_at": NOW,
        "updated_at": NOW,
        "topics": ("digital-economy",),
        "countries": ("TH", "ASEAN"),
        "partners": ("JP",),
        "date": date(2025, 1, 16),
        "end_date": date(2025, 1, 17),
        "location": "Bangkok, Thailand",
        "summary": "Ministers met & talked.",
        "key_focus": "Scams",
        "outcome": "Bangkok Digital Declaration adopted",
        "people": ("A <chair>",),
    }
    fields.update(changes)
    return Item(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (date(2025, 1, 16), None, "16 Jan 2025"),
        (date(2025, 1, 16), date(2025, 1, 16), "16 Jan 2025"),
        (date(2025, 1, 16), date(2025, 1, 17), "16–17 Jan 2025"),
        (date(2024, 1, 30), date(2024, 2, 2), "30 Jan – 2 Feb 2024"),
        (date(2024, 12, 30), date(2025, 1, 2), "30 Dec 2024 – 2 Jan 2025"),
        (None, None, ""),
    ],
)
def test_date_ranges_read_naturally(start: date | None, end: date | None, expected: str) -> None:
    assert format_date_range(start, end) == expected


def test_a_card_shows_every_stated_field_escaped() -> None:
    html = "\n\n".join(render_card(make_item(), [], CATALOG))
    assert "<b>5th ASEAN Digital Ministers&#x27; Meeting &lt;ADGMIN&gt; &amp; more</b>" in html
    assert "16–17 Jan 2025" in html
    assert "Bangkok, Thailand" in html
    assert "Thailand, ASEAN (all member states)" in html
    assert "With Japan" in html
    assert "Digital economy" in html
    assert "Ministers met &amp; talked." in html
    assert "<b>Key focus:</b> Scams" in html
    assert "<b>Outcome:</b> Bangkok Digital Declaration adopted" in html
    assert "• A &lt;chair&gt;" in html
    assert '<a href="https://www.example.org/a?x=1&amp;y=2">example.org/a</a>' in html


def test_a_card_leaves_out_what_the_sources_did_not_state() -> None:
    item = make_item(
        date=None,
        end_date=None,
        location=None,
        summary=None,
        key_focus=None,
        outcome=None,
        people=(),
        partners=(),
    )
    html = "\n\n".join(render_card(item, [], CATALOG))
    for absent in ("📅", "📍", "Key focus", "Outcome", "People", "With "):
        assert absent not in html


def test_a_list_entry_links_its_source_and_shows_its_id() -> None:
    entry = render_list_entry(3, make_item())
    assert entry.startswith("<b>3.</b>")
    assert "<code>5th-adgmin-bangkok-2025</code>" in entry
    assert 'href="https://www.example.org/a?x=1&amp;y=2"' in entry


def test_a_page_says_where_it_is_in_the_list() -> None:
    page = ItemPage(items=(make_item(),) * 5, total=12, offset=5, limit=5)
    header = render_item_page(page, ItemQuery(kind="event", country="TH"), CATALOG)[0]
    assert "Events" in header
    assert "Thailand" in header
    assert "6–10 of 12 · page 2/3" in header


def test_an_empty_filtered_list_says_what_matched_nothing() -> None:
    page = ItemPage(items=(), total=0, offset=0, limit=5)
    blocks = render_item_page(page, ItemQuery(kind="event", country="TH", year=2020), CATALOG)
    assert "Thailand · 2020" in blocks[0]


def test_highlight_markers_become_bold_after_escaping() -> None:
    marked = f"a <{HIGHLIGHT_START}Bangkok{HIGHLIGHT_END}> & {HIGHLIGHT_START}b"
    assert marked_to_html(marked) == "a &lt;<b>Bangkok</b>&gt; &amp; <b>b</b>"


def test_search_results_show_the_highlighted_title_and_count() -> None:
    hit = SearchHit(make_item(), f"{HIGHLIGHT_START}Bangkok{HIGHLIGHT_END} meeting", "…x…")
    result = SearchResult(hits=(hit,), total=1, terms=("bangkok",))
    blocks = render_search(result, "Bangkok", 0)
    assert "1 result" in blocks[0]
    assert "“bangkok”" in blocks[0]
    assert "<b>1.</b> <b>Bangkok</b> meeting" in blocks[1]
