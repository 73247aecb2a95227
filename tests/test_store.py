"""The Store: importing data, reading it back, listing, relating and searching items."""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aseanbot.loader import DataError, read_dataset, record_to_mapping
from aseanbot.models import (
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    RECORD_FIELDS,
    Dataset,
    ImportReport,
    ItemQuery,
    Record,
    StoreSummary,
    Topic,
)
from aseanbot.store import Store
from aseanbot.store import store as store_module
from aseanbot.store.search_query import search_terms

NOW = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
LATER = NOW + timedelta(days=1)
REAL_DATA = Path(__file__).resolve().parents[1] / "data"

# The sample records newest first, the undated one last.
LATEST_ORDER = [
    "aem-retreat-2025",
    "5th-adgmin-bangkok-2025",
    "asean-ai-guide-2024",
    "rcep-signed-hanoi-2020",
    "defa-negotiations",
]


@pytest.fixture
def dataset(dataset_dir: Path) -> Dataset:
    return read_dataset(dataset_dir)


@pytest.fixture
async def loaded(store: Store, dataset: Dataset) -> Store:
    """The store with the sample dataset imported at NOW."""
    await store.import_dataset(dataset, now=NOW)
    return store


def _replace_record(dataset: Dataset, record_id: str, **changes: object) -> Dataset:
    records = tuple(
        dataclasses.replace(record, **changes) if record.id == record_id else record
        for record in dataset.records
    )
    return dataclasses.replace(dataset, records=records)


def _unmarked(text: str) -> str:
    return text.replace(HIGHLIGHT_START, "").replace(HIGHLIGHT_END, "")


async def _ids(store: Store, text: str) -> list[str]:
    result = await store.search_items(text, limit=50)
    return [hit.item.id for hit in result.hits]


# -- opening ------------------------------------------------------------------------------


async def test_open_turns_on_wal_and_foreign_keys(store: Store, tmp_path: Path) -> None:
    # journal_mode is stored in the file; foreign_keys belongs to the store's own connection.
    with sqlite3.connect(tmp_path / "test.db") as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    async with store._db.execute("PRAGMA foreign_keys") as cursor:
        assert (await cursor.fetchone())[0] == 1
    async with store._db.execute("PRAGMA busy_timeout") as cursor:
        assert (await cursor.fetchone())[0] == 5000
    async with store._db.execute("PRAGMA synchronous") as cursor:
        assert (await cursor.fetchone())[0] == 1  # NORMAL


async def test_commits_never_checkpoint_and_checkpoint_copies_the_wal_back(
    store: Store, dataset: Dataset, tmp_path: Path
) -> None:
    """A user's command never pays for a checkpoint: the bot's job runs them."""
    async with store._db.execute("PRAGMA wal_autocheckpoint") as cursor:
        assert (await cursor.fetchone())[0] == 0
    await store.import_dataset(dataset, now=NOW)
    copied = await store.checkpoint()
    assert copied > 0
    # Everything is in the database file now: a reader that ignores the WAL sees the items.
    with sqlite3.connect(f"file:{tmp_path / 'test.db'}?mode=ro", uri=True) as other:
        _busy, frames, checkpointed = other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert frames == checkpointed
    assert await store.checkpoint() == copied  # nothing new: the same frames, no error


async def test_open_creates_the_parent_folder(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "new" / "folder" / "bot.db")
    try:
        assert (tmp_path / "new" / "folder" / "bot.db").is_file()
        assert await store.item_ids() == ()
    finally:
        await store.close()


async def test_memory_database_works(dataset: Dataset) -> None:
    store = await Store.open(":memory:")
    try:
        await store.import_dataset(dataset, now=NOW)
        assert len(await store.item_ids()) == 5
    finally:
        await store.close()


# -- importing ----------------------------------------------------------------------------


