"""Operator commands end to end: /stats, /broadcast, /reload, /ingest for admins, and for
everyone else nothing but the unknown-command reply."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import shutil
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

from aseanbot.callbacks import AdminAction, CallbackDataError, decode, encode
from aseanbot.delivery.broadcast import BroadcastSender
from aseanbot.handlers import ADMIN_COMMANDS
from aseanbot.importing import sync_data_dir
from aseanbot.models import Subscription
from aseanbot.scheduling import Schedule
from aseanbot.services import Services
from aseanbot.store import Store
from aseanbot.store.feeds import FeedItem
from aseanbot.store.subscriptions import Settlement
from tests.e2e.harness import (
    BotHarness,
    Exchange,
    button_data,
    button_labels,
    save_subscription,
)
from tests.fake_bot_api import SentMessage, parse_telegram_html, utf16_len
from tests.feed_server import FeedServer
from tests.owed import owed_digest
from tests.test_cli import environment, run
from tests.test_export import FEED_RECORD

ADMIN = 1001
STRANGER = 2002
UTC = dt.UTC
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def admin_bot(bot: BotHarness) -> BotHarness:
    """The running bot with user 1001 as its operator, and no jobs running on their own."""
    services = services_of(bot)
    services.settings = replace(services.settings, admin_ids=frozenset({ADMIN}))
    assert bot.application.job_queue is not None
    for job in bot.application.job_queue.jobs():
        job.schedule_removal()
    return bot


def services_of(bot: BotHarness) -> Services:
    found: Services = bot.application.bot_data["services"]
    return found


def store_of(bot: BotHarness) -> Store:
    return services_of(bot).opened_store


async def subscribe(
    bot: BotHarness,
    chat_id: int,
    *,
    chat_type: str = "private",
    thread_id: int | None = None,
    topics: tuple[str, ...] = (),
    **changes: object,
) -> Subscription:
    return await save_subscription(
        bot, chat_id, now=dt.datetime.now(UTC), chat_type=chat_type, thread_id=thread_id,
        topics=topics, **changes,
    )  # fmt: skip


async def wait_for_text(bot: BotHarness, chat_id: int, needle: str) -> SentMessage:
    """The first message to `chat_id` containing `needle`, once a background task sent it."""
    for _ in range(500):
        for message in bot.api.sent:
            if message.chat_id == chat_id and needle in message.text:
                return message
        await asyncio.sleep(0.01)
    raise AssertionError(f"no message with {needle!r} to chat {chat_id}")


def api_methods(exchange: Exchange) -> list[str]:
    """The Bot API methods the bot called in an exchange (polling left out)."""
    return [call.method for call in exchange.calls if call.method != "getUpdates"]


def answer_texts(exchange: Exchange) -> list[str | None]:
    return [answer.get("text") for answer in exchange.answered_callbacks()]


def sent_to(bot: BotHarness, chat_id: int) -> list[SentMessage]:
    return [m for m in bot.api.sent if m.chat_id == chat_id]


# -- hidden from everyone else ----------------------------------------------------------------


async def test_admin_commands_are_not_in_the_menu_or_help(admin_bot: BotHarness) -> None:
    menu = {command["command"] for command in admin_bot.api.my_commands()}
    help_text = (await admin_bot.say("/help")).only().text
    for name in ADMIN_COMMANDS:
        assert name not in menu
        assert f"/{name}" not in help_text


@pytest.mark.parametrize("command", ["/stats", "/broadcast Hello everyone", "/reload", "/ingest"])
async def test_a_stranger_gets_exactly_the_unknown_command_reply(
    admin_bot: BotHarness, command: str
) -> None:
    await subscribe(admin_bot, 3001)
    unknown = await admin_bot.say("/nosuchcommand", chat_id=STRANGER)
    exchange = await admin_bot.say(command, chat_id=STRANGER)

    name = command.split()[0]
    assert exchange.only().text == unknown.only().text.replace("/nosuchcommand", name)
    assert exchange.only().text == f"I don't know {name}. Send /help to see what I can do."
    assert api_methods(exchange) == api_methods(unknown)
    assert sent_to(admin_bot, 3001) == []
    assert await store_of(admin_bot).broadcasts.unfinished() == ()


async def test_a_stranger_pressing_the_broadcast_buttons_gets_the_stale_answer(
    admin_bot: BotHarness,
) -> None:
    await subscribe(admin_bot, 3001)
    preview = (await admin_bot.say("/broadcast Maintenance tonight")).messages[-1]
    stale = await admin_bot.press("o|Not-An-Id!", message_id=1, chat_id=STRANGER)

    for label in ("✅ Send", "✖ Cancel"):
        data = button_data(preview, label)
        exchange = await admin_bot.press(data, message_id=preview.message_id, chat_id=STRANGER)
        assert exchange.messages == []
        assert answer_texts(exchange) == answer_texts(stale)
        assert api_methods(exchange) == api_methods(stale)
    assert sent_to(admin_bot, 3001) == []
    assert await store_of(admin_bot).broadcasts.unfinished() == ()

    # The stranger's presses changed nothing: the operator can still send it.
    await admin_bot.press_button(preview, "✅ Send")
    await wait_for_text(admin_bot, ADMIN, "Broadcast sent to 1 chat,")
    assert [m.text for m in sent_to(admin_bot, 3001)] == ["Maintenance tonight"]


@pytest.mark.parametrize(
    "data",
    [
        "ad|send|short",  # too short a token
        "ad|delete|abcdefghij",  # no such action
        "ad|send|abcdefghij\n",
        "ad|send|abc def ghij",
        "ad|send",
        "ad|send|" + "x" * 25,
    ],
)
def test_forged_admin_button_data_is_refused(data: str) -> None:
    with pytest.raises(CallbackDataError):
        decode(data)


def test_admin_button_data_round_trips() -> None:
    action = AdminAction("send", "Ab_-0123456789xy")
    data = encode(action)
    assert data == "ad|send|Ab_-0123456789xy"
    assert decode(data) == action


# -- /broadcast -----------------------------------------------------------------------------


async def test_a_broadcast_reaches_every_active_subscription_exactly_once(
    admin_bot: BotHarness,
) -> None:
    bot = admin_bot
    await subscribe(bot, 3001)
    await subscribe(bot, 3002)  # blocked the bot
    await subscribe(bot, -3003, chat_type="supergroup", thread_id=7)  # a forum topic
    await subscribe(bot, -3004, chat_type="group")  # became a supergroup
    await subscribe(bot, 3005, active=False, next_due_at=None)  # unsubscribed
    bot.api.block_chat(3002)
    bot.api.fail_next(
        "sendMessage",
        status=400,
        description="Bad Request: group chat was upgraded to a supergroup chat",
        migrate_to_chat_id=-1003004,
        chat_id=-3004,
    )
    text = "Digests pause on <Sunday> & resume Monday.\nThanks for reading!"

    exchange = await bot.say(f"/broadcast {text}")
    note, preview = exchange.messages
    assert "Broadcast preview" in note.text
    assert "4 chats" in note.text
    assert preview.text == text  # exactly what subscribers get
    assert button_labels(preview) == ["✅ Send to 4 chats", "✖ Cancel"]

    send = button_data(preview, "✅ Send")
    bot.api.callback_press(send, message_id=preview.message_id, chat_id=ADMIN)  # double tap
    confirmed = await bot.press(send, message_id=preview.message_id, chat_id=ADMIN)
    assert "Sending the broadcast to 4 chats" in confirmed.text
    answers = [call.get("text") for call in confirmed.answered_callbacks()]
    assert (
        answers[1] == "This preview was already sent or cancelled. Send /broadcast for a new one."
    )

    report = await wait_for_text(bot, ADMIN, "Broadcast sent to")
    assert report.text == "✅ Broadcast sent to 3 chats, 0 failed, 1 deactivated."
    assert [m.text for m in sent_to(bot, 3001)] == [text]
    [forum] = sent_to(bot, -3003)
    assert forum.text == text
    assert forum.message_thread_id == 7
    assert (forum.parse_mode, forum.link_preview_options) == ("HTML", {"is_disabled": True})
    assert [m.text for m in sent_to(bot, -1003004)] == [text]
    assert sent_to(bot, 3002) == sent_to(bot, 3005) == []
    shown = bot.api.message(ADMIN, preview.message_id)
    assert shown is not None
    assert "reply_markup" not in shown  # the preview's buttons are gone

    store = store_of(bot)
    blocked = await store.subscriptions.get(3002)
    assert blocked is not None
    assert not blocked.active
    assert "blocked" in (blocked.deactivated_reason or "")
    assert await store.subscriptions.get(-1003004) is not None
    assert await store.broadcasts.unfinished() == ()
    assert await store.broadcasts.delivery_states(1) == {
        3001: "sent",
        3002: "failed",
        -3003: "sent",
        -3004: "sent",
    }
    broadcast = await store.broadcasts.get(1)
    assert broadcast is not None
    assert (
        broadcast.text
        == "Digests pause on &lt;Sunday&gt; &amp; resume Monday.\nThanks for reading!"
    )
    assert broadcast.created_by == ADMIN


async def test_cancel_edits_the_preview_and_sends_nothing(admin_bot: BotHarness) -> None:
    await subscribe(admin_bot, 3001)
    preview = (await admin_bot.say("/broadcast Never mind")).messages[-1]

    cancelled = await admin_bot.press_button(preview, "✖ Cancel")
    edited = cancelled.only()
    assert edited.edited
    assert edited.message_id == preview.message_id
    assert edited.text == "✖ Cancelled: nothing was sent."
    assert edited.reply_markup is None

    late = await admin_bot.press(button_data(preview, "✅ Send"), message_id=preview.message_id)
    assert late.messages == []
    assert "already sent or cancelled" in late.answered_callbacks()[0]["text"]
    await asyncio.sleep(0.05)
    assert sent_to(admin_bot, 3001) == []
    assert await store_of(admin_bot).broadcasts.get(1) is None


@pytest.mark.parametrize("command", ["/broadcast", "/broadcast   "])
async def test_broadcast_without_text_explains_itself(admin_bot: BotHarness, command: str) -> None:
    reply = (await admin_bot.say(command)).only()
    assert "Send the announcement after the command" in reply.text
    assert button_labels(reply) == []


async def test_broadcast_with_no_subscribers_says_so(admin_bot: BotHarness) -> None:
    reply = (await admin_bot.say("/broadcast Anyone there?")).only()
    assert "no one to send to" in reply.text


async def test_server_errors_are_retried_then_the_chat_is_marked_failed(
    admin_bot: BotHarness,
) -> None:
    bot = admin_bot
    await subscribe(bot, 3001)
    await subscribe(bot, 3002)
    bot.api.fail_next("sendMessage", status=502, description="Bad Gateway", chat_id=3001)
    bot.api.fail_next(
        "sendMessage", status=500, description="Internal Server Error", chat_id=3002, times=9
    )
    bot.api.fail_next(
        "sendMessage", status=400, description="Bad Request: chat not found", chat_id=3003
    )
    await subscribe(bot, 3003)
    store = store_of(bot)
    broadcast_id, recipients = await store.broadcasts.create(
        "Retry me", created_by=ADMIN, now=dt.datetime.now(UTC)
    )
    sender = BroadcastSender(
        bot.application.bot,
        store,
        clock=lambda: dt.datetime.now(UTC),
        retry_delays=(dt.timedelta(0),) * 3,
    )
    report = await sender.send(broadcast_id)

    assert recipients == 3
    assert (report.sent, report.failed, report.deactivated) == (1, 1, 1)
    assert [m.text for m in sent_to(bot, 3001)] == ["Retry me"]
    attempts = [c for c in bot.api.calls("sendMessage") if c.params.get("chat_id") == 3002]
    assert len(attempts) == 4  # the first try and three retries
    assert await store.broadcasts.delivery_states(broadcast_id) == {
        3001: "sent",
        3002: "failed",
        3003: "failed",
    }
    gone = await store.subscriptions.get(3003)
    assert gone is not None
    assert not gone.active
    still = await store.subscriptions.get(3002)
    assert still is not None
    assert still.active  # a server error is not the chat's fault


# -- /reload ----------------------------------------------------------------------------------

NEW_RECORDS = """\
records:
- id: synthetic-space-forum-2026
  kind: event
  title: Synthetic <ASEAN> space forum
  date: '2026-05-04'
  countries: [TH]
  topics: [space]
  summary: A synthetic record added to a copy of the data for the reload test.
  sources:
  - https://example.org/space-forum
