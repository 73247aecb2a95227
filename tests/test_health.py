"""The /healthz endpoint: the real Application against the fake Bot API, asked over HTTP.

(The endpoint in a polling subprocess is in test_cli.py, in webhook mode in test_webhook.py.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram.ext import Application

from aseanbot.app import DIGEST_JOB_NAME, build_application
from aseanbot.config import load_settings
from aseanbot.delivery.limiter import TelegramRateLimiter
from aseanbot.health import collect_health
from aseanbot.services import SERVICES_KEY, Services
from aseanbot.store import Store
from aseanbot.store.subscriptions import Settlement
from aseanbot.subscribing import new_subscription
from tests.e2e.harness import TOKEN, FixedClock, running
from tests.fake_bot_api import FakeBotApi
from tests.owed import owed_digest
from tests.test_cli import DATA_DIR, free_port, get_health

NOW = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
BODY_KEYS = {"status", "store", "scheduler", "last_telegram_ok_at", "feeds", "counters"}
COUNTER_KEYS = {
    "updates_handled",
    "messages_sent",
    "messages_failed",
    "telegram_429s",
    "digest_queue_depth",
    "digest_lag_seconds",
}


@dataclass
class RunningBot:
    application: Application  # type: ignore[type-arg]
    api: FakeBotApi
    port: int

    @property
    def services(self) -> Services:
        services: Services = self.application.bot_data[SERVICES_KEY]
        return services


@pytest.fixture
async def bot(fake_api: FakeBotApi, tmp_path: Path) -> AsyncIterator[RunningBot]:
    """The bot, polling, with its health endpoint on a free port."""
    port = free_port()
    settings = load_settings(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": fake_api.base_url,
            "ASEANBOT_DB_PATH": str(tmp_path / "bot.db"),
            "ASEANBOT_DATA_DIR": str(DATA_DIR),
            "ASEANBOT_HEALTH_PORT": str(port),
        }
    )
    limiter = TelegramRateLimiter(private_interval=0.001, group_per_minute=100_000)
    application = build_application(settings, rate_limiter=limiter)
    async with running(application):
        yield RunningBot(application, fake_api, port)


async def test_healthz_answers_200_with_the_state_and_counters(bot: RunningBot) -> None:
    bot.api.user_message("/latest 2", chat_id=1001)
    [reply] = await bot.api.wait_for_messages(1)
    assert "Latest 2" in reply.text

    status, body = await get_health(bot.port, until=lambda b: b["counters"]["messages_sent"] == 1)
    assert status == 200
    assert set(body) == BODY_KEYS
    assert set(body["counters"]) == COUNTER_KEYS
    assert (body["status"], body["store"], body["scheduler"]) == ("ok", True, True)
    last_ok = dt.datetime.fromisoformat(body["last_telegram_ok_at"])
    assert abs(dt.datetime.now(dt.UTC) - last_ok) < dt.timedelta(seconds=60)
    assert body["feeds"] == []
    assert body["counters"] == {
        "updates_handled": 1,
        "messages_sent": 1,
        "messages_failed": 0,
        "telegram_429s": 0,
        "digest_queue_depth": 0,
        "digest_lag_seconds": 0.0,
    }


async def test_429s_and_failed_sends_are_counted(bot: RunningBot) -> None:
    # A 429 the rate limiter waits out and retries: one 429, one message sent.
    bot.api.fail_next(
        "sendMessage", status=429, description="Too Many Requests: retry after 1", retry_after=1
    )
    bot.api.user_message("/latest 1", chat_id=1001)
    await bot.api.wait_for_messages(1, timeout=10)
    # A blocked chat: the reply fails, and so does the error handler's apology.
    bot.api.block_chat(1002)
    bot.api.user_message("/latest 1", chat_id=1002)

    _, body = await get_health(bot.port, until=lambda b: b["counters"]["messages_failed"] == 2)
    counters = body["counters"]
    assert (counters["telegram_429s"], counters["messages_sent"]) == (1, 1)
    assert counters["updates_handled"] == 2


async def test_a_closed_store_makes_healthz_503(bot: RunningBot) -> None:
    await bot.services.opened_store.close()

    status, body = await get_health(bot.port)
    assert status == 503
    assert (body["status"], body["store"], body["scheduler"]) == ("unhealthy", False, True)
    assert body["counters"]["digest_queue_depth"] is None
    assert body["feeds"] == []


async def test_no_scheduled_digest_job_makes_healthz_503(bot: RunningBot) -> None:
    assert bot.application.job_queue is not None
    for job in bot.application.job_queue.get_jobs_by_name(DIGEST_JOB_NAME):
        job.schedule_removal()

    status, body = await get_health(bot.port)
    assert status == 503
    assert (body["status"], body["store"], body["scheduler"]) == ("unhealthy", True, False)


async def test_the_endpoint_is_off_by_default_and_closes_at_shutdown(
    fake_api: FakeBotApi, tmp_path: Path
) -> None:
    env = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": fake_api.base_url,
        "ASEANBOT_DB_PATH": str(tmp_path / "bot.db"),
        "ASEANBOT_DATA_DIR": str(DATA_DIR),
    }
    application = build_application(load_settings(env))
    async with running(application):
        assert application.bot_data[SERVICES_KEY].health_server is None

    port = free_port()
    application = build_application(load_settings({**env, "ASEANBOT_HEALTH_PORT": str(port)}))
    async with running(application):
        status, _ = await get_health(port)
        assert status == 200
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/healthz")


async def test_digest_backlog_and_feeds_are_reported(tmp_path: Path) -> None:
    """Queue depth counts the digests owed (due, not settled: waiting for a pass or a retry);
    lag runs from the oldest; each feed shows its last success and failures in a row."""
    clock = FixedClock(NOW)
    services = Services(settings=load_settings({}), clock=clock)
    services.store = store = await Store.open(tmp_path / "health.db")
    try:
        due = NOW - dt.timedelta(minutes=10)
        subscription = new_subscription(
            chat_id=7, chat_type="private", thread_id=None, topics=(), timezone="UTC", now=due
        )
        subscription = replace(subscription, next_due_at=due)
        await store.subscriptions.save(subscription)
        await store.feeds.record_fetch("asean-news", "https://a.example/feed", ok=True, now=due)
        for _ in range(2):
            await store.feeds.record_fetch(
                "broken", "https://b.example/feed", ok=False, now=due, error="HTTP 500"
            )

        report = await collect_health(services, scheduler_ok=True)
        body = report.as_json()
        assert report.http_status == 200
        assert body["counters"]["digest_queue_depth"] == 1
        assert body["counters"]["digest_lag_seconds"] == 600.0
        assert body["feeds"] == [
            {"name": "asean-news", "last_success_at": "2026-03-02T00:50:00+00:00",
             "consecutive_failures": 0},
            {"name": "broken", "last_success_at": None, "consecutive_failures": 2},
        ]  # fmt: skip

        # A failed attempt waiting for its retry: still owed, and the lag grows.
        digest = owed_digest(subscription, due, next_due_at=due + dt.timedelta(days=1))
        retry_at = NOW + dt.timedelta(minutes=1)
        await store.subscriptions.fail_attempt(
            digest, chat_id=7, error="HTTP 502", retry_at=retry_at, now=NOW
        )
        clock.now = NOW + dt.timedelta(seconds=30)
        counters: dict[str, Any] = (await collect_health(services, scheduler_ok=True)).as_json()[
            "counters"
        ]
        assert counters["digest_queue_depth"] == 1
        assert counters["digest_lag_seconds"] == 630.0

        await store.subscriptions.settle([Settlement(digest, 7, "sent", 1)], now=clock.now)
        counters = (await collect_health(services, scheduler_ok=True)).as_json()["counters"]
        assert (counters["digest_queue_depth"], counters["digest_lag_seconds"]) == (0, 0.0)

        report = await collect_health(services, scheduler_ok=False)
        assert (report.http_status, report.as_json()["status"]) == (503, "unhealthy")
    finally:
        await store.close()