async def test_import_then_get_item_returns_the_records(store: Store, dataset: Dataset) -> None:
    report = await store.import_dataset(dataset, now=NOW)

    assert report == ImportReport(
        added=tuple(record.id for record in dataset.records), updated=(), unchanged=()
    )
    for record in dataset.records:
        item = await store.get_item(record.id)
        assert item is not None
        for name in RECORD_FIELDS:
            assert getattr(item, name) == getattr(record, name), name
        assert record_to_mapping(item) == record_to_mapping(record)
        assert item.added_at == NOW
        assert item.updated_at == NOW
        assert item.added_at.tzinfo is not None
    assert await store.get_item("no-such-item") is None


async def test_importing_the_same_data_twice_changes_nothing(
    loaded: Store, dataset: Dataset
) -> None:
    before = [await loaded.get_item(record_id) for record_id in LATEST_ORDER]

    report = await loaded.import_dataset(dataset, now=LATER)

    assert report == ImportReport(
        added=(), updated=(), unchanged=tuple(record.id for record in dataset.records)
    )
    assert [await loaded.get_item(record_id) for record_id in LATEST_ORDER] == before
    assert (await loaded.summary()).last_updated == NOW


async def test_a_changed_record_is_replaced_and_reindexed(loaded: Store, dataset: Dataset) -> None:
    assert await _ids(loaded, "declaration") == ["5th-adgmin-bangkok-2025"]
    changed = _replace_record(
        dataset,
        "5th-adgmin-bangkok-2025",
        summary="Ministers met and signed the Hanoi Charter.",
        topics=("trade",),
        partners=(),
        people=("Somebody New",),
        sources=("https://example.org/replaced",),
    )

    report = await loaded.import_dataset(changed, now=LATER)

    assert report.updated == ("5th-adgmin-bangkok-2025",)
    assert report.added == ()
    assert len(report.unchanged) == 4
    item = await loaded.get_item("5th-adgmin-bangkok-2025")
    assert item is not None
    assert item.added_at == NOW
    assert item.updated_at == LATER
    assert item.summary == "Ministers met and signed the Hanoi Charter."
    assert item.topics == ("trade",)
    assert item.partners == ()
    assert item.people == ("Somebody New",)
    assert item.sources == ("https://example.org/replaced",)
    # The search index follows: old words are gone, new words are found.
    assert await _ids(loaded, "declaration") == []
    assert await _ids(loaded, "charter") == ["5th-adgmin-bangkok-2025"]
    assert await _ids(loaded, "somebody") == ["5th-adgmin-bangkok-2025"]
    counts = {count.topic.slug: count.items for count in await loaded.topic_counts()}
    assert counts == {"digital-economy": 1, "trade": 4, "ai-governance": 1}
    assert (await loaded.summary()).last_updated == LATER


async def test_a_field_removed_from_a_record_is_removed_from_the_item(
    loaded: Store, dataset: Dataset
) -> None:
    changed = _replace_record(dataset, "rcep-signed-hanoi-2020", outcome=None, location=None)

    report = await loaded.import_dataset(changed, now=LATER)

    assert report.updated == ("rcep-signed-hanoi-2020",)
    item = await loaded.get_item("rcep-signed-hanoi-2020")
    assert item is not None
    assert (item.outcome, item.location) == (None, None)
    assert await _ids(loaded, "ratification") == []


async def test_items_missing_from_a_later_import_are_kept(loaded: Store, dataset: Dataset) -> None:
    report = await loaded.import_dataset(
        dataclasses.replace(dataset, records=dataset.records[:1]), now=LATER
    )

    assert report == ImportReport(added=(), updated=(), unchanged=("rcep-signed-hanoi-2020",))
    assert set(await loaded.item_ids()) == set(LATEST_ORDER)


