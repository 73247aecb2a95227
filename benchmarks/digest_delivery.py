"""Benchmark: a digest pass for N subscribers, through the real path, under Telegram's limits.

Run ``python -m benchmarks.digest_delivery [--subscribers N]`` from the repository root. It
makes a temporary SQLite store with data/ imported and N SYNTHETIC subscriptions (chat ids
generated here, never stored outside the temporary folder), all due now, then runs one
DigestSender pass — claim into the ledger, build once per profile, send part by part, settle —
with TelegramRateLimiter, against the fake Bot API on 127.0.0.1 enforcing 30 messages/s overall
and 1/s per chat with 429 answers. Reported: sustained rate as a ratio to the cap, 429s, lost
(subscribers with no digest) and duplicated (subscribers with two). The same run measures the
bare limiter broadcast (benchmarks.delivery_rate) on as many messages, as the baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

# Run from a plain checkout without installing the package, as bot.py does.
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from aseanbot.catalog import Catalog  # noqa: E402
from aseanbot.delivery.digests import DigestSender  # noqa: E402
from aseanbot.delivery.limiter import TelegramRateLimiter  # noqa: E402
from aseanbot.importing import sync_data_dir  # noqa: E402
from aseanbot.scheduling import Schedule  # noqa: E402
from aseanbot.store import Store  # noqa: E402
from aseanbot.subscribing import new_subscription  # noqa: E402
from benchmarks.delivery_rate import (  # noqa: E402
    BULK,
    CAP_PER_SECOND,
    capped_fake_and_bot,
    peak_in_window,
    run_broadcast,
)

DEFAULT_SUBSCRIBERS = 600
SYNTHETIC_FIRST_CHAT = 800_000_001


@dataclass(frozen=True, slots=True)
class DigestRun:
    subscribers: int
    delivered: int
    seconds: float
    rate: float
    ratio: float
    received_429: int
    lost: int
    duplicated: int
    peak_per_second: int
    profiles_built: int


async def prepare(path: Path, subscribers: int) -> tuple[Store, Catalog]:
    store = await Store.open(path)
    now = dt.datetime.now(dt.UTC)
    await sync_data_dir(store, ROOT / "data", now=now - dt.timedelta(hours=1))
    due = (now - dt.timedelta(minutes=1)).replace(second=0, microsecond=0)
    schedule = Schedule("daily", due.time().replace(tzinfo=None), "UTC")
    for index in range(subscribers):
        base = new_subscription(
            chat_id=SYNTHETIC_FIRST_CHAT + index,
            chat_type="private",
            thread_id=None,
            topics=("online-safety",),  # one message per digest: the rate is what is measured
            timezone="UTC",
            now=now,
        )
        await store.subscriptions.save(
            replace(base, schedule=schedule, next_due_at=due, watermark=now - dt.timedelta(days=1))
        )
    return store, await store_catalog(store)


async def store_catalog(store: Store) -> Catalog:
    """The catalog of the store's reference data, as the bot loads it."""
    return Catalog(
        topics=await store.topics(),
        countries=await store.countries(),
        partners=await store.partners(),
    )


async def run_digest_pass(subscribers: int) -> DigestRun:
    with tempfile.TemporaryDirectory(prefix="aseanbot-bench-") as folder:
        store, catalog = await prepare(Path(folder) / "bench.db", subscribers)
        fake, bot = await capped_fake_and_bot(TelegramRateLimiter())
        sender = DigestSender(
            bot,
            store,
            catalog=lambda: catalog,
            clock=lambda: dt.datetime.now(dt.UTC),
        )
        try:
            await bot.initialize()
            started = time.monotonic()
            async with asyncio.timeout(3 * subscribers / CAP_PER_SECOND + 60):
                report = await sender.run_pass()
            seconds = time.monotonic() - started
        finally:
            await bot.shutdown()
            await fake.stop()
            await store.close()
    per_chat = Counter(m.chat_id for m in fake.sent)
    delivered = sum(per_chat.values())
    accepted = [c.at for c in fake.calls("sendMessage") if c.status == 200]
    expected = set(range(SYNTHETIC_FIRST_CHAT, SYNTHETIC_FIRST_CHAT + subscribers))
    return DigestRun(
        subscribers=subscribers,
        delivered=delivered,
        seconds=seconds,
        rate=delivered / seconds,
        ratio=delivered / seconds / CAP_PER_SECOND,
        received_429=fake.rejected_429,
        lost=len(expected - set(per_chat)),
        duplicated=sum(1 for count in per_chat.values() if count > 1),
        peak_per_second=peak_in_window(accepted),
        profiles_built=report.profiles_built,
    )


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=DEFAULT_SUBSCRIBERS)
    args = parser.parse_args(argv)
    if not 1 <= args.subscribers <= 100_000:
        parser.error("--subscribers must be between 1 and 100000")
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("aseanbot").setLevel(logging.CRITICAL)

    digest = asyncio.run(run_digest_pass(args.subscribers))
    bare = asyncio.run(
        run_broadcast(
            "bare limiter broadcast",
            TelegramRateLimiter,
            messages=args.subscribers,
            bulk_args=BULK,
        )
    )
    header = f"{'path':<26}{'sent':>7}{'seconds':>9}{'msg/s':>8}{'ratio':>7}{'429s':>6}"
    header += f"{'lost':>6}{'dup':>5}{'peak/s':>8}"
    print(header)
    print("-" * len(header))
    print(
        f"{'digest pass (real path)':<26}{digest.delivered:>7}{digest.seconds:>9.2f}"
        f"{digest.rate:>8.2f}{digest.ratio:>7.3f}{digest.received_429:>6}{digest.lost:>6}"
        f"{digest.duplicated:>5}{digest.peak_per_second:>8}"
    )
    print(
        f"{'bare limiter (baseline)':<26}{bare.delivered:>7}{bare.seconds:>9.2f}"
        f"{bare.rate:>8.2f}{bare.ratio:>7.3f}{bare.received_429:>6}{bare.lost:>6}"
        f"{bare.duplicated:>5}{bare.peak_per_second:>8}"
    )
    print(f"digest profiles built: {digest.profiles_built} for {digest.subscribers} subscribers")
    return {"digest_pass": digest, "bare_limiter": bare}


if __name__ == "__main__":
    main()
