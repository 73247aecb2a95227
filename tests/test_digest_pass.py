"""The digest pass's set-based parts: claiming per schedule, paging, building, settling."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import pytest
from telegram.ext import ExtBot

from aseanbot.catalog import Catalog
from aseanbot.delivery import digests
from aseanbot.delivery.digests import DigestSender, PassReport, _PassCache
from aseanbot.loader import read_dataset
from aseanbot.models import Subscription
from aseanbot.scheduling import Schedule, latest_due, next_due
from aseanbot.store import Store
from aseanbot.store.subscriptions import Claim, DigestProfile, Settlement
from aseanbot.subscribing import new_subscription

NOW = dt.datetime(2026, 3, 4, 9, 30, tzinfo=dt.UTC)  # a Wednesday
GRACE = dt.timedelta(hours=6)


class RecordingBot:
    """Stands in for ExtBot: every send succeeds at once and is recorded."""

    rate_limiter = None

    def __init__(self) -> None:
        self.sent: list[int] = []
        self.on_send: list[int] = []  # sent-but-unsettled digests seen at each send
        self.settled = 0

    async def send_message(self, chat_id: int, text: str, **_: object) -> None:
        await asyncio.sleep(0)
        self.sent.append(chat_id)
        self.on_send.append(len(self.sent) - 1 - self.settled)


def sender_for(store: Store, bot: object = None, **options: Any) -> DigestSender:
    catalog = Catalog()
    return DigestSender(
        cast(ExtBot[Any], bot or RecordingBot()),
        store,
        catalog=lambda: catalog,
        clock=lambda: NOW,
        grace=GRACE,
        **options,
    )


async def subscribe(
    store: Store, chat_id: int, schedule: Schedule, *, due: dt.datetime | None, **changes: Any
) -> Subscription:
    subscription = new_subscription(
        chat_id=chat_id, chat_type="private", thread_id=None, topics=(), timezone="UTC",
        now=NOW - dt.timedelta(days=3),
    )  # fmt: skip
    subscription = replace(subscription, schedule=schedule, next_due_at=due, **changes)
    await store.subscriptions.save(subscription)
    return subscription


async def test_a_claim_per_schedule_gives_each_subscription_what_its_own_schedule_says(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several schedules, batches of 2: every due chat's period, window and next due time are
    those latest_due and next_due give for it alone; late ones are skipped; others untouched."""
    monkeypatch.setattr(digests, "CLAIM_BATCH", 2)
    daily_utc = Schedule("daily", dt.time(9, 0), "UTC")
    weekly_berlin = Schedule("weekly", dt.time(8, 0), "Europe/Berlin", weekday=2)
    daily_jakarta = Schedule("daily", dt.time(7, 0), "Asia/Jakarta")  # 00:00 UTC: 9.5 h ago
    off = Schedule("off", dt.time(9, 0), "UTC")
    chats = {
        **{chat: daily_utc for chat in (1, 2, 3, 4, 5)},
        **{chat: weekly_berlin for chat in (6, 7, 8)},
        **{chat: daily_jakarta for chat in (9, 10)},
        11: off,
    }
    saved = {
        chat: await subscribe(store, chat, schedule, due=NOW - dt.timedelta(minutes=chat))
        for chat, schedule in chats.items()
    }
    inactive = await subscribe(store, 12, daily_utc, due=NOW, active=False)
    later = await subscribe(store, 13, daily_utc, due=NOW + dt.timedelta(minutes=1))

    report = PassReport()
    await sender_for(store)._claim_due(report)

    assert (report.claimed, report.skipped) == (8, 3)
    for chat, schedule in chats.items():
        period = latest_due(schedule, at_or_before=NOW)
        claimed = period is not None and NOW - period <= GRACE
        rows = await store.subscriptions.deliveries_for(chat)
        if claimed:
            [row] = rows
            assert (row.period, row.window_end) == (period, period)
            assert row.window_start == saved[chat].watermark
            assert (row.state, row.next_attempt_at) == ("pending", NOW)
        else:
            assert rows == ()
        after = await store.subscriptions.get(chat)
        assert after is not None
        assert after.next_due_at == next_due(schedule, after=NOW)
        assert after.watermark == saved[chat].watermark
    for untouched in (inactive, later):
        assert await store.subscriptions.deliveries_for(untouched.chat_id) == ()
        assert await store.subscriptions.get(untouched.chat_id) == untouched
    # Claiming again finds nothing due, and the UNIQUE (chat, period) keeps one row each.
    again = PassReport()
    await sender_for(store)._claim_due(again)
    assert (again.claimed, again.skipped) == (0, 0)


async def test_pending_pages_give_every_ready_digest_once_in_attempt_order(
    store: Store,
) -> None:
    """Pages of 2 over digests sharing next_attempt_at and not: each ready one once, in
    (next_attempt_at, id) order; one retried later and one of an inactive chat are left."""
    schedule = Schedule("daily", dt.time(9, 0), "UTC")
    period = NOW - dt.timedelta(minutes=30)
    for chat in range(1, 9):
        await subscribe(store, chat, schedule, due=period)
    ledger = store.subscriptions
    await ledger.claim([Claim(c, period, None) for c in (5, 6)], now=NOW - dt.timedelta(minutes=2))
    await ledger.claim(
        [Claim(c, period, None) for c in (1, 2, 3)], now=NOW - dt.timedelta(minutes=1)
    )
    await ledger.claim([Claim(c, period, None) for c in (4, 7, 8)], now=NOW)
    [retried] = await ledger.deliveries_for(7)
    await ledger.fail_attempt(retried, error="502", retry_at=NOW + dt.timedelta(minutes=1), now=NOW)
    gone = await ledger.get(8)
    assert gone is not None
    await ledger.save(replace(gone, active=False))

    seen: list[int] = []
    after = None
    while True:
        page = await ledger.pending_page(NOW, after=after, limit=2)
        seen.extend(digest.chat_id for digest in page.digests)
        assert len(page.digests) <= 2
        if page.resume_after is None:
            break
        after = page.resume_after
    assert seen == [5, 6, 1, 2, 3, 4]