async def test_a_failed_import_leaves_the_store_unchanged(loaded: Store, dataset: Dataset) -> None:
    topics_before = await loaded.topic_counts()
    summary_before = await loaded.summary()
    bad_record = Record(
        id="new-but-bad",
        kind="event",
        title="Uses a misspelt topic",
        sources=("https://example.org/bad",),
        topics=("digtal-economy",),
        origin="data/records/bad.yaml",
    )
    bad = dataclasses.replace(
        _replace_record(dataset, "rcep-signed-hanoi-2020", title="Changed title"),
        topics=(*dataset.topics, Topic("energy", "Energy", "Power grids.")),
        records=(*dataset.records, bad_record),
    )

    with pytest.raises(DataError) as caught:
        await loaded.import_dataset(bad, now=LATER)

    assert str(caught.value) == (
        'data/records/bad.yaml: record "new-but-bad", field "topics": '
        "unknown topic 'digtal-economy' (did you mean 'digital-economy'?)"
    )
    assert await loaded.topic_counts() == topics_before  # "energy" was rolled back
    assert await loaded.summary() == summary_before
    assert await loaded.get_item("new-but-bad") is None
    rcep = await loaded.get_item("rcep-signed-hanoi-2020")
    assert rcep is not None
    assert rcep.title == "RCEP agreement signed at the 4th RCEP Summit"
    # The store is still usable after the rollback.
    assert (await loaded.import_dataset(dataset, now=LATER)).unchanged == tuple(
        record.id for record in dataset.records
    )


async def test_references_may_come_from_an_earlier_import(loaded: Store, dataset: Dataset) -> None:
    only_records = Dataset(
        records=(
            Record(
                id="later-record",
                kind="event",
                title="Known codes only",
                sources=("https://example.org/later",),
                topics=("trade",),
                countries=("TH",),
                partners=("US",),
            ),
        )
    )

    report = await loaded.import_dataset(only_records, now=LATER)

    assert report.added == ("later-record",)


async def test_renaming_a_topic_updates_the_search_index(loaded: Store, dataset: Dataset) -> None:
    assert await _ids(loaded, "commerce") == []
    renamed = dataclasses.replace(
        dataset,
        topics=tuple(
            dataclasses.replace(topic, name="Commerce") if topic.slug == "trade" else topic
            for topic in dataset.topics
        ),
    )

    report = await loaded.import_dataset(renamed, now=LATER)

    assert report.updated == ()
    assert set(await _ids(loaded, "commerce")) == {
        "aem-retreat-2025",
        "rcep-signed-hanoi-2020",
        "defa-negotiations",
    }
    assert [topic.name for topic in await loaded.topics()] == [
        "Digital economy",
        "Commerce",
        "AI governance",
    ]


async def test_import_needs_an_aware_time(store: Store, dataset: Dataset) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await store.import_dataset(dataset, now=datetime(2026, 1, 1))


async def test_readers_never_see_half_an_import(store: Store, dataset: Dataset) -> None:
    importing = asyncio.create_task(store.import_dataset(dataset, now=NOW))
    seen = []
    for _ in range(20):
        seen.append((await store.summary()).items)
        await asyncio.sleep(0)
    await importing
    seen.append((await store.summary()).items)

    assert set(seen) <= {0, 5}
    assert seen[-1] == 5


# -- reference data -----------------------------------------------------------------------


async def test_reference_data_comes_back_in_file_order_with_counts(loaded: Store) -> None:
    assert [topic.slug for topic in await loaded.topics()] == [
        "digital-economy",
        "trade",
        "ai-governance",
    ]
    topics = await loaded.topics()
    assert topics[1] == Topic(
        "trade",
        "Trade",
        "Free trade agreements and economic integration.",
        ("trade", "tariff", "RCEP"),
    )
    assert [(c.topic.slug, c.items) for c in await loaded.topic_counts()] == [
        ("digital-economy", 2),
        ("trade", 3),
        ("ai-governance", 2),
    ]
    assert [(c.country.code, c.items) for c in await loaded.country_counts()] == [
        ("ASEAN", 5),
        ("TH", 1),
        ("VN", 1),
        ("SG", 1),
    ]
    countries = await loaded.countries()
    assert countries[1].aliases == ("Thai", "Bangkok")
    assert countries[3].aliases == ()
    partners = await loaded.partners()
    assert [partner.code for partner in partners] == ["US", "JP", "CN"]
    assert partners[0].aliases == ("U.S.", "USA", "Washington")
    assert await loaded.reference_codes() == (
        {"digital-economy", "trade", "ai-governance"},
        {"ASEAN", "TH", "VN", "SG"},
        {"US", "JP", "CN"},
    )