"""


async def test_reload_imports_the_changed_data_and_refreshes_topics(
    admin_bot: BotHarness, data_dir: Path
) -> None:
    topics = data_dir / "topics.yaml"
    topics.write_text(
        topics.read_text(encoding="utf-8")
        + "  - slug: space\n    name: Space\n    description: Satellites and launches.\n",
        encoding="utf-8",
    )
    (data_dir / "records" / "synthetic.yaml").write_text(NEW_RECORDS, encoding="utf-8")

    reply = (await admin_bot.say("/reload")).only()
    assert "Reloaded" in reply.text
    assert "1 added · 0 updated · 49 unchanged" in reply.text
    assert "Added: synthetic-space-forum-2026" in reply.text
    listed = (await admin_bot.say("/events space")).text
    assert "Synthetic <ASEAN> space forum" in listed

    again = (await admin_bot.say("/reload")).only()
    assert "0 added · 0 updated · 50 unchanged" in again.text
    # The reload counts as the import of this content: the next start does not redo it.
    store = store_of(admin_bot)
    assert await sync_data_dir(store, data_dir, now=dt.datetime.now(dt.UTC)) is None


async def test_reload_of_invalid_data_changes_nothing_and_says_why(
    admin_bot: BotHarness, data_dir: Path
) -> None:
    broken = NEW_RECORDS.replace("topics: [space]", "topics: [<no-such-topic>]")
    (data_dir / "records" / "synthetic.yaml").write_text(broken, encoding="utf-8")

    reply = (await admin_bot.say("/reload")).only()
    assert "is invalid" in reply.text
    assert "nothing was changed" in reply.text
    assert "unknown topic '<no-such-topic>'" in reply.text
    parse_telegram_html(reply.html)
    assert await store_of(admin_bot).get_item("synthetic-space-forum-2026") is None


# -- /stats -----------------------------------------------------------------------------------


async def test_a_failure_to_count_a_user_never_costs_the_answer(
    admin_bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def locked(user_id: int, *, now: dt.datetime) -> None:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(store_of(admin_bot).stats, "record_user", locked)
    reply = (await admin_bot.say("/help", chat_id=STRANGER)).only()
    assert "What I can do" in reply.text
    assert admin_bot.errors == []


async def test_stats_counts_users_subscriptions_digests_items_and_feeds(
    admin_bot: BotHarness,
) -> None:
    bot = admin_bot
    store = store_of(bot)
    now = dt.datetime.now(UTC)
    await bot.say("/start", chat_id=STRANGER)
    await subscribe(bot, 3001, topics=("trade", "ai-governance"))
    await subscribe(bot, 3002, topics=("trade",))
    weekly = Schedule(frequency="weekly", local_time=dt.time(8), timezone="Asia/Jakarta", weekday=4)
    await subscribe(bot, 3003, schedule=weekly)
    await subscribe(bot, 3004, active=False, next_due_at=None)

    # Digests: one sent and one failed today, one sent three days ago.
    ledger = store.subscriptions
    periods = {
        3001: now - dt.timedelta(hours=2),
        3002: now - dt.timedelta(hours=2),
        3003: now - dt.timedelta(days=3),
    }
    pending = {}
    for chat_id, period in periods.items():
        subscription = await ledger.get(chat_id)
        assert subscription is not None
        pending[chat_id] = owed_digest(subscription, period)

    async def sent(chat_id: int, at: dt.datetime) -> None:
        await ledger.settle([Settlement(pending[chat_id], chat_id, "sent", 1)], now=at)

    await sent(3001, now - dt.timedelta(hours=1))
    await ledger.fail_attempt(pending[3002], chat_id=3002, error="boom", retry_at=None, now=now)
    await sent(3003, now - dt.timedelta(days=3))

    # Feeds: one healthy with an item, one failing twice in a row.
    link = FEED_RECORD.sources[0]
    await store.feeds.record_fetch("example-news", "https://example.org/feed", ok=True, now=now)
    await store.feeds.store_items(
        "example-news", [FeedItem(FEED_RECORD, (f"url:{link}",), link)], now=now
    )
    for _ in range(2):
        await store.feeds.record_fetch(
            "broken-news", "https://example.org/b", ok=False, now=now, error="HTTP 500 <oops>"
        )

    reply = (await bot.say("/stats")).only()
    text = reply.text
    assert "aseanbot stats" in text
    assert "Users: 2 seen, 2 in the last 7 days" in text
    assert "Active subscriptions: 3" in text
    assert "By frequency: Daily 2 · Weekly 1" in text
    assert "By topic: all topics 1 · Trade 2 · AI governance 1" in text
    assert "Last 24 h: 1 sent · 0 empty · 1 failed" in text
    assert "Last 7 days: 2 sent · 0 empty · 1 failed" in text
    assert "Items: 50" in text
    assert "data files 49 · example-news 1" in text
    assert "✅ example-news · 1 item · last success" in text
    assert "⚠️ broken-news · 0 items · 2 failures in a row · last success never" in text
    assert "HTTP 500 <oops>" in text
    parse_telegram_html(reply.html)
    assert utf16_len(text) <= 4096


async def test_stats_on_the_command_line_prints_the_same_numbers(
    tmp_path: Path, seeded_database: Path
) -> None:
    database = tmp_path / "copy.db"
    shutil.copyfile(seeded_database, database)
    env = environment(tmp_path, ASEANBOT_DB_PATH=str(database))
    code, out, err = await run(tmp_path, str(ROOT / "bot.py"), "stats", env=env)
    assert code == 0, err
    assert "📊 aseanbot stats" in out
    assert "Users: 0 seen, 0 in the last 7 days" in out
    assert "Items: 49\ndata files 49" in out
    assert "<b>" not in out


# -- /ingest ----------------------------------------------------------------------------------


async def test_ingest_fetches_every_source_and_reports_each(
    admin_bot: BotHarness, data_dir: Path, feed_server: FeedServer
) -> None:
    (data_dir / "feeds.yaml").write_text(
        "feeds:\n"
        f"  - name: synthetic-desk\n    url: {feed_server.url('/rss2.xml')}\n"
        "    enabled: true\n    topics: [digital-economy]\n"
        f"  - name: broken-desk\n    url: {feed_server.url('/error', host='localhost')}\n"
        "    enabled: true\n    topics: [trade]\n",
        encoding="utf-8",
    )
    started = (await admin_bot.say("/ingest")).only()
    assert "Fetching every feed source" in started.text

    report = await wait_for_text(admin_bot, ADMIN, "Feeds fetched")
    lines = report.text.split("\n\n")
    assert lines[0].startswith("📡 Feeds fetched:")
    ok = next(line for line in lines if "synthetic-desk" in line)
    failed = next(line for line in lines if "broken-desk" in line)
    assert ok.startswith("✅ synthetic-desk: ")
    assert re.fullmatch(r"✅ synthetic-desk: \d+ added · \d+ updated · \d+ duplicates", ok)
    assert failed.startswith("❌ broken-desk: ")
    stats = await store_of(admin_bot).stats.collect(now=dt.datetime.now(UTC))
    added = dict(stats.items_by_origin).get("synthetic-desk", 0)
    assert added > 0
    assert f"{added} added" in ok
    assert lines[0] == f"📡 Feeds fetched: {added} new"
