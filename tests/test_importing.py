"""Start-up sync: data/ is imported when its content changed, and skipped when it did not."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aseanbot.importing import sync_data_dir
from aseanbot.store import Store

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


async def test_data_is_imported_once_then_again_only_after_a_change(
    store: Store, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATA_DIR, data)

    first = await sync_data_dir(store, data, now=NOW)
    assert first is not None
    assert len(first.added) == 49

    assert await sync_data_dir(store, data, now=NOW + timedelta(hours=1)) is None

    facts = data / "records" / "asean-facts.yaml"
    facts.write_text(
        facts.read_text(encoding="utf-8").replace(
            "title: RCEP enters into force", "title: RCEP enters into force for ten parties"
        ),
        encoding="utf-8",
    )
    later = NOW + timedelta(hours=2)
    changed = await sync_data_dir(store, data, now=later)
    assert changed is not None
    assert changed.updated == ("rcep-entry-into-force-2022",)
    item = await store.get_item("rcep-entry-into-force-2022")
    assert item is not None
    assert item.title == "RCEP enters into force for ten parties"
    assert item.updated_at == later
    assert item.added_at == NOW