async def test_an_empty_store_has_no_reference_data(store: Store) -> None:
    assert await store.topics() == ()
    assert await store.country_counts() == ()
    assert await store.partners() == ()
    assert await store.reference_codes() == (set(), set(), set())


# -- listing ------------------------------------------------------------------------------


async def test_latest_items_are_newest_first_with_undated_last(loaded: Store) -> None:
    assert [item.id for item in await loaded.latest_items(10)] == LATEST_ORDER
    assert [item.id for item in await loaded.latest_items(2)] == LATEST_ORDER[:2]
    assert await loaded.latest_items(0) == ()


async def test_items_on_the_same_date_put_the_latest_change_first(
    loaded: Store, dataset: Dataset
) -> None:
    same_day = _replace_record(dataset, "rcep-signed-hanoi-2020", date=date(2025, 2, 28))
    await loaded.import_dataset(same_day, now=LATER)

    ids = [item.id for item in await loaded.latest_items(2)]

    assert ids == ["rcep-signed-hanoi-2020", "aem-retreat-2025"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (ItemQuery(), LATEST_ORDER),
        (
            ItemQuery(kind="event"),
            ["aem-retreat-2025", "5th-adgmin-bangkok-2025", "rcep-signed-hanoi-2020"],
        ),
        (ItemQuery(kind="initiative"), ["asean-ai-guide-2024", "defa-negotiations"]),
        (
            ItemQuery(topic="trade"),
            ["aem-retreat-2025", "rcep-signed-hanoi-2020", "defa-negotiations"],
        ),
        (ItemQuery(topic="ai-governance"), ["5th-adgmin-bangkok-2025", "asean-ai-guide-2024"]),
        (ItemQuery(country="ASEAN"), LATEST_ORDER),
        (ItemQuery(country="TH"), ["5th-adgmin-bangkok-2025"]),
        (ItemQuery(partner="US"), ["aem-retreat-2025", "5th-adgmin-bangkok-2025"]),
        (ItemQuery(partner="JP"), ["5th-adgmin-bangkok-2025", "rcep-signed-hanoi-2020"]),
        (ItemQuery(year=2025), ["aem-retreat-2025", "5th-adgmin-bangkok-2025"]),
        (ItemQuery(year=2020), ["rcep-signed-hanoi-2020"]),
        (ItemQuery(year=2023), []),
        (ItemQuery(kind="event", topic="trade"), ["aem-retreat-2025", "rcep-signed-hanoi-2020"]),
        (ItemQuery(topic="trade", partner="US", year=2025), ["aem-retreat-2025"]),
        (ItemQuery(kind="initiative", topic="digital-economy"), ["defa-negotiations"]),
        (ItemQuery(country="SG", partner="US"), []),
        (ItemQuery(topic="no-such-topic"), []),
    ],
)
async def test_query_items_filters(loaded: Store, query: ItemQuery, expected: list[str]) -> None:
    page = await loaded.query_items(query, offset=0, limit=10)

    assert [item.id for item in page.items] == expected
    assert page.total == len(expected)
    assert (page.offset, page.limit) == (0, 10)


async def test_query_items_pages_keep_the_total(loaded: Store) -> None:
    pages = [
        await loaded.query_items(ItemQuery(), offset=offset, limit=2) for offset in (0, 2, 4, 6)
    ]

    assert [[item.id for item in page.items] for page in pages] == [
        LATEST_ORDER[0:2],
        LATEST_ORDER[2:4],
        LATEST_ORDER[4:5],
        [],
    ]
    assert [page.total for page in pages] == [5, 5, 5, 5]
    assert [page.offset for page in pages] == [0, 2, 4, 6]


