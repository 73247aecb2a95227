"""Scheduled digests end to end: the real Application, store and sender against the fake API.

The clock is injected, so a test walks through days in milliseconds; the repeating job is
removed (except where a test checks the job itself) so each pass runs when the test says.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from aseanbot.delivery.digests import DigestSender, PassReport
from aseanbot.delivery.pass_lock import PassLock, lock_path_for
from aseanbot.models import Dataset as DatasetModel
from aseanbot.models import Record, Subscription
from aseanbot.scheduling import Schedule, next_due
from aseanbot.services import Services
from aseanbot.store import Store
from tests.e2e.harness import BotHarness, save_subscription
from tests.e2e.harness import FixedClock as Clock
from tests.fake_bot_api import parse_telegram_html
from tests.owed import owed_digest

UTC = dt.UTC
# 08:00 in Jakarta (01:00 UTC), a month after the real today: the seed data, imported at the
# real time, is then older than any test subscriber's first window.
MORNING = dt.datetime.combine(
    dt.datetime.now(UTC).date() + dt.timedelta(days=30), dt.time(1, 0), tzinfo=UTC
)


@pytest.fixture
async def digests(bot: BotHarness) -> tuple[BotHarness, Clock]:
    """The running bot with its digest job removed and a clock the test moves."""
    assert bot.application.job_queue is not None
    for job in bot.application.job_queue.get_jobs_by_name("send-due-digests"):
        job.schedule_removal()
    clock = Clock(MORNING - dt.timedelta(days=2))
    services(bot).clock = clock
    # One piece of trade news, new to every subscriber made from here on.
    await add_item(bot, clock, "synthetic-news")
    return bot, clock


def services(bot: BotHarness) -> Services:
    found: Services = bot.application.bot_data["services"]
    return found


def store(bot: BotHarness) -> Store:
    return services(bot).opened_store


def sender(bot: BotHarness) -> DigestSender:
    return services(bot).digest_sender


async def subscribe(
    bot: BotHarness,
    clock: Clock,
    chat_id: int,
    *,
    topics: tuple[str, ...] = (),
    chat_type: str = "private",
    thread_id: int | None = None,
    **changes: object,
) -> Subscription:
    return await save_subscription(
        bot, chat_id, now=clock(), chat_type=chat_type, thread_id=thread_id, topics=topics,
        **changes,
    )  # fmt: skip


async def add_item(bot: BotHarness, clock: Clock, *item_ids: str, topic: str = "trade") -> None:
    """Store new items at the clock's time (synthetic records, made for this test only)."""
    records = tuple(
        Record(
            id=item_id,
            kind="event",
            title=f"Synthetic test item {item_id}",
            sources=(f"https://example.org/{item_id}",),
            topics=(topic,),
            countries=("TH",),
            outcome="A synthetic outcome for the digest test",
        )
        for item_id in item_ids
    )
    await store(bot).import_dataset(DatasetModel(records=records), now=clock())


async def run_pass(bot: BotHarness) -> PassReport:
    return await sender(bot).run_pass()


def digests_to(bot: BotHarness, chat_id: int) -> list[str]:
    return [m.text for m in bot.api.sent if m.chat_id == chat_id]


async def test_a_due_digest_is_sent_once_with_what_is_new(
    digests: tuple[BotHarness, Clock],
) -> None:
    bot, clock = digests
    await subscribe(bot, clock, 501, topics=("trade",))
    clock.now = MORNING - dt.timedelta(hours=3)
    await add_item(bot, clock, "synthetic-trade-1")
    await add_item(bot, clock, "synthetic-cyber-1", topic="cybersecurity")

    clock.now = MORNING + dt.timedelta(seconds=20)
    report = await run_pass(bot)
    assert report.sent == 1
    [text] = digests_to(bot, 501)
    assert "Your ASEAN digest" in text
    assert "Synthetic test item synthetic-trade-1" in text
    assert "synthetic-cyber-1" not in text  # not a followed topic
    message = next(m for m in bot.api.sent if m.chat_id == 501)
    parse_telegram_html(message.html)
    assert (message.parse_mode, message.link_preview_options) == ("HTML", {"is_disabled": True})
    labels = [b["text"] for row in message.reply_markup["inline_keyboard"] for b in row]
    assert labels == ["⚙️ Settings", "🔕 Unsubscribe"]

    # The same minute again, and a later tick the same day: nothing more.
    assert (await run_pass(bot)).sent == 0
    clock.now = MORNING + dt.timedelta(hours=5)
    assert (await run_pass(bot)).sent == 0
    assert len(digests_to(bot, 501)) == 1

    [delivery] = await store(bot).subscriptions.deliveries_for(501)
    assert delivery.state == "sent"
    assert delivery.parts_sent == 1
    saved = await store(bot).subscriptions.get(501)
    assert saved is not None
    assert saved.watermark == MORNING
    assert saved.next_due_at == MORNING + dt.timedelta(days=1)


