"""Ingest feeds: fetch each source that is due, parse, tag, dedupe, store; record its health.

Each source is handled on its own: one that times out, answers 404/500, serves something
that is not a feed, is too large or redirects in a loop is logged with its name, its health
recorded, and the others go on. A failed fetch writes nothing but the health row.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
import re
import unicodedata
from collections.abc import Callable

from aseanbot.catalog import Catalog
from aseanbot.feeds.canonical import dedupe_keys
from aseanbot.feeds.config import FeedSource, load_feeds
from aseanbot.feeds.fetch import FeedFetcher, FetchResult
from aseanbot.feeds.parse import FeedEntry, FeedParseError, parse_feed
from aseanbot.formatting.html import truncate
from aseanbot.models import IngestReport, Record, SourceReport
from aseanbot.services import Services
from aseanbot.store import Store
from aseanbot.store.feeds import FeedItem
from aseanbot.tagging import Tagger

logger = logging.getLogger(__name__)

FEEDS_FILE = "feeds.yaml"
SUMMARY_LIMIT = 1000
TITLE_LIMIT = 300
_ID_PREFIX = "feed-"
_SLUG_LIMIT = 40  # "feed-" + 40 + "-" + 8 hex = 54, within the 58 an id may have


class UnknownSourceError(ValueError):
    """`--source NAME` names no source in feeds.yaml."""


async def ingest_feeds(
    services: Services,
    *,
    source: str | None = None,
    force: bool = False,
    fetcher: FeedFetcher | None = None,
) -> IngestReport:
    """Fetch every enabled source whose interval has passed (or all, with `force`).

    `source` names one source: it is fetched now, even if disabled. Raises
    UnknownSourceError for a name feeds.yaml does not have, and the loader's DataError for
    an invalid feeds.yaml.
    """
    store = services.opened_store
    catalog = services.catalog
    topics, countries, _ = await store.reference_codes()
    sources = await asyncio.to_thread(
        load_feeds,
        services.settings.data_dir / FEEDS_FILE,
        topics=topics,
        countries=countries,
    )
    if source is not None:
        chosen = [s for s in sources if s.name == source]
        if not chosen:
            names = ", ".join(s.name for s in sources) or "none"
            raise UnknownSourceError(f"no feed source named {source!r} (sources: {names})")
        force = True
    else:
        chosen = [s for s in sources if s.enabled]
    tagger = Tagger(catalog)
    own_fetcher = fetcher is None
    fetcher = fetcher or FeedFetcher()
    try:
        reports = await asyncio.gather(
            *(
                _ingest_source(
                    s,
                    store=store,
                    fetcher=fetcher,
                    tagger=tagger,
                    catalog=catalog,
                    clock=services.clock,
                    force=force,
                )
                for s in chosen
            )
        )
    finally:
        if own_fetcher:
            await fetcher.aclose()
    return IngestReport(sources=tuple(reports))


async def _ingest_source(
    source: FeedSource,
    *,
    store: Store,
    fetcher: FeedFetcher,
    tagger: Tagger,
    catalog: Catalog,
    clock: Callable[[], dt.datetime],
    force: bool,
) -> SourceReport:
    now = clock()
    state = await store.feeds.state(source.name)
    interval = dt.timedelta(minutes=source.interval_minutes)
    if not force and state and state.last_attempt_at and now - state.last_attempt_at < interval:
        return SourceReport(name=source.name, status="skipped")
    try:
        result: FetchResult = await fetcher.fetch(
            source.url,
            etag=state.etag if state else None,
            last_modified=state.last_modified if state else None,
        )
        if result.status == "failed":
            return await _failed(store, source, result.error or "fetch failed", now)
        if result.status == "not_modified":
            await store.feeds.record_fetch(source.name, source.url, ok=True, now=now)
            return SourceReport(name=source.name, status="not_modified")
        entries = await asyncio.to_thread(
            parse_feed, result.body or b"", base_url=result.final_url or source.url
        )
        items = [
            item
            for entry in entries
            if (item := feed_item(entry, source, tagger, catalog)) is not None
        ]
        counts = await store.feeds.store_items(source.name, items, now=now)
        await store.feeds.record_fetch(
            source.name,
            source.url,
            ok=True,
            now=now,
            etag=result.etag,
            last_modified=result.last_modified,
        )
    except FeedParseError as error:
        return await _failed(store, source, f"not a feed: {error}", now)
    except Exception as error:  # one broken source must not stop the others
        logger.exception("Feed %s failed unexpectedly", source.name)
        return await _failed(store, source, f"internal error: {type(error).__name__}", now)
    logger.info(
        "Feed %s: %d new, %d updated, %d already known",
        source.name,
        counts.added,
        counts.updated,
        counts.duplicates,
    )
    return SourceReport(
        name=source.name,
        status="ok",
        added=counts.added,
        updated=counts.updated,
        duplicates=counts.duplicates,
    )


async def _failed(store: Store, source: FeedSource, error: str, now: dt.datetime) -> SourceReport:
    logger.warning("Feed %s failed: %s", source.name, error)
    await store.feeds.record_fetch(source.name, source.url, ok=False, now=now, error=error)
    return SourceReport(name=source.name, status="failed", error=error)


def feed_item(
    entry: FeedEntry, source: FeedSource, tagger: Tagger, catalog: Catalog
) -> FeedItem | None:
    """The item a feed entry becomes, or None when it has no link (no source, no item)."""
    if not entry.link:
        return None
    title = truncate(entry.title or entry.summary, TITLE_LIMIT)
    summary = truncate(entry.summary, SUMMARY_LIMIT) if entry.summary else None
    tags = tagger.tag(f"{title}\n{summary or ''}")
    # Guids are only unique within a feed: two feeds may both number their entries "42".
    guid = f"{source.name}:{entry.guid}" if entry.guid else None
    keys = dedupe_keys(guid=guid, link=entry.link, title=title)
    record = Record(
        id=item_id_for(title, keys),
        kind="update",
        title=title,
        sources=(entry.link,),
        topics=_ordered({*tags.topics, *source.topics}, [t.slug for t in catalog.topics]),
        countries=_ordered(
            {*tags.countries, *source.countries}, [c.code for c in catalog.countries]
        ),
        partners=tags.partners,
        date=entry.published,
        summary=summary,
        origin=source.name,
    )
    return FeedItem(record=record, keys=keys, link=entry.link)


def item_id_for(title: str, keys: tuple[str, ...]) -> str:
    """A stable, readable id: 'feed-' + the title's words + a hash of the story's first key."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:_SLUG_LIMIT].strip("-")
    digest = hashlib.sha256((keys[0] if keys else title).encode()).hexdigest()[:8]
    return f"{_ID_PREFIX}{slug + '-' if slug else ''}{digest}"


def _ordered(values: set[str], order: list[str]) -> tuple[str, ...]:
    return tuple(code for code in order if code in values)
