"""Export: every item as records that import reads back to the same items, byte for byte."""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from aseanbot.export import EXPORT_FORMATS, dump_records, export_items, format_for_path
from aseanbot.importing import import_path
from aseanbot.loader import RECORD_FIELDS, read_dataset, record_to_mapping
from aseanbot.models import Item, Record
from aseanbot.store import Store
from aseanbot.store.feeds import FeedItem
from tests.conftest import (
    SAMPLE_COUNTRIES_YAML,
    SAMPLE_PARTNERS_YAML,
    SAMPLE_TOPICS_YAML,
    write_data_folder,
)
from tests.test_cli import environment, run

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT / "data"
NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
REFERENCE_FILES = {
    "topics.yaml": SAMPLE_TOPICS_YAML,
    "countries.yaml": SAMPLE_COUNTRIES_YAML,
    "partners.yaml": SAMPLE_PARTNERS_YAML,
}

# A feed story with text that YAML and JSON must carry exactly: quotes, a colon, a hash,
# words YAML would read as booleans or dates, non-Latin script, an emoji, a line break.
FEED_RECORD = Record(
    id="feed-asean-ai-talks-1a2b3c4d",
    kind="update",
    title='Ministers: "yes" to AI talks # 2025-01-01',
    sources=("https://example.org/news/ai-talks?id=1",),
    topics=("ai-governance",),
    countries=("TH", "VN"),
    date=datetime(2026, 2, 27).date(),
    summary=(
        "no\nA second line with ‘curly’ quotes, Tiếng Việt, ภาษาไทย and 🤖 — "
        + "long enough to be folded by YAML at eighty columns, " * 3
    ).strip(),
)


def fields(item: Item) -> dict[str, object]:
    """An item's record fields (not its timestamps)."""
    return {name: getattr(item, name) for name in RECORD_FIELDS}


async def seed(store: Store, data_dir: Path) -> None:
    """The sample data folder, plus one feed item (kind "update", origin a feed)."""
    await import_path(store, data_dir, now=NOW)
    link = FEED_RECORD.sources[0]
    await store.feeds.store_items(
        "example-news",
        [FeedItem(record=FEED_RECORD, keys=(f"url:{link}",), link=link)],
        now=NOW + timedelta(hours=1),
    )


@pytest.mark.parametrize("export_format", ["yaml", "json"])
async def test_export_then_import_into_a_fresh_database_exports_the_same_text(
    store: Store, dataset_dir: Path, tmp_path: Path, export_format: str
) -> None:
    await seed(store, dataset_dir)
    items = await export_items(store)
    first = dump_records(items, export_format)

    exported = tmp_path / f"export.{export_format}"
    exported.write_text(first, encoding="utf-8")
    fresh = await Store.open(tmp_path / "fresh.db")
    try:
        # Records name topics and countries: the fresh database gets the reference data first.
        await import_path(
            fresh, write_data_folder(tmp_path / "reference", REFERENCE_FILES), now=NOW
        )
        report = await import_path(fresh, exported, now=NOW + timedelta(days=1))
        again = await export_items(fresh)
    finally:
        await fresh.close()

    assert len(report.added) == 6
    assert dump_records(again, export_format) == first
    assert [fields(item) for item in again] == [fields(item) for item in items]


@pytest.mark.parametrize("export_format", ["yaml", "json"])
async def test_the_export_is_a_records_document_with_every_item_sorted_by_id(
    store: Store, dataset_dir: Path, export_format: str
) -> None:
    await seed(store, dataset_dir)
    text = dump_records(await export_items(store), export_format)
    document = json.loads(text) if export_format == "json" else yaml.safe_load(text)

    assert list(document) == ["records"]
    records = document["records"]
    ids = [record["id"] for record in records]
    assert ids == sorted(ids)
    assert len(ids) == 6
    feed = next(record for record in records if record["kind"] == "update")
    assert feed == record_to_mapping(FEED_RECORD)
    assert list(feed) == [name for name in RECORD_FIELDS if name in feed]  # the files' order
    assert "🤖" in text  # written as is, not as an escape


async def test_the_shipped_data_survives_a_yaml_round_trip(store: Store, tmp_path: Path) -> None:
    await import_path(store, DATA_DIR, now=NOW)
    text = dump_records(await export_items(store), "yaml")
    exported = tmp_path / "export.yaml"
    exported.write_text(text, encoding="utf-8")

    records = read_dataset(exported).records
    shipped = sorted(read_dataset(DATA_DIR).records, key=lambda record: record.id)
    assert records == tuple(shipped)


# Any text a record may hold: stripped and not empty, as the loader leaves it.
RECORD_TEXT = (
    st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=60)
    .map(str.strip)
    .filter(bool)
)


@settings(max_examples=200, deadline=None)
@given(title=RECORD_TEXT, summary=RECORD_TEXT, export_format=st.sampled_from(EXPORT_FORMATS))
def test_any_text_reads_back_exactly(title: str, summary: str, export_format: str) -> None:
    """Controls, NEL and U+2028, quotes, YAML keywords: import reads what export wrote."""
    record = Record(
        id="any-text",
        kind="update",
        title=title,
        summary=summary,
        sources=("https://example.org/any",),
        topics=("trade",),
    )
    with tempfile.TemporaryDirectory() as folder:
        exported = Path(folder) / f"export.{export_format}"
        exported.write_text(dump_records([record], export_format), encoding="utf-8")
        assert read_dataset(exported).records == (record,)


async def test_export_on_the_command_line_writes_the_records_to_stdout(
    tmp_path: Path, dataset_dir: Path
) -> None:
    database = tmp_path / "cli.db"
    store = await Store.open(database)
    try:
        await seed(store, dataset_dir)
        items = await export_items(store)
    finally:
        await store.close()
    env = environment(tmp_path, ASEANBOT_DB_PATH=str(database))
    code, out, err = await run(tmp_path, str(ROOT / "bot.py"), "export", env=env)
    assert code == 0, err
    assert out == dump_records(items, "yaml")

    code, out, err = await run(tmp_path, str(ROOT / "bot.py"), "export", "items.json", env=env)
    assert code == 0, err
    assert out == "Exported 6 items to items.json (json)\n"
    written = (tmp_path / "items.json").read_text(encoding="utf-8")
    assert written == dump_records(items, "json")


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="yaml, json"):
        dump_records([], "xml")


@pytest.mark.parametrize(
    ("path", "expected"),
    [("out.json", "json"), ("OUT.JSON", "json"), ("out.yaml", "yaml"), ("records", "yaml")],
)
def test_the_file_name_picks_the_format(path: str, expected: str) -> None:
    assert format_for_path(path) == expected