async def test_a_digest_owed_is_kept_through_new_topics_and_follows_a_new_time(
    digests: tuple[BotHarness, Clock],
) -> None:
    """A pass can take a while to reach a chat. One that changes its topics meanwhile still
    gets the digest it is owed (with its new topics); one that picks a new time gets it then."""
    bot, clock = digests
    kept = await subscribe(bot, clock, 580)
    await subscribe(bot, clock, 581)
    clock.now = MORNING + dt.timedelta(minutes=5)  # both owed their 08:00 digest, not sent yet
    await bot.say("/subscribe trade", chat_id=580)
    await bot.say("/time 09:30", chat_id=581)
    owed = await store(bot).subscriptions.get(580)
    assert owed is not None
    assert (owed.topics, owed.next_due_at) == (("trade",), kept.next_due_at)
    moved = await store(bot).subscriptions.get(581)
    assert moved is not None
    assert moved.next_due_at == MORNING + dt.timedelta(hours=1, minutes=30)

    def digest_texts(chat_id: int) -> list[str]:  # the replies to the commands left out
        return [text for text in digests_to(bot, chat_id) if "Your ASEAN digest" in text]

    assert (await run_pass(bot)).sent == 1
    [text] = digest_texts(580)
    assert "Synthetic test item synthetic-news" in text
    assert digest_texts(581) == []
    clock.now = MORNING + dt.timedelta(hours=1, minutes=30)
    assert (await run_pass(bot)).sent == 1
    [text] = digest_texts(581)
    assert "Synthetic test item synthetic-news" in text
    assert await store(bot).subscriptions.deliveries_for(580) != ()


async def test_the_next_day_brings_only_the_new_items(digests: tuple[BotHarness, Clock]) -> None:
    bot, clock = digests
    await subscribe(bot, clock, 502, topics=("trade",))
    clock.now = MORNING - dt.timedelta(hours=1)
    await add_item(bot, clock, "synthetic-day-1")
    clock.now = MORNING
    await run_pass(bot)
    clock.now = MORNING + dt.timedelta(hours=10)
    await add_item(bot, clock, "synthetic-day-2")
    clock.now = MORNING + dt.timedelta(days=1, seconds=5)
    await run_pass(bot)
    first, second = digests_to(bot, 502)
    assert "synthetic-day-1" in first
    assert "synthetic-day-2" in second
    assert "synthetic-day-1" not in second


async def test_nothing_new_sends_nothing_unless_asked(digests: tuple[BotHarness, Clock]) -> None:
    bot, clock = digests
    await subscribe(bot, clock, 503, topics=("sustainability",))
    await subscribe(bot, clock, 504, topics=("sustainability",), send_empty=True)
    # The seed data is older than their first window, and the only news is about trade.
    clock.now = MORNING
    report = await run_pass(bot)
    assert report.empty == 1
    assert report.sent == 1
    assert digests_to(bot, 503) == []
    [empty] = digests_to(bot, 504)
    assert "No new updates" in empty
    [delivery] = await store(bot).subscriptions.deliveries_for(503)
    assert delivery.state == "empty"


