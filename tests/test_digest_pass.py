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
from aseanbot.store.subscriptions import DigestProfile, SchedulePlan, Settlement
from aseanbot.subscribing import new_subscription
from tests.owed import owed_digest

NOW = dt.datetime(2026, 3, 4, 9, 30, tzinfo=dt.UTC)  # a Wednesday
GRACE = dt.timedelta(hours=6)


class RecordingBot:
    """Stands in for ExtBot: every send succeeds at once and is recorded."""

    rate_limiter = None

    def __init__(self) -> None:
        self.sent: list[int] = []
        self.on_send: list[int] = []  # sent-but-unsettled digests seen at each send
        self.settled = 0

    async def do_api_request(self, endpoint: str, api_kwargs: dict[str, Any], **_: object) -> None:
        assert endpoint == "send_message"
        await asyncio.sleep(0)
        self.sent.append(api_kwargs["chat_id"])
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


async def test_due_chats_get_what_their_own_schedule_says_and_nothing_is_written_before(
    store: Store,
) -> None:
    """Several schedules: finding what is due writes no ledger row and moves nothing but the
    groups beyond the grace; after the pass every due chat's digest has the period, window and
    next due time latest_due and next_due give for it alone; others are untouched."""
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

    def owed(schedule: Schedule) -> bool:
        period = latest_due(schedule, at_or_before=NOW)
        return period is not None and NOW - period <= GRACE

    report = PassReport()
    runs = await sender_for(store)._due_runs(report)

    assert (report.due, report.skipped) == (8, 3)
    assert {(group.schedule, plan.period, plan.next_due_at) for group, plan in runs} == {
        (schedule, latest_due(schedule, at_or_before=NOW), next_due(schedule, after=NOW))
        for schedule in (daily_utc, weekly_berlin)
    }
    assert sum(group.count for group, _ in runs) == 8  # one group per chat's due minute
    for chat, schedule in chats.items():
        assert await store.subscriptions.deliveries_for(chat) == ()
        after = await store.subscriptions.get(chat)
        expected = saved[chat] if owed(schedule) else replace(
            saved[chat], next_due_at=next_due(schedule, after=NOW)
        )  # fmt: skip
        assert after == expected

    report = await sender_for(store).run_pass()  # nothing new: every digest is empty

    assert (report.due, report.empty, report.skipped) == (8, 8, 0)
    for chat, schedule in chats.items():
        rows = await store.subscriptions.deliveries_for(chat)
        after = await store.subscriptions.get(chat)
        assert after is not None
        assert after.next_due_at == next_due(schedule, after=NOW)
        if owed(schedule):
            period = latest_due(schedule, at_or_before=NOW)
            [row] = rows
            assert (row.period, row.window_end, row.state) == (period, period, "empty")
            assert row.window_start == saved[chat].watermark
            assert after.watermark == period
        else:
            assert rows == ()
            assert after.watermark == saved[chat].watermark
    for untouched in (inactive, later):
        assert await store.subscriptions.deliveries_for(untouched.chat_id) == ()
        assert await store.subscriptions.get(untouched.chat_id) == untouched
    again = await sender_for(store).run_pass()
    assert (again.due, again.skipped) == (0, 0)


async def test_owed_pages_give_every_ready_digest_once_and_resume_what_the_ledger_holds(
    store: Store,
) -> None:
    """Pages of 2 over one group: each ready digest once, in chat order, one sent in part
    resumed after its parts; one waiting for its retry and one of an inactive chat are left;
    a pending row of an earlier period is closed as replaced."""
    schedule = Schedule("daily", dt.time(9, 0), "UTC")
    period = NOW - dt.timedelta(minutes=30)
    saved = {chat: await subscribe(store, chat, schedule, due=period) for chat in range(1, 9)}
    ledger = store.subscriptions
    plan = SchedulePlan(schedule, period, next_due(schedule, after=NOW), made_at=NOW)
    await ledger.record_part_sent(
        owed_digest(saved[5], period), chat_id=5, parts_sent=1, parts_total=3, now=NOW
    )
    await ledger.fail_attempt(
        owed_digest(saved[7], period), chat_id=7, error="502",
        retry_at=NOW + dt.timedelta(minutes=1), now=NOW,
    )  # fmt: skip
    yesterday = period - dt.timedelta(days=1)
    await ledger.fail_attempt(
        owed_digest(saved[6], yesterday), chat_id=6, error="502", retry_at=NOW, now=NOW
    )
    await ledger.save(replace(saved[8], active=False))

    [group] = await ledger.due_groups(NOW)
    assert (group.schedule, group.count) == (schedule, 7)
    await ledger.supersede_earlier(group, plan, now=NOW)
    seen: list[tuple[int, int]] = []
    after = None
    while True:
        page = await ledger.owed_page(group, plan, now=NOW, after=after, limit=2)
        seen.extend((digest.chat_id, digest.parts_sent) for digest in page.digests)
        assert len(page.digests) <= 2
        if page.resume_after is None:
            break
        after = page.resume_after

    assert seen == [(1, 0), (2, 0), (3, 0), (4, 0), (5, 1), (6, 0)]
    [replaced] = await ledger.deliveries_for(6)
    assert (replaced.period, replaced.state) == (yesterday, "failed")
    assert "replaced" in str(replaced.last_error)