async def test_a_year_filter_matches_every_year_an_item_spans(
    loaded: Store, dataset: Dataset
) -> None:
    spanning = _replace_record(
        dataset, "asean-ai-guide-2024", date=date(2024, 12, 30), end_date=date(2025, 1, 2)
    )
    await loaded.import_dataset(spanning, now=LATER)

    in_2024 = await loaded.query_items(ItemQuery(year=2024), offset=0, limit=10)
    in_2025 = await loaded.query_items(ItemQuery(year=2025), offset=0, limit=10)

    assert [item.id for item in in_2024.items] == ["asean-ai-guide-2024"]
    assert "asean-ai-guide-2024" in [item.id for item in in_2025.items]
    assert in_2025.total == 3


@pytest.mark.parametrize(
    ("item_id", "expected"),
    [
        # trade (2) for the retreat and DEFA, the dated retreat first; JP (1) for ADGMIN.
        (
            "rcep-signed-hanoi-2020",
            ["aem-retreat-2025", "defa-negotiations", "5th-adgmin-bangkok-2025"],
        ),
        # Only ADGMIN shares ai-governance; sharing ASEAN alone does not count.
        ("asean-ai-guide-2024", ["5th-adgmin-bangkok-2025"]),
        # Two topic matches (2 each, dated before undated), then partner matches (1 each,
        # the retreat nearer in date than RCEP).
        (
            "5th-adgmin-bangkok-2025",
            ["asean-ai-guide-2024", "defa-negotiations", "aem-retreat-2025"],
        ),
    ],
)
async def test_related_items_rank_by_shared_tags(
    loaded: Store, item_id: str, expected: list[str]
) -> None:
    item = await loaded.get_item(item_id)
    assert item is not None

    assert [related.id for related in await loaded.related_items(item)] == expected


async def test_related_items_tie_goes_to_the_nearest_in_date(
    store: Store, dataset: Dataset
) -> None:
    # RCEP (2020), the retreat (2025) and DEFA (undated) all share trade with the guide.
    moved = _replace_record(
        dataset, "asean-ai-guide-2024", date=date(2021, 6, 1), topics=("trade",)
    )
    await store.import_dataset(moved, now=NOW)
    item = await store.get_item("asean-ai-guide-2024")
    assert item is not None

    assert [related.id for related in await store.related_items(item)] == [
        "rcep-signed-hanoi-2020",
        "aem-retreat-2025",
        "defa-negotiations",
    ]


async def test_related_items_come_only_from_the_nearest_in_date(
    loaded: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "RELATED_DATED", 2)
    monkeypatch.setattr(store_module, "RELATED_UNDATED", 0)
    item = await loaded.get_item("rcep-signed-hanoi-2020")
    assert item is not None

    # The two dated items nearest 2020 are the AI guide (shares nothing) and ADGMIN (JP);
    # the retreat, which shares trade, is further away, and DEFA is undated.
    assert [related.id for related in await loaded.related_items(item)] == [
        "5th-adgmin-bangkok-2025"
    ]


async def test_an_undated_item_is_related_to_the_newest_items(
    loaded: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "RELATED_DATED", 2)
    item = await loaded.get_item("defa-negotiations")
    assert item is not None

    # Trade and digital-economy (2 each) with the two newest; RCEP shares trade but is older.
    assert [related.id for related in await loaded.related_items(item)] == [
        "aem-retreat-2025",
        "5th-adgmin-bangkok-2025",
    ]


async def test_related_items_respect_the_limit(loaded: Store) -> None:
    item = await loaded.get_item("5th-adgmin-bangkok-2025")
    assert item is not None

    assert [r.id for r in await loaded.related_items(item, limit=1)] == ["asean-ai-guide-2024"]
    assert len(await loaded.related_items(item, limit=10)) == 4


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("rcep-signed", "rcep-signed-hanoi-2020"),
        ("rcep-signed-hanoi-202", "rcep-signed-hanoi-2020"),
        ("5th-adgmin-bangkok", "5th-adgmin-bangkok-2025"),
        ("aem_retreat 2025", "aem-retreat-2025"),
        ("defa-negotiation", "defa-negotiations"),
        ("Economic Ministers", "aem-retreat-2025"),  # title words
    ],
)
async def test_suggest_ids_finds_the_closest(loaded: Store, text: str, first: str) -> None:
    suggestions = await loaded.suggest_ids(text)

    assert suggestions[0] == first
    assert len(suggestions) <= 3
    assert len(set(suggestions)) == len(suggestions)


