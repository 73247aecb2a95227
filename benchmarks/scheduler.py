"""Benchmark: one scheduler pass for many due subscriptions, without sending.

A synthetic store with 100k items gets N due subscriptions spread over 1k distinct profiles
(followed topics and countries). One pass is timed in two parts, as DigestSender runs them:
finding what is due (`DigestSender._due_runs`: the due subscriptions grouped by schedule, each
schedule's period worked out once; nothing is written per chat) and building
(`DigestSender._prepared_pages`: the digests owed read page by page, light columns only, with
every distinct profile rendered once).
Nothing is sent: the bot answers in process and is never called. Sizes 10k, 30k and 100k show
how the pass grows. Baseline: a bare ``SELECT count(*) FROM subscriptions`` over its own
aiosqlite connection on the same file, at each size.

Run alone: ``python -m benchmarks --only scheduler``.
"""

from __future__ import annotations

import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import aiosqlite
from telegram.ext import ExtBot

from aseanbot.catalog import Catalog
from aseanbot.console import CONSOLE_TOKEN, ConsoleBotApi
from aseanbot.delivery.digests import DigestSender, PassReport
from aseanbot.store import Store
from benchmarks import BenchmarkResult, Figure, load_average
from benchmarks.synthetic import SyntheticStore, create_store, with_subscriptions

AIM_SECONDS = 1.0
BASELINE_REPEATS = 5


def _discard(_: str) -> None:
    """Write nothing: no message is sent in this benchmark."""


async def _count_scan(path: Path) -> float:
    """Return the median time of a bare count(*) over subscriptions (seconds)."""
    async with aiosqlite.connect(path) as plain:
        times = []
        for _ in range(BASELINE_REPEATS):
            began = time.perf_counter()
            async with plain.execute("SELECT count(*) FROM subscriptions") as cursor:
                await cursor.fetchone()
            times.append(time.perf_counter() - began)
    return statistics.median(times)


async def measure_pass(synthetic: SyntheticStore) -> dict[str, Any]:
    """Time finding what is due and building every digest owed; return seconds and counts."""
    baseline = await _count_scan(synthetic.path)
    store = await Store.open(synthetic.path)
    try:
        catalog = Catalog(
            topics=await store.topics(),
            countries=await store.countries(),
            partners=await store.partners(),
        )
        # Never called: building does not send. A real ExtBot, so DigestSender gets its type.
        bot: ExtBot[Any] = ExtBot(CONSOLE_TOKEN, request=ConsoleBotApi(write=_discard))
        sender = DigestSender(
            bot, store, catalog=lambda: catalog, clock=lambda: dt.datetime.now(dt.UTC)
        )
        report = PassReport()
        began = time.perf_counter()
        runs = await sender._due_runs(report)
        found = time.perf_counter()
        pending = messages = 0
        async for page in sender._prepared_pages(runs, report):
            pending += len(page.digests)
            messages += sum(len(page.parts(digest)) for digest in page.digests)
        finished = time.perf_counter()
    finally:
        await store.close()
    return {
        "subscriptions": synthetic.subscriptions,
        "find_s": found - began,
        "build_s": finished - found,
        "pass_s": finished - began,
        "due": report.due,
        "skipped": report.skipped,
        "pending": pending,
        "profiles_built": report.profiles_built,
        "messages": messages,
        "count_scan_s": baseline,
    }


def pass_figures(results: list[dict[str, Any]], *, aim_size: int) -> list[Figure]:
    """Claim, build and whole-pass times per size, and the growth from smallest to largest."""
    figures: list[Figure] = []
    for r in results:
        size = r["subscriptions"]
        label = f"{size:,} subs"
        scan = r["count_scan_s"] * 1000
        find, build, whole = r["find_s"] * 1000, r["build_s"] * 1000, r["pass_s"] * 1000
        figures.append(Figure(f"find due @ {label}", find, "ms", "count(*) scan", scan))
        figures.append(Figure(f"build @ {label}", build, "ms", "count(*) scan", scan))
        is_aim = size == aim_size
        figures.append(
            Figure(
                f"find + build @ {label}",
                whole,
                "ms",
                "count(*) scan",
                scan,
                aim=f"≤ {AIM_SECONDS * 1000:g} ms" if is_aim else "",
                met=r["pass_s"] <= AIM_SECONDS if is_aim else None,
            )
        )
    if len(results) >= 2:
        small, large = results[0], results[-1]
        factor = large["subscriptions"] / small["subscriptions"]
        figures.append(
            Figure(
                f"pass growth ×{factor:g} subs",
                large["pass_s"] / small["pass_s"],
                "×",
                "count(*) growth",
                large["count_scan_s"] / small["count_scan_s"],
                aim=f"≤ ×{factor:g} (linear)",
                met=large["pass_s"] / small["pass_s"] <= factor,
            )
        )
    return figures


async def run(*, quick: bool) -> BenchmarkResult:
    """Run the scheduler benchmark: 10k/30k/100k subscriptions (quick: 1k/3k)."""
    if quick:
        items, sizes, profiles = 2_000, (1_000, 3_000), 100
    else:
        items, sizes, profiles = 100_000, (10_000, 30_000, 100_000), 1_000
    load_before = load_average()
    started = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory(prefix="aseanbot-bench-") as folder:
        base = await create_store(Path(folder) / "items.db", items=items)
        for size in sizes:
            path = Path(folder) / f"subs-{size}.db"
            synthetic = with_subscriptions(base, path, count=size, profiles=profiles)
            results.append(await measure_pass(synthetic))
            path.unlink()
    notes = [
        f"{items:,} synthetic items; subscriptions over {profiles:,} distinct profiles, all due; "
        "find due = group the due subscriptions by schedule (no ledger writes); build = read "
        "the digests owed page by page + render each profile once (no sending)",
    ]
    bad = [r for r in results if r["due"] != r["subscriptions"] or r["pending"] != r["due"]]
    if bad:
        counts = [(r["subscriptions"], r["due"], r["pending"]) for r in bad]
        notes.append(f"fewer found or built than due (subscriptions, due, built): {counts}")
    return BenchmarkResult(
        name="scheduler",
        title="One digest pass: find due + build (no sending)",
        figures=tuple(pass_figures(results, aim_size=sizes[-1] if not quick else -1)),
        seconds=time.perf_counter() - started,
        load=(load_before, load_average()),
        notes=tuple(notes),
        details={"items": items, "profiles": profiles, "passes": results},
    )