async def test_a_blocked_chat_is_deactivated_and_the_rest_still_get_theirs(
    digests: tuple[BotHarness, Clock],
) -> None:
    bot, clock = digests
    for chat_id in (511, 512, 513):
        await subscribe(bot, clock, chat_id)
    bot.api.block_chat(512)
    clock.now = MORNING - dt.timedelta(hours=1)
    await add_item(bot, clock, "synthetic-blocked")
    clock.now = MORNING
    report = await run_pass(bot)
    assert report.sent == 2
    assert report.deactivated == 1
    assert len(digests_to(bot, 511)) == 1
    assert len(digests_to(bot, 513)) == 1
    blocked = await store(bot).subscriptions.get(512)
    assert blocked is not None
    assert not blocked.active
    assert blocked.next_due_at is None
    assert "blocked" in (blocked.deactivated_reason or "")
    clock.now = MORNING + dt.timedelta(days=1)
    await run_pass(bot)
    to_blocked = [c for c in bot.api.calls("sendMessage") if int(c.params["chat_id"]) == 512]
    assert len(to_blocked) == 1


async def test_chat_not_found_deactivates(digests: tuple[BotHarness, Clock]) -> None:
    bot, clock = digests
    await subscribe(bot, clock, 514)
    bot.api.fail_next("sendMessage", status=400, description="Bad Request: chat not found")
    clock.now = MORNING
    report = await run_pass(bot)
    assert report.deactivated == 1
    gone = await store(bot).subscriptions.get(514)
    assert gone is not None
    assert not gone.active


async def test_a_migrated_group_gets_its_digest_at_its_new_id(
    digests: tuple[BotHarness, Clock],
) -> None:
    bot, clock = digests
    await subscribe(bot, clock, -520, chat_type="group")
    bot.api.fail_next(
        "sendMessage",
        status=400,
        description="Bad Request: group chat was upgraded to a supergroup chat",
        migrate_to_chat_id=-100520,
    )
    clock.now = MORNING
    report = await run_pass(bot)
    assert report.sent == 1
    assert len(digests_to(bot, -100520)) == 1
    assert await store(bot).subscriptions.get(-520) is None
    moved = await store(bot).subscriptions.get(-100520)
    assert moved is not None
    assert moved.chat_type == "supergroup"
    [delivery] = await store(bot).subscriptions.deliveries_for(-100520)
    assert delivery.state == "sent"


async def test_flood_control_is_waited_out_and_the_digest_sent_once(
    digests: tuple[BotHarness, Clock],
) -> None:
    bot, clock = digests
    await subscribe(bot, clock, 530)
    bot.api.fail_next("sendMessage", status=429, description="Too Many Requests", retry_after=1)
    clock.now = MORNING
    report = await run_pass(bot)
    assert report.sent == 1
    assert len(digests_to(bot, 530)) == 1


async def test_server_errors_are_retried_later_until_they_succeed(
    digests: tuple[BotHarness, Clock],
) -> None:
    bot, clock = digests
    await subscribe(bot, clock, 540)
    bot.api.fail_next("sendMessage", status=502, description="Bad Gateway", times=2)
    clock.now = MORNING
    report = await run_pass(bot)
    assert report.retrying == 1
    assert digests_to(bot, 540) == []
    [pending] = await store(bot).subscriptions.deliveries_for(540)
    assert pending.state == "pending"
    assert pending.attempts == 1
    assert pending.next_attempt_at > MORNING

    clock.now = pending.next_attempt_at
    assert (await run_pass(bot)).retrying == 1  # the second injected failure
    [pending] = await store(bot).subscriptions.deliveries_for(540)
    clock.now = pending.next_attempt_at
    assert (await run_pass(bot)).sent == 1
    assert len(digests_to(bot, 540)) == 1
    [done] = await store(bot).subscriptions.deliveries_for(540)
    assert done.state == "sent"
    assert done.attempts == 2


async def test_a_digest_that_keeps_failing_is_given_up_and_its_items_wait(
    digests: tuple[BotHarness, Clock],
) -> None:
    bot, clock = digests
    await subscribe(bot, clock, 541)
    bot.api.fail_next("sendMessage", status=500, description="Internal Server Error", times=50)
    clock.now = MORNING
    for _ in range(10):
        await run_pass(bot)
        [delivery] = await store(bot).subscriptions.deliveries_for(541)
        if delivery.state != "pending":
            break
        clock.now = delivery.next_attempt_at
    assert delivery.state == "failed"
    assert "Internal Server Error" in (delivery.last_error or "")
    saved = await store(bot).subscriptions.get(541)
    assert saved is not None
    assert saved.active
    # The watermark did not move: tomorrow's digest still holds what this one would have.
    assert saved.watermark == MORNING - dt.timedelta(days=3)