@pytest.mark.parametrize(
    "text", ["", "   ", "🎉", "\x00", "x" * 4000, "!!!", "'; DROP TABLE items"]
)
async def test_suggest_ids_never_raises(loaded: Store, text: str) -> None:
    suggestions = await loaded.suggest_ids(text)

    assert set(suggestions) <= set(LATEST_ORDER)


async def test_suggest_ids_respects_the_limit(loaded: Store) -> None:
    assert len(await loaded.suggest_ids("asean", limit=1)) <= 1
    assert await loaded.suggest_ids("rcep", limit=0) == ()


async def test_summary_counts_items_and_distinct_sources(loaded: Store, store: Store) -> None:
    assert await loaded.summary() == StoreSummary(
        items=5, events=3, initiatives=2, sources=6, last_updated=NOW
    )


async def test_summary_of_an_empty_store(store: Store) -> None:
    assert await store.summary() == StoreSummary(
        items=0, events=0, initiatives=0, sources=0, last_updated=None
    )


async def test_item_ids_are_sorted(loaded: Store) -> None:
    assert await loaded.item_ids() == tuple(sorted(LATEST_ORDER))


async def test_meta_values_are_stored_and_replaced(store: Store) -> None:
    assert await store.get_meta("fingerprint") is None
    await store.set_meta("fingerprint", "abc")
    await store.set_meta("other", "x")
    await store.set_meta("fingerprint", "def")

    assert await store.get_meta("fingerprint") == "def"
    assert await store.get_meta("other") == "x"


# -- searching ----------------------------------------------------------------------------


async def test_search_needs_every_word(loaded: Store) -> None:
    result = await loaded.search_items("bangkok declaration")

    assert [hit.item.id for hit in result.hits] == ["5th-adgmin-bangkok-2025"]
    assert result.total == 1
    assert result.terms == ("bangkok", "declaration")
    assert result.any_word is False
    hit = result.hits[0]
    assert hit.title_marked == "5th ASEAN Digital Ministers' Meeting (ADGMIN)"
    assert f"{HIGHLIGHT_START}Bangkok{HIGHLIGHT_END} Digital" in hit.snippet_marked
    assert f"{HIGHLIGHT_START}Declaration{HIGHLIGHT_END}" in hit.snippet_marked


async def test_search_ranks_title_matches_first(loaded: Store) -> None:
    result = await loaded.search_items("digital economy")

    assert [hit.item.id for hit in result.hits] == ["defa-negotiations", "5th-adgmin-bangkok-2025"]
    assert result.hits[0].title_marked == (
        f"ASEAN {HIGHLIGHT_START}Digital{HIGHLIGHT_END} "
        f"{HIGHLIGHT_START}Economy{HIGHLIGHT_END} Framework Agreement negotiations"
    )


async def test_search_falls_back_to_any_word(loaded: Store) -> None:
    result = await loaded.search_items("hanoi xyzzy")

    assert [hit.item.id for hit in result.hits] == ["rcep-signed-hanoi-2020"]
    assert result.any_word is True
    assert result.total == 1


