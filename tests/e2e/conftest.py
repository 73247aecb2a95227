"""Fixtures for end-to-end tests: the fake Bot API and the real bot running against it."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aseanbot.app import build_application
from aseanbot.config import load_settings
from aseanbot.delivery.limiter import TelegramRateLimiter
from aseanbot.handlers.throttle import THROTTLE_KEY, UserThrottle
from aseanbot.importing import sync_data_dir
from aseanbot.store import Store
from tests.e2e.harness import TOKEN, BotHarness, running
from tests.fake_bot_api import FakeBotApi

DATA_DIR = Path(__file__).resolve().parents[2] / "data"


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeBotApi]:
    api = FakeBotApi(token=TOKEN, bot_username="aseanbot_test")
    await api.start()
    try:
        yield api
    finally:
        await api.stop()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A private copy of data/, so a test may add records to it."""
    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy)
    return copy


@pytest.fixture(scope="session")
def seeded_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database with data/ imported once per run; each bot starts from a copy of it."""
    path = tmp_path_factory.mktemp("seeded") / "seeded.db"

    async def seed() -> None:
        store = await Store.open(path)
        try:
            await sync_data_dir(store, DATA_DIR, now=datetime.now(UTC))
        finally:
            await store.close()

    asyncio.run(seed())
    return path


@pytest.fixture
async def bot(
    fake_api: FakeBotApi, data_dir: Path, tmp_path: Path, seeded_database: Path
) -> AsyncIterator[BotHarness]:
    # Same data, same fingerprint: the bot sees data/ unchanged and skips the import.
    shutil.copyfile(seeded_database, tmp_path / "bot.db")
    settings = load_settings(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": fake_api.base_url,
            "ASEANBOT_DB_PATH": str(tmp_path / "bot.db"),
            "ASEANBOT_DATA_DIR": str(data_dir),
        }
    )
    # The real limiter, without Telegram's one-message-a-second pacing per chat: these tests
    # trade many messages with one chat (the pacing has its own tests in test_limiter.py).
    limiter = TelegramRateLimiter(private_interval=0.001, group_per_minute=100_000)
    application = build_application(settings, rate_limiter=limiter)
    harness = BotHarness(application, fake_api)

    async def record_error(update: object, context: object) -> None:
        harness.errors.append(context.error)  # type: ignore[attr-defined]

    application.add_error_handler(record_error)
    # These tests fire many updates from one user; the throttle has its own tests.
    application.bot_data[THROTTLE_KEY] = UserThrottle(limit=1_000_000)
    async with running(application):
        yield harness