async def test_settling_several_digests_at_once_records_parts_and_moves_watermarks(
    store: Store,
) -> None:
    schedule = Schedule("daily", dt.time(9, 0), "UTC")
    period = NOW - dt.timedelta(minutes=30)
    upcoming = next_due(schedule, after=NOW)
    saved = {chat: await subscribe(store, chat, schedule, due=period) for chat in (1, 2, -3)}
    owed = {
        chat: owed_digest(subscription, period, next_due_at=upcoming)
        for chat, subscription in saved.items()
    }
    ledger = store.subscriptions
    # A group that became a supergroup while its digest was sent: the settlement follows it.
    await ledger.migrate_chat(-3, -1003, now=NOW)
    # A chat that picked a new time meanwhile keeps it.
    rescheduled = NOW + dt.timedelta(hours=2)
    await ledger.save(replace(saved[2], next_due_at=rescheduled))

    await ledger.settle(
        [
            Settlement(owed[1], 1, "sent", 3),
            Settlement(owed[2], 2, "empty", None),
            Settlement(owed[-3], -1003, "sent", 1),
        ],
        now=NOW,
    )

    [sent] = await ledger.deliveries_for(1)
    assert (sent.state, sent.parts_sent, sent.parts_total) == ("sent", 3, 3)
    assert (sent.period, sent.window_start) == (period, saved[1].watermark)
    [empty] = await ledger.deliveries_for(2)
    assert (empty.state, empty.parts_sent, empty.parts_total) == ("empty", 0, None)
    [moved] = await ledger.deliveries_for(-1003)
    assert moved.state == "sent"
    for chat, due in ((1, upcoming), (2, rescheduled), (-1003, upcoming)):
        subscription = await ledger.get(chat)
        assert subscription is not None
        assert (subscription.watermark, subscription.next_due_at) == (period, due)
    # Settling again changes nothing: a settled row stays as it was.
    await ledger.settle([Settlement(owed[2], 2, "sent", 2)], now=NOW)
    assert await ledger.deliveries_for(2) == (empty,)


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

    assert (report.due, report.sent, report.messages) == (40, 40, 40)
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
        assert list(whole) == list(filtered)
        built += bool(whole)
    assert built >= 4  # most profiles have something new
    read_whole = cache.windows[start, end]
    assert (read_whole is None) == (window_items == 1)


async def test_a_chat_still_due_for_a_settled_digest_is_moved_on_without_a_send(
    store: Store,
) -> None:
    """Settling moves a chat on, so this takes a hand-edited database; the pass must neither
    send the digest again nor leave the chat due for ever."""
    schedule = Schedule("daily", dt.time(9, 0), "UTC")
    period = latest_due(schedule, at_or_before=NOW)
    assert period is not None
    saved = await subscribe(store, 1, schedule, due=period)
    ledger = store.subscriptions
    await ledger.settle([Settlement(owed_digest(saved, period), 1, "sent", 1)], now=NOW)
    [row] = await ledger.deliveries_for(1)
    settled = await ledger.get(1)
    assert settled is not None
    await ledger.save(replace(settled, next_due_at=period))  # due again, by hand

    bot = RecordingBot()
    report = await sender_for(store, bot).run_pass()

    assert bot.sent == []
    assert (report.due, report.sent, report.empty) == (1, 0, 0)
    assert await ledger.deliveries_for(1) == (row,)
    after = await ledger.get(1)
    assert after is not None
    assert (after.next_due_at, after.watermark) == (next_due(schedule, after=NOW), period)
    assert (await sender_for(store, bot).run_pass()).due == 0
