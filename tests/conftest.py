"""Shared fixtures: a fresh Store per test, and a small valid data folder."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from aseanbot.store import Store
from tests.e2e.harness import TOKEN
from tests.fake_bot_api import FakeBotApi
from tests.feed_server import FeedServer

# As the bot runs (cli.main): RetryAfter.retry_after is a timedelta, PTB's future default.
os.environ.setdefault("PTB_TIMEDELTA", "1")

# A small data folder in the real format: reference data in three files, records in two,
# one record without a date, and a `feeds` key the loader must skip.
SAMPLE_TOPICS_YAML = """\
topics:
  - slug: digital-economy
    name: Digital economy
    description: Digital trade, e-commerce and the digital economy agreement.
    keywords: [digital economy, e-commerce, DEFA]
  - slug: trade
    name: Trade
    description: Free trade agreements and economic integration.
    keywords: [trade, tariff, RCEP]
  - slug: ai-governance
    name: AI governance
    description: Rules and guides for artificial intelligence.
    keywords: [artificial intelligence, AI]
"""

SAMPLE_COUNTRIES_YAML = """\
countries:
  - code: ASEAN
    name: ASEAN (all member states)
    aliases: [Southeast Asia]
  - code: TH
    name: Thailand
    aliases: [Thai, Bangkok]
  - code: VN
    name: Viet Nam
    aliases: [Vietnam, Hanoi]
  - code: SG
    name: Singapore
"""

SAMPLE_PARTNERS_YAML = """\
partners:
  - code: US
    name: United States
    aliases: [U.S., USA, Washington]
  - code: JP
    name: Japan
    aliases: [Japanese, Tokyo]
  - code: CN
    name: China
    aliases: [Chinese, Beijing]
"""

SAMPLE_RECORDS_A_YAML = """\
records:
- id: rcep-signed-hanoi-2020
  kind: event
  title: RCEP agreement signed at the 4th RCEP Summit
  date: '2020-11-15'
  location: virtual
  countries: [VN, ASEAN]
  partners: [CN, JP]
  topics: [trade]
  summary: The ten ASEAN members and five partners signed the Regional Comprehensive Economic
    Partnership at a video-linked summit hosted from Hanoi.
  key_focus: A 15-party free trade pact
  outcome: Agreement signed; ratification required before entry into force
  people:
  - Nguyen Xuan Phuc, Prime Minister of Viet Nam (summit chair)
  sources:
  - https://example.org/rcep-signed
- id: 5th-adgmin-bangkok-2025
  kind: event
  title: 5th ASEAN Digital Ministers' Meeting (ADGMIN)
  date: 2025-01-16
  end_date: 2025-01-17
  location: Bangkok, Thailand
  countries: [TH, ASEAN]
  partners: [US, JP]
  topics: [digital-economy, ai-governance]
  summary: Thailand hosted the digital ministers, who adopted the Bangkok Digital Declaration
    and endorsed a guide on generative AI.
  sources:
  - https://example.org/adgmin5
  - http://example.net/adgmin5-second
"""

SAMPLE_RECORDS_B_YAML = """\
feeds:
  - url: https://example.org/feed.xml
records:
- id: asean-ai-guide-2024
  kind: initiative
  title: ASEAN Guide on AI Governance and Ethics
  date: '2024-02-02'
  countries: [ASEAN, SG]
  topics: [ai-governance]
  summary: A voluntary regional guide for organisations that deploy artificial intelligence.
  sources:
  - https://example.org/ai-guide
- id: defa-negotiations
  kind: initiative
  title: ASEAN Digital Economy Framework Agreement negotiations
  countries: [ASEAN]
  topics: [digital-economy, trade]
  summary: Negotiations on the region-wide digital economy agreement, DEFA, first
    discussed over a café.
  sources:
  - https://example.org/defa
- id: aem-retreat-2025
  kind: event
  title: ASEAN Economic Ministers' Retreat
  date: '2025-02-28'
  countries: [ASEAN]
  partners: [US]
  topics: [trade]
  summary: Economic ministers set the priority economic deliverables for the year.
  sources:
  - https://example.org/aem-retreat
  - https://example.org/rcep-signed
"""

SAMPLE_FILES = {
    "topics.yaml": SAMPLE_TOPICS_YAML,
    "countries.yaml": SAMPLE_COUNTRIES_YAML,
    "partners.yaml": SAMPLE_PARTNERS_YAML,
    "records/a.yaml": SAMPLE_RECORDS_A_YAML,
    "records/b.yml": SAMPLE_RECORDS_B_YAML,
}


def write_data_folder(folder: Path, files: dict[str, str]) -> Path:
    """Write `files` (relative path → text) under `folder` and return the folder."""
    for relative, text in files.items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def dataset_dir(tmp_path: Path) -> Path:
    """A valid data folder named `data` with 3 topics, 4 countries, 3 partners, 5 records."""
    return write_data_folder(tmp_path / "data", SAMPLE_FILES)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """An open, empty Store on tmp_path / 'test.db', closed after the test."""
    opened = await Store.open(tmp_path / "test.db")
    yield opened
    await opened.close()


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    """A loopback server of fixture feeds; its slow feed outlasts every test fetcher's timeout."""
    server = FeedServer(slow_delay=3.0)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeBotApi]:
    """The fake Telegram Bot API on 127.0.0.1, for the bot token the tests use."""
    api = FakeBotApi(token=TOKEN)
    await api.start()
    try:
        yield api
    finally:
        await api.stop()