async def test_slow_responses_still_deliver(digests: tuple[BotHarness, Clock]) -> None:
    bot, clock = digests
    for chat_id in range(550, 555):
        await subscribe(bot, clock, chat_id)
    bot.api.delay = 0.3
    clock.now = MORNING
    report = await run_pass(bot)
    assert report.sent == 5


async def test_digests_due_during_downtime_are_sent_once_within_the_grace_window(
    digests: tuple[BotHarness, Clock],
) -> None:
    bot, clock = digests
    await subscribe(bot, clock, 560)
    # Down from before 08:00 until 13:00: five hours late, inside the six-hour grace.
    clock.now = MORNING + dt.timedelta(hours=5)
    report = await run_pass(bot)
    assert report.sent == 1
    [delivery] = await store(bot).subscriptions.deliveries_for(560)
    assert delivery.period == MORNING
    assert (await run_pass(bot)).sent == 0


async def test_digests_missed_beyond_the_grace_window_wait_for_the_next_one(
    digests: tuple[BotHarness, Clock],
) -> None:
    bot, clock = digests
    subscription = await subscribe(bot, clock, 561)
    clock.now = MORNING - dt.timedelta(hours=1)
    await add_item(bot, clock, "synthetic-while-down")
    clock.now = MORNING + dt.timedelta(hours=9)  # back at 16:00 Jakarta time
    report = await run_pass(bot)
    assert report.skipped == 1
    assert digests_to(bot, 561) == []
    saved = await store(bot).subscriptions.get(561)
    assert saved is not None
    assert saved.next_due_at == MORNING + dt.timedelta(days=1)
    assert saved.watermark == subscription.watermark
    clock.now = MORNING + dt.timedelta(days=1)
    await run_pass(bot)
    [late] = digests_to(bot, 561)
    assert "synthetic-while-down" in late


async def test_a_digest_is_built_once_per_profile_not_per_subscriber(
    digests: tuple[BotHarness, Clock],
) -> None:
    bot, clock = digests
    for chat_id in range(600, 620):
        await subscribe(bot, clock, chat_id, topics=("trade",) if chat_id % 2 else ())
    clock.now = MORNING - dt.timedelta(hours=1)
    await add_item(bot, clock, "synthetic-shared")
    clock.now = MORNING
    report = await run_pass(bot)
    assert report.sent == 20
    assert report.profiles_built == 2


async def test_a_half_sent_digest_resumes_after_the_parts_already_delivered(
    digests: tuple[BotHarness, Clock],
) -> None:
    bot, clock = digests
    await subscribe(bot, clock, 570)
    clock.now = MORNING - dt.timedelta(hours=1)
    # Enough new items for a digest of several messages.
    await add_item(bot, clock, *(f"synthetic-long-{index:03d}" for index in range(120)))
    clock.now = MORNING
    # The first pass is cut short after its first message, as a crash would.
    bot.api.fail_next("sendMessage", status=502, description="Bad Gateway", times=1)
    await run_pass(bot)
    [delivery] = await store(bot).subscriptions.deliveries_for(570)
    assert delivery.parts_sent == 0
    # Pretend the first part had gone out before the crash:
    subscription = await store(bot).subscriptions.get(570)
    assert subscription is not None
    assert subscription.watermark == delivery.window_start  # the window the row was for
    await store(bot).subscriptions.record_part_sent(
        owed_digest(subscription, delivery.period),
        chat_id=570,
        parts_sent=1,
        parts_total=9,
        now=clock(),
    )
    [delivery] = await store(bot).subscriptions.deliveries_for(570)
    assert (delivery.parts_sent, delivery.attempts, delivery.state) == (1, 1, "pending")
    clock.now = delivery.next_attempt_at
    await run_pass(bot)
    texts = digests_to(bot, 570)
    total = (await store(bot).subscriptions.deliveries_for(570))[0].parts_total
    assert total is not None
    assert total >= 2
    assert len(texts) == total - 1
    assert "Your ASEAN digest" not in texts[0]  # the header was in the part already sent
    for message in bot.api.sent:
        parse_telegram_html(message.html)


async def test_a_forum_group_gets_its_digest_in_its_topic(
    digests: tuple[BotHarness, Clock],
) -> None:
    bot, clock = digests
    await subscribe(bot, clock, -580, chat_type="supergroup", thread_id=42)
    clock.now = MORNING
    await run_pass(bot)
    [message] = [m for m in bot.api.sent if m.chat_id == -580]
    assert message.message_thread_id == 42


