"""Subscribing, the /settings message and group rules, end to end against the fake Bot API.

The clock is fixed (services.clock) so schedules and next digests are exact; the repeating
digest job is removed so no digest goes out while a test runs.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest

from aseanbot.models import Dataset, Record, Subscription
from aseanbot.services import Services
from tests.e2e.harness import BotHarness, Exchange, button_labels, save_subscription
from tests.e2e.harness import FixedClock as Clock
from tests.fake_bot_api import SentMessage, parse_telegram_html

UTC = dt.UTC
# Tuesday 1 December 2026, 07:00 in Jakarta (the default zone, UTC+7).
NOW = dt.datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
STALE = "This button is out of date. Send the command again."
ADMINS_ONLY = "Only this group's administrators can change its digest subscription."
GROUP = -100


@pytest.fixture
def clock(bot: BotHarness) -> Clock:
    """A fixed clock for the running bot, and no digest job to race the test."""
    assert bot.application.job_queue is not None
    for job in bot.application.job_queue.get_jobs_by_name("send-due-digests"):
        job.schedule_removal()
    fixed = Clock(NOW)
    services(bot).clock = fixed
    return fixed


def services(bot: BotHarness) -> Services:
    found: Services = bot.application.bot_data["services"]
    return found


async def stored(bot: BotHarness, chat_id: int) -> Subscription | None:
    return await services(bot).opened_store.subscriptions.get(chat_id)


async def subscription_of(bot: BotHarness, chat_id: int) -> Subscription:
    found = await stored(bot, chat_id)
    assert found is not None, f"chat {chat_id} has no subscription"
    return found


def edited_in_place(exchange: Exchange, original: SentMessage) -> SentMessage:
    """The press edited the message it was on, and sent nothing new."""
    message = exchange.only()
    assert message.edited
    assert message.method == "editMessageText"
    assert message.message_id == original.message_id
    parse_telegram_html(message.html)
    return message


async def after_other_updates(bot: BotHarness, inject: Any) -> list[SentMessage]:
    """Inject a raw update; return what the bot sent for it (updates are handled in order)."""
    before = len(bot.api.sent)
    inject()
    await bot.say("/help", chat_id=9999)
    return [m for m in bot.api.sent[before:] if m.chat_id != 9999]


# --- subscribing -------------------------------------------------------------------------------


async def test_subscribe_follows_every_topic_daily_at_eight(bot: BotHarness, clock: Clock) -> None:
    reply = (await bot.say("/subscribe")).only()
    parse_telegram_html(reply.html)
    assert "Subscribed" in reply.text
    assert "Topics: all topics" in reply.text
    assert "Daily at 08:00" in reply.text
    assert "Next digest: Tue 1 Dec, 08:00 (Asia/Jakarta)" in reply.text
    assert button_labels(reply) == ["🏷 Choose topics", "🌏 Choose countries", "⚙️ All settings"]
    saved = await subscription_of(bot, 1001)
    assert saved.active
    assert saved.topics == ()
    assert saved.chat_type == "private"
    assert saved.thread_id is None
    assert saved.schedule.frequency == "daily"
    assert saved.schedule.local_time == dt.time(8, 0)
    assert saved.schedule.timezone == "Asia/Jakarta"
    assert saved.next_due_at == dt.datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


async def test_subscribe_to_named_topics_then_again_updates_them(
    bot: BotHarness, clock: Clock
) -> None:
    reply = (await bot.say("/subscribe trade AI governance")).only()
    assert "Trade" in reply.text
    assert (await subscription_of(bot, 1001)).topics == ("ai-governance", "trade")
    again = (await bot.say("/subscribe cybersecurity")).only()
    assert "Subscription updated" in again.text
    assert "Topics: Cybersecurity" in again.text
    assert (await subscription_of(bot, 1001)).topics == ("cybersecurity",)


async def test_an_unknown_topic_lists_the_valid_ones_and_saves_nothing(
    bot: BotHarness, clock: Clock
) -> None:
    reply = (await bot.say("/subscribe trade <quantum>")).only()
    parse_telegram_html(reply.html)
    assert "I don't know the topic “<quantum>”" in reply.text
    assert "digital-economy" in reply.text
    assert "ai-governance" in reply.text
    assert await stored(bot, 1001) is None


async def test_a_deep_link_subscribes_in_one_tap(bot: BotHarness, clock: Clock) -> None:
    reply = (await bot.say("/start sub_trade")).only()
    assert "Subscribed" in reply.text
    assert (await subscription_of(bot, 1001)).topics == ("trade",)
    unknown = (await bot.say("/start sub_quantum", chat_id=1002)).only()
    assert "Welcome to aseanbot" in unknown.text
    assert "names a topic I don't have" in unknown.text
    assert await stored(bot, 1002) is None


# --- the settings message ----------------------------------------------------------------------


async def test_settings_presses_edit_one_message_and_save_each_change(
    bot: BotHarness, clock: Clock
) -> None:
    await bot.say("/subscribe")
    message = (await bot.say("/settings")).only()
    assert "Digest settings" in message.text

    message = edited_in_place(await bot.press_button(message, "🏷 Topics"), message)
    message = edited_in_place(await bot.press_button(message, "Trade"), message)
    assert "✅ Trade" in button_labels(message)
    assert (await subscription_of(bot, 1001)).topics == ("trade",)
    message = edited_in_place(await bot.press_button(message, "◀ Back"), message)
    assert "Topics: Trade" in message.text

    message = edited_in_place(await bot.press_button(message, "🔁 How often"), message)
    message = edited_in_place(await bot.press_button(message, "Weekly"), message)
    assert "Which day" in message.text
    message = edited_in_place(await bot.press_button(message, "Friday"), message)
    saved = await subscription_of(bot, 1001)
    assert (saved.schedule.frequency, saved.schedule.weekday) == ("weekly", 4)
    assert saved.next_due_at == dt.datetime(2026, 12, 4, 1, 0, tzinfo=UTC)  # Fri 08:00 WIB
    assert "Weekly on Friday at 08:00" in message.text

    message = edited_in_place(await bot.press_button(message, "🕗 Time"), message)
    message = edited_in_place(await bot.press_button(message, "10:00"), message)
    saved = await subscription_of(bot, 1001)
    assert saved.schedule.local_time == dt.time(10, 0)
    assert saved.next_due_at == dt.datetime(2026, 12, 4, 3, 0, tzinfo=UTC)

    message = edited_in_place(await bot.press_button(message, "🌐 Time zone"), message)
    message = edited_in_place(await bot.press_button(message, "🇵🇭 Manila"), message)
    saved = await subscription_of(bot, 1001)
    assert saved.schedule.timezone == "Asia/Manila"
    assert saved.next_due_at == dt.datetime(2026, 12, 4, 2, 0, tzinfo=UTC)  # 10:00 UTC+8
    assert "Next digest: Fri 4 Dec, 10:00 (Asia/Manila)" in message.text

    message = edited_in_place(
        await bot.press_button(message, "📭 Say when nothing is new: off"), message
    )
    assert (await subscription_of(bot, 1001)).send_empty
    closed = edited_in_place(await bot.press_button(message, "✖ Close"), message)
    assert closed.reply_markup is None


async def test_stale_or_forged_settings_presses_get_the_polite_answer(
    bot: BotHarness, clock: Clock
) -> None:
    await bot.say("/subscribe")
    message = (await bot.say("/settings")).only()
    before = await subscription_of(bot, 1001)
    for data in (
        "st|topic|no-such-topic",
        "st|country|ASEAN",
        "st|zone|Mars/Base",
        "st|time|25:00",
        "st|weekday|someday",
        "st|frequency|hourly",
        "st|empty|maybe",
        "st|main|x",
        "st|nosuchscreen|",
    ):
        exchange = await bot.press(data, message_id=message.message_id)
        assert exchange.messages == [], data
        assert exchange.answered_callbacks()[-1].get("text") == STALE, data
    assert await subscription_of(bot, 1001) == before


async def test_settings_without_a_subscription_offer_one(bot: BotHarness, clock: Clock) -> None:
    message = (await bot.say("/settings")).only()
    assert "no digest" in message.text
    assert button_labels(message) == ["🔔 Subscribe"]
    subscribed = edited_in_place(await bot.press_button(message, "🔔 Subscribe"), message)
    assert "Subscribed" in subscribed.text
    assert (await subscription_of(bot, 1001)).active


# --- typed schedule changes ---------------------------------------------------------------------


async def test_time_timezone_and_frequency_commands(bot: BotHarness, clock: Clock) -> None:
    await bot.say("/subscribe")
    reply = (await bot.say("/time 7:30pm")).only()
    assert "Daily at 19:30" in reply.text
    assert "Next digest: Tue 1 Dec, 19:30 (Asia/Jakarta)" in reply.text
    assert (await subscription_of(bot, 1001)).next_due_at == dt.datetime(
        2026, 12, 1, 12, 30, tzinfo=UTC
    )

    reply = (await bot.say("/timezone Manila")).only()
    assert "Next digest: Tue 1 Dec, 19:30 (Asia/Manila)" in reply.text
    saved = await subscription_of(bot, 1001)
    assert saved.schedule.timezone == "Asia/Manila"
    assert saved.next_due_at == dt.datetime(2026, 12, 1, 11, 30, tzinfo=UTC)

    reply = (await bot.say("/timezone UTC+7")).only()
    assert "UTC+07:00" in reply.text
    assert (await subscription_of(bot, 1001)).schedule.timezone == "UTC+07:00"

    reply = (await bot.say("/frequency weekly friday")).only()
    assert "Weekly on Friday at 19:30" in reply.text
    saved = await subscription_of(bot, 1001)
    assert saved.next_due_at == dt.datetime(2026, 12, 4, 12, 30, tzinfo=UTC)

    reply = (await bot.say("/frequency off")).only()
    assert "No digest is scheduled" in reply.text
    assert (await subscription_of(bot, 1001)).next_due_at is None


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("/timezone Mars/Base", "I don't know the time zone “Mars/Base”"),
        ("/timezone Jakata", "Did you mean Asia/Jakarta?"),
        ("/time 25:00", "as a time of day"),
        ("/frequency sometimes", "is not a frequency"),
        ("/time", "/time 7:30am"),
        ("/timezone", "/timezone Manila"),
        ("/frequency", "/frequency weekly monday"),
    ],
)
async def test_bad_schedule_input_explains_and_changes_nothing(
    bot: BotHarness, clock: Clock, command: str, expected: str
) -> None:
    await bot.say("/subscribe")
    before = await subscription_of(bot, 1001)
    reply = (await bot.say(command)).only()
    parse_telegram_html(reply.html)
    assert expected in reply.text
    assert await subscription_of(bot, 1001) == before


async def test_schedule_commands_need_a_subscription_first(bot: BotHarness, clock: Clock) -> None:
    reply = (await bot.say("/time 7am")).only()
    assert "subscribe first with /subscribe" in reply.text
    assert await stored(bot, 1001) is None


# --- preview and unsubscribe -------------------------------------------------------------------


async def test_digest_previews_what_is_new_without_counting_it_sent(
    bot: BotHarness, clock: Clock
) -> None:
    await bot.say("/subscribe trade")
    record = Record(
        id="synthetic-preview-1",
        kind="event",
        title="Synthetic preview item",
        sources=("https://example.org/preview",),
        topics=("trade",),
        countries=("TH",),
        outcome="Something new for the preview",
    )
    clock.now = NOW + dt.timedelta(minutes=10)
    await services(bot).opened_store.import_dataset(Dataset(records=(record,)), now=clock())
    clock.now = NOW + dt.timedelta(minutes=20)
    before = await subscription_of(bot, 1001)

    preview = (await bot.say("/digest")).messages
    assert "Your ASEAN digest" in preview[0].text
    assert "Synthetic preview item" in preview[-1].text
    assert button_labels(preview[-1]) == ["⚙️ Settings", "🔕 Unsubscribe"]
    after = await subscription_of(bot, 1001)
    assert after.watermark == before.watermark
    assert after.next_due_at == before.next_due_at
    assert await services(bot).opened_store.subscriptions.deliveries_for(1001) == ()

    # The digest's Settings button opens settings below it; the digest stays as it was.
    opened = (await bot.press_button(preview[-1], "⚙️ Settings")).only()
    assert not opened.edited
    assert "Digest settings" in opened.text


async def test_digest_without_a_subscription_previews_everything_and_offers_one(
    bot: BotHarness, clock: Clock
) -> None:
    exchange = await bot.say("/digest")
    assert "not subscribed" in exchange.messages[-1].text
    assert button_labels(exchange.messages[-1]) == ["🔔 Subscribe"]
    assert await stored(bot, 1001) is None


async def test_unsubscribe_then_subscribe_again(bot: BotHarness, clock: Clock) -> None:
    assert "not subscribed" in (await bot.say("/unsubscribe")).only().text
    await bot.say("/subscribe trade")
    reply = (await bot.say("/unsubscribe")).only()
    assert "Unsubscribed" in reply.text
    stopped = await subscription_of(bot, 1001)
    assert not stopped.active
    assert stopped.deactivated_reason == "unsubscribed"
    assert stopped.next_due_at is None

    again = edited_in_place(await bot.press_button(reply, "🔔 Subscribe again"), reply)
    assert "Subscribed again" in again.text
    resumed = await subscription_of(bot, 1001)
    assert resumed.active
    assert resumed.topics == ("trade",)
    assert resumed.next_due_at == dt.datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


# --- groups, forum topics, removal ---------------------------------------------------------------


async def test_in_a_group_only_admins_may_subscribe_or_press(bot: BotHarness, clock: Clock) -> None:
    bot.api.chat_admins[GROUP] = {1001: "member"}
    refused = (await bot.say("/subscribe", chat_id=GROUP, chat_type="supergroup")).only()
    assert ADMINS_ONLY in refused.text
    assert await stored(bot, GROUP) is None

    bot.api.chat_admins[GROUP] = {1001: "administrator"}
    reply = (await bot.say("/subscribe", chat_id=GROUP, chat_type="supergroup")).only()
    assert "Subscribed" in reply.text
    assert (await subscription_of(bot, GROUP)).chat_type == "supergroup"
    settings = (await bot.say("/settings", chat_id=GROUP, chat_type="supergroup")).only()

    bot.api.chat_admins[GROUP] = {1001: "member"}  # demoted: nothing is cached
    exchange = await bot.press_button(settings, "🏷 Topics")
    assert exchange.messages == []
    assert exchange.answered_callbacks()[-1].get("text") == ADMINS_ONLY

    bot.api.chat_admins[GROUP] = {1001: "creator"}
    edited_in_place(await bot.press_button(settings, "🏷 Topics"), settings)


async def test_an_anonymous_admin_may_subscribe_the_group(bot: BotHarness, clock: Clock) -> None:
    chat = {"id": GROUP, "type": "supergroup", "title": "Test group"}
    message = {
        "message_id": 50,
        "from": {"id": 1087968824, "is_bot": True, "first_name": "Group"},
        "sender_chat": chat,
        "chat": chat,
        "date": int(time.time()),
        "text": "/subscribe",
        "entities": [{"type": "bot_command", "offset": 0, "length": 10}],
    }
    sent = await after_other_updates(bot, lambda: bot.api.inject_update({"message": message}))
    assert any("Subscribed" in m.text for m in sent)
    assert (await subscription_of(bot, GROUP)).active


async def test_a_channel_subscribes_with_a_post(bot: BotHarness, clock: Clock) -> None:
    """Only a channel's admins can post in it, so a posted /subscribe is trusted."""
    chat = {"id": -300, "type": "channel", "title": "ASEAN watchers"}
    post = {
        "message_id": 9,
        "sender_chat": chat,
        "chat": chat,
        "date": int(time.time()),
        "text": "/subscribe trade",
        "entities": [{"type": "bot_command", "offset": 0, "length": 10}],
    }
    sent = await after_other_updates(bot, lambda: bot.api.inject_update({"channel_post": post}))
    assert any("Subscribed" in m.text and m.chat_id == -300 for m in sent)
    subscription = await subscription_of(bot, -300)
    assert subscription.chat_type == "channel"
    assert subscription.topics == ("trade",)


