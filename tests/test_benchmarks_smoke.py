"""The benchmarks' own code runs: a tiny synthetic store, timed through the real Application."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from aseanbot.store import Store
from aseanbot.store.timestamps import format_time
from benchmarks import percentile
from benchmarks.latency import latency_figures, measure_commands
from benchmarks.synthetic import DATA_DIR, create_store, item_id


def _data_files_state() -> dict[Path, float]:
    return {path: path.stat().st_mtime for path in DATA_DIR.rglob("*") if path.is_file()}


async def test_a_tiny_synthetic_store_is_timed_through_the_real_commands(tmp_path: Path) -> None:
    """Synthetic items are marked, searchable and answered by /latest, /search and /event."""
    data_before = _data_files_state()
    synthetic = await create_store(tmp_path / "bench.db", items=40, subscriptions=12, profiles=4)

    store = await Store.open(synthetic.path)
    try:
        ids = await store.item_ids()
        first = await store.get_item(item_id(0))
        found = await store.search_items("synthetic")
    finally:
        await store.close()
    with sqlite3.connect(synthetic.path) as connection:
        due, profiles = connection.execute(
            "SELECT count(*), count(DISTINCT topics || ' ' || countries) FROM subscriptions "
            "WHERE active = 1 AND next_due_at <= ?",
            (format_time(synthetic.now),),
        ).fetchone()
    assert len(ids) == 40
    assert all(identifier.startswith("synthetic-") for identifier in ids)
    assert first is not None
    assert first.title.startswith("Synthetic")
    assert found.total == 40
    assert due == 12
    assert profiles == 4

    targets = await measure_commands(synthetic, runs=3, budget=5.0, warmup=1)
    assert [target.label for target in targets] == [
        "echo (baseline)",
        "/latest",
        "/search",
        "/event",
    ]
    assert all(len(target.samples) == 3 for target in targets)
    assert all(not target.errors for target in targets)
    assert all(0 < sample < 5 for target in targets for sample in target.samples)
    # The last reply was an /event card: a synthetic item's.
    assert "Synthetic" in targets[-1].api.last_text
    figures = latency_figures(targets)
    assert figures[0].value == percentile(targets[0].samples, 0.5) * 1000
    assert sum(figure.met is not None for figure in figures) == 3
    assert _data_files_state() == data_before