async def test_settling_several_digests_at_once_records_parts_and_moves_watermarks(
    store: Store,
) -> None:
    schedule = Schedule("daily", dt.time(9, 0), "UTC")
    period = NOW - dt.timedelta(minutes=30)
    for chat in (1, 2, -3):
        await subscribe(store, chat, schedule, due=period)
    ledger = store.subscriptions
    await ledger.claim([Claim(c, period, None) for c in (1, 2, -3)], now=NOW)
    ids = {chat: (await ledger.deliveries_for(chat))[0].id for chat in (1, 2, -3)}
    # A group that became a supergroup while its digest was sent: the watermark follows it.
    await ledger.migrate_chat(-3, -1003, now=NOW)

    await ledger.settle(
        [
            Settlement(ids[1], "sent", 3, period),
            Settlement(ids[2], "empty", None, period),
            Settlement(ids[-3], "sent", 1, period),
        ],
        now=NOW,
    )

    [sent] = await ledger.deliveries_for(1)
    assert (sent.state, sent.parts_sent, sent.parts_total) == ("sent", 3, 3)
    [empty] = await ledger.deliveries_for(2)
    assert (empty.state, empty.parts_sent, empty.parts_total) == ("empty", 0, None)
    [moved] = await ledger.deliveries_for(-1003)
    assert moved.state == "sent"
    for chat in (1, 2, -1003):
        subscription = await ledger.get(chat)
        assert subscription is not None
        assert subscription.watermark == period


async def test_completions_are_written_in_groups_and_never_more_than_the_concurrency_wait(
    store: Store, dataset_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """40 one-message digests: one settlement each, written in fewer transactions than
    digests; no part recorded separately; at most `concurrency` sent and not yet settled."""
    await store.import_dataset(read_dataset(dataset_dir), now=NOW - dt.timedelta(hours=1))
    schedule = Schedule("daily", dt.time(9, 0), "UTC")
    for chat in range(100, 140):
        await subscribe(store, chat, schedule, due=NOW, topics=("ai-governance",))
    bot = RecordingBot()
    ledger = store.subscriptions
    batches: list[int] = []
    settle = ledger.settle

    async def counting_settle(settlements: list[Settlement], *, now: dt.datetime) -> None:
        await settle(settlements, now=now)
        batches.append(len(settlements))
        bot.settled += len(settlements)

    async def no_record(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a one-part digest is settled, not recorded part by part")

    monkeypatch.setattr(ledger, "settle", counting_settle)
    monkeypatch.setattr(ledger, "record_part_sent", no_record)
    report = await sender_for(store, bot, concurrency=8).run_pass()

    assert (report.claimed, report.sent, report.messages) == (40, 40, 40)
    assert sorted(bot.sent) == list(range(100, 140))
    assert sum(batches) == 40
    assert len(batches) < 40
    assert max(batches) <= digests.SETTLE_BATCH
    assert max(bot.on_send) < 8
    for chat in (100, 139):
        [row] = await ledger.deliveries_for(chat)
        assert (row.state, row.parts_sent, row.parts_total) == ("sent", 1, 1)


@pytest.mark.parametrize("window_items", [digests.WINDOW_ITEMS, 1])
async def test_a_window_read_whole_builds_the_digest_the_store_filter_builds(
    store: Store, dataset_dir: Path, monkeypatch: pytest.MonkeyPatch, window_items: int
) -> None:
    """Filtering a window's items here gives the same messages as the store's filtered read,
    for every kind of profile; a window too busy to read whole falls back to the store."""
    monkeypatch.setattr(digests, "WINDOW_ITEMS", window_items)
    await store.import_dataset(read_dataset(dataset_dir), now=NOW)
    catalog = Catalog(
        topics=await store.topics(),
        countries=await store.countries(),
        partners=await store.partners(),
    )
    sender = DigestSender(
        cast(ExtBot[Any], RecordingBot()), store, catalog=lambda: catalog, clock=lambda: NOW
    )
    start, end = NOW - dt.timedelta(days=1), NOW + dt.timedelta(minutes=1)
    cache = _PassCache()
    built = 0
    for topics, countries in [
        ((), ()),
        (("trade",), ()),
        (("ai-governance", "digital-economy"), ()),
        ((), ("TH",)),
        (("trade",), ("VN", "SG")),
        (("trade",), ("SG",)),
    ]:
        profile = DigestProfile(topics, countries, start, end, "Asia/Bangkok")
        whole = await sender._build(profile, cache, whole=True)
        filtered = await sender._build(profile, _PassCache(), whole=False)
        assert whole == filtered
        built += bool(whole)
    assert built >= 4  # most profiles have something new
    read_whole = cache.windows[start, end]
    assert (read_whole is None) == (window_items == 1)