async def test_a_forum_topic_subscription_keeps_its_thread(bot: BotHarness, clock: Clock) -> None:
    bot.api.chat_admins[-200] = {1001: "administrator"}
    reply = (
        await bot.say("/subscribe", chat_id=-200, chat_type="supergroup", message_thread_id=7)
    ).only()
    assert reply.message_thread_id == 7
    assert (await subscription_of(bot, -200)).thread_id == 7


@pytest.mark.parametrize(
    ("chat", "status", "reason"),
    [
        ({"id": GROUP, "type": "supergroup", "title": "G"}, "kicked", "bot removed"),
        ({"id": GROUP, "type": "group", "title": "G"}, "left", "bot removed"),
        ({"id": 1001, "type": "private", "first_name": "Ana"}, "kicked", "bot blocked"),
    ],
)
async def test_removing_or_blocking_the_bot_stops_the_digest(
    bot: BotHarness, clock: Clock, chat: dict[str, Any], status: str, reason: str
) -> None:
    await save_subscription(bot, chat["id"], now=NOW, chat_type=chat["type"], timezone="UTC")
    me = {"id": bot.api.bot_id, "is_bot": True, "first_name": "Bot", "username": "aseanbot_test"}
    new_member: dict[str, Any] = {"status": status, "user": me}
    if status == "kicked":
        new_member["until_date"] = 0
    update = {
        "my_chat_member": {
            "chat": chat,
            "from": {"id": 1001, "is_bot": False, "first_name": "Ana"},
            "date": int(time.time()),
            "old_chat_member": {"status": "member", "user": me},
            "new_chat_member": new_member,
        }
    }
    sent = await after_other_updates(bot, lambda: bot.api.inject_update(update))
    assert sent == []
    stopped = await subscription_of(bot, chat["id"])
    assert not stopped.active
    assert stopped.deactivated_reason == reason
