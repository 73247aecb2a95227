"""Benchmark: Store.search_items latency at 10k, 100k and 1M synthetic items.

For each size a synthetic store is made (benchmarks.synthetic) and reopened with Store.open;
a fixed list of realistic queries is run in rounds until the size's time budget is spent.
Baseline: a plain indexed ``SELECT id, title FROM items WHERE id = ?`` on the same file over
its own aiosqlite connection, timed alternately with the searches (same load, same thread hop).

Run alone: ``python -m benchmarks --only search``.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import aiosqlite

from aseanbot.store import Store
from benchmarks import BenchmarkResult, Figure, load_average, percentile
from benchmarks.synthetic import create_store, item_id

# What people look for in an ASEAN bot: topics, places, agreements, a prefix being typed,
# words that never occur together (the any-word fallback), and the bloc's own name.
QUERIES = (
    "digital economy",
    "cybersecurity",
    "RCEP",
    "AI governance",
    "Singapore",
    "data protection",
    "online scams",
    "submarine cable",
    "Thailand trade",
    "5G connectivity",
    "climate change agreement",
    "cyber",
    "ransomware attack hospital",
    "asean",
)
# Aims for p95 by store size (items); sizes without one are reported for the growth.
AIMS_MS = {100_000: 5.0, 1_000_000: 25.0}
MIN_ROUNDS = 2


async def measure_size(path: Path, *, budget: float) -> dict[str, Any]:
    """Time every query in rounds for `budget` seconds (at least MIN_ROUNDS rounds).

    Returns the search and baseline samples (seconds) and, per query, its samples and
    match count.
    """
    store = await Store.open(path)
    plain = await aiosqlite.connect(path)
    try:
        async with plain.execute("SELECT count(*) FROM items") as cursor:
            row = await cursor.fetchone()
        count = int(row[0]) if row else 0
        chooser = random.Random(count)
        per_query: dict[str, list[float]] = defaultdict(list)
        totals: dict[str, int] = {}
        baseline: list[float] = []
        # Warm the page cache and SQLite's statement cache: the bot runs warm.
        for query in QUERIES:
            totals[query] = (await store.search_items(query)).total
        started = time.perf_counter()
        rounds = 0
        while rounds < MIN_ROUNDS or time.perf_counter() - started < budget:
            rounds += 1
            for query in QUERIES:
                began = time.perf_counter()
                await store.search_items(query)
                per_query[query].append(time.perf_counter() - began)
                wanted = item_id(chooser.randrange(max(1, count)))
                began = time.perf_counter()
                async with plain.execute(
                    "SELECT id, title FROM items WHERE id = ?", (wanted,)
                ) as cursor:
                    await cursor.fetchone()
                baseline.append(time.perf_counter() - began)
    finally:
        await plain.close()
        await store.close()
    return {
        "items": count,
        "rounds": rounds,
        "search": [s for samples in per_query.values() for s in samples],
        "baseline": baseline,
        "per_query": per_query,
        "totals": totals,
    }


def size_figures(size: int, measured: dict[str, Any]) -> list[Figure]:
    """p50 and p95 of the searches at one size, against the id lookup's."""
    search_ms = [s * 1000 for s in measured["search"]]
    baseline_ms = [s * 1000 for s in measured["baseline"]]
    label = f"{size:,} items"
    p95 = percentile(search_ms, 0.95)
    aim = AIMS_MS.get(size)
    return [
        Figure(
            f"search p50 @ {label}",
            percentile(search_ms, 0.50),
            "ms",
            "id lookup p50",
            percentile(baseline_ms, 0.50),
        ),
        Figure(
            f"search p95 @ {label}",
            p95,
            "ms",
            "id lookup p95",
            percentile(baseline_ms, 0.95),
            aim=f"≤ {aim:g} ms" if aim is not None else "",
            met=None if aim is None else p95 <= aim,
        ),
    ]


async def run(*, quick: bool) -> BenchmarkResult:
    """Run the search benchmark at 10k, 100k and 1M items (quick: 2k and 10k)."""
    sizes = {2_000: 3.0, 10_000: 3.0} if quick else {10_000: 20.0, 100_000: 40.0, 1_000_000: 90.0}
    load_before = load_average()
    started = time.perf_counter()
    figures: list[Figure] = []
    details: dict[str, Any] = {"queries": list(QUERIES), "sizes": {}}
    for size, budget in sizes.items():
        with tempfile.TemporaryDirectory(prefix="aseanbot-bench-") as folder:
            synthetic = await create_store(Path(folder) / "search.db", items=size)
            measured = await measure_size(synthetic.path, budget=budget)
        figures.extend(size_figures(size, measured))
        details["sizes"][str(size)] = {
            "generated_in_s": round(synthetic.seconds, 1),
            "rounds": measured["rounds"],
            "per_query": {
                query: {
                    "matches": measured["totals"][query],
                    "p50_ms": round(percentile(samples, 0.5) * 1000, 3),
                    "max_ms": round(max(samples) * 1000, 3),
                }
                for query, samples in measured["per_query"].items()
            },
        }
    return BenchmarkResult(
        name="search",
        title="Store.search_items latency by store size",
        figures=tuple(figures),
        seconds=time.perf_counter() - started,
        load=(load_before, load_average()),
        notes=(
            f"{len(QUERIES)} fixed queries per round (see details.per_query for each one's "
            "matches and p50); searches and id lookups alternate",
        ),
        details=details,
    )