async def test_search_with_one_unknown_word_finds_nothing(loaded: Store) -> None:
    result = await loaded.search_items("xyzzy")

    assert result.hits == ()
    assert result.total == 0
    assert result.terms == ("xyzzy",)
    assert result.any_word is False


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bangk", {"5th-adgmin-bangkok-2025"}),  # the last word as a prefix, while typing
        ("signing", {"rcep-signed-hanoi-2020"}),  # stemming
        ("cafe", {"defa-negotiations"}),  # "café" without its accent
        ("NGUYEN", {"rcep-signed-hanoi-2020"}),  # people are indexed
        ("singapore", {"asean-ai-guide-2024"}),  # country names are indexed
        ("japan", {"5th-adgmin-bangkok-2025", "rcep-signed-hanoi-2020"}),  # partner names
        ("AI governance", {"5th-adgmin-bangkok-2025", "asean-ai-guide-2024"}),  # topic names
        ("virtual", {"rcep-signed-hanoi-2020"}),  # location
        ("ratification", {"rcep-signed-hanoi-2020"}),  # outcome
        ("pact", {"rcep-signed-hanoi-2020"}),  # key_focus
    ],
)
async def test_search_covers_every_indexed_field(
    loaded: Store, text: str, expected: set[str]
) -> None:
    assert set(await _ids(loaded, text)) == expected


async def test_a_whole_word_is_searched_before_words_it_starts(
    store: Store, dataset: Dataset
) -> None:
    dataset = _replace_record(dataset, "defa-negotiations", summary="Talks on xylophones.")
    dataset = _replace_record(
        dataset, "aem-retreat-2025", summary="The xylo group played xylophones."
    )
    await store.import_dataset(dataset, now=NOW)

    whole = await store.search_items("xylo")
    typing = await store.search_items("xylop")

    assert [hit.item.id for hit in whole.hits] == ["aem-retreat-2025"]
    # Highlighted with what matched: the whole word only, not the longer word.
    assert whole.hits[0].snippet_marked.startswith(
        f"The {HIGHLIGHT_START}xylo{HIGHLIGHT_END} group played xylophones."
    )
    assert {hit.item.id for hit in typing.hits} == {"aem-retreat-2025", "defa-negotiations"}
    assert f"{HIGHLIGHT_START}xylophones{HIGHLIGHT_END}" in typing.hits[0].snippet_marked


async def test_many_matches_are_capped_and_shown_newest_first(
    loaded: Store, dataset: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "SEARCH_CANDIDATES", 2)
    # A changed item is indexed again, so it becomes the most recently stored.
    guide = _replace_record(dataset, "asean-ai-guide-2024", summary="A revised ASEAN guide.")
    await loaded.import_dataset(guide, now=LATER)
    defa = _replace_record(guide, "defa-negotiations", summary="Revised ASEAN DEFA talks.")
    await loaded.import_dataset(defa, now=LATER + timedelta(hours=1))

    # Every sample record names ASEAN: five match, counting stops at two.
    pages = [await loaded.search_items("asean", limit=1, offset=n) for n in range(3)]

    assert [(page.total, page.capped) for page in pages] == [(2, True)] * 3
    assert [[hit.item.id for hit in page.hits] for page in pages] == [
        ["defa-negotiations"],
        ["asean-ai-guide-2024"],
        [],  # only the first SEARCH_CANDIDATES can be paged through
    ]
    assert f"{HIGHLIGHT_START}ASEAN{HIGHLIGHT_END}" in pages[0].hits[0].snippet_marked


async def test_fewer_matches_than_the_cap_are_ranked_not_capped(
    loaded: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "SEARCH_CANDIDATES", 3)

    result = await loaded.search_items("digital economy")

    assert (result.total, result.capped) == (2, False)
    assert [hit.item.id for hit in result.hits] == ["defa-negotiations", "5th-adgmin-bangkok-2025"]


async def test_search_pages_keep_the_total(loaded: Store) -> None:
    everything = await loaded.search_items("asean", limit=50)
    first = await loaded.search_items("asean", limit=2)
    second = await loaded.search_items("asean", limit=2, offset=2)

    assert everything.total == 5
    assert first.total == second.total == 5
    assert not everything.capped
    paged = [hit.item.id for hit in (*first.hits, *second.hits)]
    assert paged == [hit.item.id for hit in everything.hits][:4]


