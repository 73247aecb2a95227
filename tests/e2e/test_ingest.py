"""Feed ingestion end to end: a loopback feed server, the real store, the running bot.

Every feed here is synthetic (tests/fixtures/feeds/), served on 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from aseanbot.feeds.fetch import FeedFetcher
from aseanbot.feeds.ingest import UnknownSourceError, ingest_feeds
from aseanbot.models import IngestReport
from aseanbot.services import Services
from tests.e2e.harness import TOKEN, BotHarness
from tests.feed_server import FeedServer

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def fetcher(feed_server: FeedServer) -> AsyncIterator[FeedFetcher]:
    # A short timeout and no politeness wait: every source here is the same loopback host.
    fetcher = FeedFetcher(timeout=1.0, max_bytes=1024 * 1024, per_host_interval=0.0)
    try:
        yield fetcher
    finally:
        await fetcher.aclose()


def write_feeds(
    data_dir: Path, server: FeedServer, sources: dict[str, str], **extra: object
) -> None:
    """Write data_dir/feeds.yaml with one enabled source per name → path on the server."""
    feeds = [
        {
            "name": name,
            "url": server.url(path),
            "enabled": True,
            "topics": ["digital-economy"],
            "interval_minutes": 30,
            **extra,
        }
        for name, path in sources.items()
    ]
    (data_dir / "feeds.yaml").write_text(yaml.safe_dump({"feeds": feeds}), encoding="utf-8")


def services(bot: BotHarness) -> Services:
    found: Services = bot.application.bot_data["services"]
    return found


async def ingest(bot: BotHarness, fetcher: FeedFetcher, **options: object) -> IngestReport:
    return await ingest_feeds(services(bot), force=True, fetcher=fetcher, **options)  # type: ignore[arg-type]


async def test_new_entries_are_stored_tagged_and_reach_latest_and_search(
    bot: BotHarness, feed_server: FeedServer, fetcher: FeedFetcher, data_dir: Path
) -> None:
    # Today's news, as a real feed brings: the fixture with its dates moved to today.
    today = dt.datetime.now(dt.UTC).strftime("%d %b %Y").encode()
    body = feed_server.body("/rss2.xml")
    feed_server.set_route("/today.xml", re.sub(rb"\d\d \w\w\w 2024", today, body))
    write_feeds(data_dir, feed_server, {"synthetic-desk": "/today.xml"})
    report = await ingest(bot, fetcher)
    [source] = report.sources
    assert source.status == "ok"
    # Six entries: one has neither title nor text, one has no link (no source, no item).
    assert source.added == 4

    store = services(bot).opened_store
    thai = next(i for i in await store.latest_items(60) if "Thai ministry" in i.title)
    assert thai.kind == "update"
    assert "TH" in thai.countries
    assert "digital-economy" in thai.topics
    assert thai.sources[0].startswith("http")
    assert "<" not in (thai.summary or "")  # HTML turned into text
    hanoi = next(i for i in await store.latest_items(60) if "Hanoi" in i.title)
    assert "VN" in hanoi.countries
    assert "JP" in hanoi.partners
    assert "cybersecurity" in hanoi.topics

    latest = (await bot.say("/latest 5")).only()
    assert "Synthetic: Hanoi cybersecurity drill" in latest.text
    found = (await bot.say("/search Hanoi drill")).only()
    assert "Synthetic: Hanoi cybersecurity drill" in found.text
    card = await bot.say(f"/event {hanoi.id}")
    assert "Update" in card.text
    assert hanoi.sources[0] in card.html


async def test_the_same_story_from_two_sources_is_stored_once_with_both(
    bot: BotHarness, feed_server: FeedServer, fetcher: FeedFetcher, data_dir: Path
) -> None:
    write_feeds(data_dir, feed_server, {"source-a": "/dup-a.xml", "source-b": "/dup-b.xml"})
    report = await ingest(bot, fetcher)
    assert sum(s.added for s in report.sources) == 3
    assert sum(s.duplicates for s in report.sources) == 1
    store = services(bot).opened_store
    mekong = [i for i in await store.latest_items(80) if "mekong" in i.title.lower()]
    assert len(mekong) == 1
    assert len(mekong[0].sources) == 2

    again = await ingest(bot, fetcher)  # a second run: nothing new, nothing doubled
    assert all(s.status == "not_modified" for s in again.sources)
    assert len([i for i in await store.latest_items(80) if "mekong" in i.title.lower()]) == 1


async def test_an_unchanged_feed_is_fetched_conditionally(
    bot: BotHarness, feed_server: FeedServer, fetcher: FeedFetcher, data_dir: Path
) -> None:
    write_feeds(data_dir, feed_server, {"conditional": "/conditional.xml"})
    assert (await ingest(bot, fetcher)).sources[0].status == "ok"
    second = await ingest(bot, fetcher)
    assert second.sources[0].status == "not_modified"
    last = feed_server.requests_to("/conditional.xml")[-1]
    assert "if-none-match" in last.headers or "if-modified-since" in last.headers


async def test_a_feed_that_gains_an_entry_adds_just_that_one(
    bot: BotHarness, feed_server: FeedServer, fetcher: FeedFetcher, data_dir: Path
) -> None:
    write_feeds(data_dir, feed_server, {"growing": "/growing.xml"})
    body = feed_server.body("/rss2.xml")
    feed_server.set_route("/growing.xml", body)
    first = await ingest(bot, fetcher)
    assert first.sources[0].added == 4
    extra = (
        b"<item><title>Synthetic: Vientiane hosts a made-up trade fair</title>"
        b"<link>https://example.org/synthetic/vientiane-fair</link>"
        b"<guid>synthetic-growing-0099</guid></item></channel>"
    )
    feed_server.set_route("/growing.xml", body.replace(b"</channel>", extra))
    second = await ingest(bot, fetcher)
    assert (second.sources[0].added, second.sources[0].duplicates) == (1, 4)


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/malformed.xml", "not a feed"),
        ("/notfound", "HTTP 404"),
        ("/error", "HTTP 500"),
        ("/slow.xml", "timed out"),
        ("/huge.xml", "larger than"),
        ("/redirect-loop", "redirect"),
    ],
)
async def test_a_broken_source_is_recorded_and_the_others_go_on(
    bot: BotHarness,
    feed_server: FeedServer,
    fetcher: FeedFetcher,
    data_dir: Path,
    path: str,
    error: str,
) -> None:
    write_feeds(data_dir, feed_server, {"broken": path, "healthy": "/atom.xml"})
    store = services(bot).opened_store
    before = await store.item_ids()
    report = await ingest(bot, fetcher)
    by_name = {s.name: s for s in report.sources}
    assert by_name["broken"].status == "failed"
    assert error in (by_name["broken"].error or "")
    assert by_name["healthy"].status == "ok"
    assert by_name["healthy"].added >= 1
    after = await store.item_ids()
    assert set(before) <= set(after)  # nothing stored was lost or changed by the failure
    health = {h.name: h for h in await store.feeds.health()}
    assert health["broken"].consecutive_failures == 1
    assert error in (health["broken"].last_error or "")
    assert health["healthy"].consecutive_failures == 0
    assert health["healthy"].last_success_at is not None


async def test_a_source_is_not_fetched_again_before_its_interval(
    bot: BotHarness, feed_server: FeedServer, fetcher: FeedFetcher, data_dir: Path
) -> None:
    write_feeds(data_dir, feed_server, {"atom": "/atom.xml"})
    await ingest(bot, fetcher)
    report = await ingest_feeds(services(bot), fetcher=fetcher)  # the job's way: not forced
    assert report.sources[0].status == "skipped"
    assert len(feed_server.requests_to("/atom.xml")) == 1


async def test_disabled_sources_are_left_alone_unless_named(
    bot: BotHarness, feed_server: FeedServer, fetcher: FeedFetcher, data_dir: Path
) -> None:
    write_feeds(data_dir, feed_server, {"off": "/atom.xml"}, enabled=False)
    assert (await ingest(bot, fetcher)).sources == ()
    named = await ingest(bot, fetcher, source="off")
    assert named.sources[0].status == "ok"
    with pytest.raises(UnknownSourceError):
        await ingest(bot, fetcher, source="nope")


async def run_cli(data_dir: Path, db: Path, *args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ASEANBOT_"))}
    env.update(
        {
            "ASEANBOT_DATA_DIR": str(data_dir),
            "ASEANBOT_DB_PATH": str(db),
            "TELEGRAM_BOT_TOKEN": TOKEN,
        }
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(ROOT / "bot.py"),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_ingest_command_reports_each_source_and_exits_by_outcome(
    feed_server: FeedServer, data_dir: Path, tmp_path: Path
) -> None:
    db = tmp_path / "cli.db"
    write_feeds(data_dir, feed_server, {"synthetic-desk": "/rss2.xml"})
    code, out, err = await run_cli(data_dir, db, "ingest")
    assert code == 0, err
    assert "synthetic-desk" in out
    assert "4 new" in out

    write_feeds(data_dir, feed_server, {"synthetic-desk": "/rss2.xml", "gone": "/notfound"})
    code, out, err = await run_cli(data_dir, db, "ingest")
    assert code == 1
    assert "gone" in out
    assert "HTTP 404" in out
    assert "1 of 2 sources failed: gone" in err

    code, _, err = await run_cli(data_dir, db, "ingest", "--source", "nope")
    assert code == 2
    assert "no feed source named 'nope'" in err
