"""A digest broadcast killed with SIGKILL and restarted: nobody missed, few or no doubles.

The broadcast runs as `python bot.py send-digests` in a subprocess against the fake Bot API,
paced by the real rate limiter (30 messages/s). It is killed while sending, then run again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

from aseanbot.delivery.digests import DEFAULT_CONCURRENCY
from aseanbot.importing import sync_data_dir
from aseanbot.scheduling import Schedule
from aseanbot.store import Store
from aseanbot.subscribing import new_subscription
from tests.e2e.harness import TOKEN
from tests.fake_bot_api import FakeBotApi

ROOT = Path(__file__).resolve().parents[1]
SUBSCRIBERS = 200
FIRST_CHAT = 70_000


async def prepare_database(path: Path) -> None:
    """Data imported, and SUBSCRIBERS chats whose daily digest fell due two minutes ago."""
    store = await Store.open(path)
    try:
        now = dt.datetime.now(dt.UTC)
        # Imported an hour ago: inside every digest's window, which ends at the due minute.
        await sync_data_dir(store, ROOT / "data", now=now - dt.timedelta(hours=1))
        due = (now - dt.timedelta(minutes=2)).replace(second=0, microsecond=0)
        schedule = Schedule("daily", due.time().replace(tzinfo=None), "UTC")
        for chat_id in range(FIRST_CHAT, FIRST_CHAT + SUBSCRIBERS):
            subscription = new_subscription(
                chat_id=chat_id,
                chat_type="private",
                thread_id=None,
                topics=("online-safety",),  # a one-message digest each
                timezone="UTC",
                now=now,
            )
            await store.subscriptions.save(
                replace(
                    subscription,
                    schedule=schedule,
                    next_due_at=due,
                    watermark=now - dt.timedelta(days=1),
                )
            )
    finally:
        await store.close()


def environment(api: FakeBotApi, db_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ASEANBOT_"))}
    env.update(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": api.base_url,
            "ASEANBOT_DB_PATH": str(db_path),
            "ASEANBOT_DATA_DIR": str(ROOT / "data"),
            "LOG_LEVEL": "WARNING",
        }
    )
    return env


async def start_broadcast(env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "bot.py"),
        "send-digests",
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def test_a_killed_broadcast_resumes_without_losing_or_doubling(tmp_path: Path) -> None:
    db_path = tmp_path / "crash.db"
    await prepare_database(db_path)
    api = FakeBotApi(token=TOKEN)
    await api.start()
    try:
        env = environment(api, db_path)
        first = await start_broadcast(env, tmp_path)
        await api.wait_for_messages(SUBSCRIBERS // 3, timeout=60)
        first.send_signal(signal.SIGKILL)
        await first.wait()
        delivered_before_kill = len(api.sent)
        assert delivered_before_kill < SUBSCRIBERS, "killed too late to test anything"

        second = await start_broadcast(env, tmp_path)
        assert await asyncio.wait_for(second.wait(), 90) == 0
    finally:
        await api.stop()

    received = Counter(message.chat_id for message in api.sent)
    missed = set(range(FIRST_CHAT, FIRST_CHAT + SUBSCRIBERS)) - set(received)
    assert not missed, f"{len(missed)} subscribers got no digest"
    doubled = sum(count - 1 for count in received.values())
    print(f"killed after {delivered_before_kill} of {SUBSCRIBERS}; {doubled} sent twice")
    # Only a send in flight at the kill can go out twice: Telegram had it, the ledger did not.
    assert doubled <= DEFAULT_CONCURRENCY

    store = await Store.open(db_path)
    try:
        for chat_id in (FIRST_CHAT, FIRST_CHAT + SUBSCRIBERS - 1):
            [delivery] = await store.subscriptions.deliveries_for(chat_id)
            assert delivery.state == "sent"
    finally:
        await store.close()