async def test_search_without_words_is_empty(loaded: Store) -> None:
    result = await loaded.search_items(" ?! ")

    assert (result.hits, result.total, result.terms, result.any_word) == ((), 0, (), False)


async def test_highlight_markers_in_data_cannot_reach_search_results(
    store: Store, dataset: Dataset
) -> None:
    marked = _replace_record(
        dataset,
        "defa-negotiations",
        title=f"DEFA {HIGHLIGHT_END}talks{HIGHLIGHT_START}",
        summary=f"{HIGHLIGHT_START}Fake{HIGHLIGHT_END} highlight around xylophones",
    )
    await store.import_dataset(marked, now=NOW)

    hit = (await store.search_items("xylophones")).hits[0]

    assert hit.title_marked == "DEFA talks"
    assert hit.snippet_marked.startswith(
        f"Fake highlight around {HIGHLIGHT_START}xylophones{HIGHLIGHT_END}"
    )


NASTY_INPUTS = [
    '"',
    '""',
    "'",
    '"unbalanced',
    "AND",
    "OR",
    "NOT",
    "a AND",
    "OR b",
    "NOT NOT",
    "NEAR(",
    "NEAR(asean digital, 3)",
    "*",
    "asean*",
    "^asean",
    "title:asean",
    "body:",
    ":",
    "{title body}: asean",
    "(",
    ")",
    "()",
    "- asean",
    "+asean",
    "\\",
    "'; DROP TABLE items; --",
    "' OR 1=1 --",
    "🎉🇹🇭",
    "asean 🎉",
    "\x00",
    "asean\x00digital",
    "\ue000asean\ue001",
    "x" * 4000,
    "asean " * 800,
    " ".join(["digital"] * 40),
    "ℌ𝔢𝔩𝔩𝔬 ＡＳＥＡＮ",
    "ASEAN_",
    "_",
]


@pytest.mark.parametrize("text", NASTY_INPUTS)
async def test_search_never_raises_on_nasty_input(loaded: Store, text: str) -> None:
    result = await loaded.search_items(text)

    assert result.terms == search_terms(text)
    assert result.total >= len(result.hits)
    assert len(result.hits) <= 5


async def test_search_finds_asean_inside_operator_noise(loaded: Store) -> None:
    for text in ("NEAR(asean", '"asean', "asean*", "title:asean", "{asean}"):
        assert (await loaded.search_items(text, limit=50)).total == 5, text


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # the test only reads
)
@given(text=st.text(max_size=200) | st.text(alphabet='"*^:()-+ ANDORTNEa\x00', max_size=40))
async def test_search_never_raises_for_any_text(loaded: Store, text: str) -> None:
    result = await loaded.search_items(text)

    assert result.terms == search_terms(text)
    assert result.total >= len(result.hits)
    assert not result.any_word or len(result.terms) >= 2
    for hit in result.hits:
        assert _unmarked(hit.title_marked) == hit.item.title


# -- the real data ------------------------------------------------------------------------


def _real_data_is_complete() -> bool:
    needed = ("topics.yaml", "countries.yaml", "partners.yaml")
    return all((REAL_DATA / name).is_file() for name in needed) and any(
        (REAL_DATA / "records").glob("*.yaml")
    )


@pytest.mark.skipif(not _real_data_is_complete(), reason="data/ is not complete yet")
async def test_the_real_data_imports_and_is_searchable(store: Store) -> None:
    dataset = read_dataset(REAL_DATA)

    report = await store.import_dataset(dataset, now=NOW)

    assert len(report.added) == len(dataset.records)
    summary = await store.summary()
    assert summary.items == len(dataset.records)
    assert summary.events + summary.initiatives == summary.items
    assert "rcep-signed-hanoi-2020" in await _ids(store, "RCEP signed")
    assert (await store.suggest_ids("rcep-signed"))[0] == "rcep-signed-hanoi-2020"
    again = await store.import_dataset(dataset, now=LATER)
    assert len(again.unchanged) == len(dataset.records)