async def test_weekly_digests_come_on_their_weekday_in_local_time(
    digests: tuple[BotHarness, Clock],
) -> None:
    bot, clock = digests
    schedule = Schedule("weekly", dt.time(19, 30), "Europe/Berlin", weekday=4)  # Fridays
    subscription = await subscribe(bot, clock, 590)
    subscription = replace(
        subscription,
        schedule=schedule,
        next_due_at=next_due(schedule, after=clock()),
        send_empty=True,
    )
    await store(bot).subscriptions.save(subscription)
    sent_at = []
    for hour in range(0, 24 * 14, 1):
        clock.now = MORNING + dt.timedelta(hours=hour)
        before = len(digests_to(bot, 590))
        await run_pass(bot)
        if len(digests_to(bot, 590)) > before:
            sent_at.append(clock.now)
    assert len(sent_at) == 2
    for moment in sent_at:
        local = moment.astimezone(ZoneInfo("Europe/Berlin"))
        assert local.weekday() == 4
        # Passes run on the hour here, so the 19:30 digest goes out at the 20:00 pass.
        assert dt.time(19, 30) <= local.time() <= dt.time(20, 30)


async def test_the_repeating_job_sends_what_is_due(bot: BotHarness) -> None:
    """Not a manual pass: the JobQueue's tick finds the due digest by itself."""
    clock = Clock(MORNING - dt.timedelta(days=2))
    services(bot).clock = clock
    await subscribe(bot, clock, 595, send_empty=True)
    clock.now = MORNING + dt.timedelta(minutes=1)
    bot.api.mark()
    assert bot.application.job_queue is not None
    [job] = bot.application.job_queue.get_jobs_by_name("send-due-digests")
    # Bring the next tick forward instead of waiting up to 30 s for it.
    job.job.modify(next_run_time=dt.datetime.now(UTC))
    [message] = await bot.api.wait_for_messages(1, chat_id=595, timeout=10)
    assert "No new updates" in message.text or "Your ASEAN digest" in message.text


async def test_the_checkpoint_job_copies_the_wal_back_outside_any_command(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = services(bot).opened_store
    copied: list[int] = []
    checkpoint = store.checkpoint

    async def recorded() -> int:
        copied.append(await checkpoint())
        return copied[-1]

    monkeypatch.setattr(store, "checkpoint", recorded)
    await bot.say("/help")  # a command writes (the user's last activity), into the WAL only
    assert not copied
    assert bot.application.job_queue is not None
    [job] = bot.application.job_queue.get_jobs_by_name("checkpoint-store")
    job.job.modify(next_run_time=dt.datetime.now(UTC))
    for _ in range(200):
        if copied:
            break
        await asyncio.sleep(0.01)
    assert copied, "the job never ran"
    assert copied[0] > 0


async def test_a_pass_is_skipped_while_another_process_holds_the_lock(
    digests: tuple[BotHarness, Clock], tmp_path: Path
) -> None:
    bot, clock = digests
    await subscribe(bot, clock, 599)
    clock.now = MORNING
    lock_file = lock_path_for(tmp_path / "bot.db")
    assert lock_file is not None
    # Another process's pass: an independent open file description holding the flock.
    with PassLock(lock_file) as other:
        assert other.acquired
        report = await run_pass(bot)
        assert report.busy
        assert digests_to(bot, 599) == []
    assert (await run_pass(bot)).sent == 1


async def test_a_stop_request_leaves_unsent_digests_pending_for_the_next_start(
    digests: tuple[BotHarness, Clock],
) -> None:
    bot, clock = digests
    for chat_id in range(700, 705):
        await subscribe(bot, clock, chat_id)
    clock.now = MORNING
    sender(bot).request_stop()
    report = await run_pass(bot)
    assert report.sent == 0
    assert [m for m in bot.api.sent if 700 <= m.chat_id < 705] == []
    # The due digests were not even claimed: the next start finds them due and sends them.
    fresh = DigestSender(
        bot.application.bot,
        store(bot),
        catalog=lambda: services(bot).catalog,
        clock=clock,
    )
    assert (await fresh.run_pass()).sent == 5
