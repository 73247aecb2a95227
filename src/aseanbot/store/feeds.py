"""Feed state and feed items: `store.feeds`, sharing the Store's connection.

An entry is stored once however many feeds carry it: each of its dedupe keys (guid,
canonical URL, normalised title) points at the item it became, and a later entry with any
known key adds its link to that item's sources instead of making a second item.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from aseanbot.models import FeedHealth, Record
from aseanbot.store.hashing import content_hash
from aseanbot.store.timestamps import format_time, parse_time

if TYPE_CHECKING:
    from aseanbot.store.store import Store

_ERROR_LIMIT = 500


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the next fetch of a feed needs: its validators and when it was last tried."""

    name: str
    etag: str | None
    last_modified: str | None
    last_attempt_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class FeedItem:
    """A feed entry ready to store: the item's record and the keys that identify the story."""

    record: Record
    keys: tuple[str, ...]
    link: str  # the entry's link as the feed gave it (a source of the item)


@dataclass(frozen=True, slots=True)
class StoredCounts:
    added: int = 0
    updated: int = 0
    duplicates: int = 0


class Feeds:
    """Reads and writes feed state and feed items."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def state(self, name: str) -> FeedState | None:
        store = self._store
        async with store._lock:
            row = await store._row(
                "SELECT name, etag, last_modified, last_attempt_at FROM feeds WHERE name = ?",
                (name,),
            )
        if row is None:
            return None
        attempt = row["last_attempt_at"]
        return FeedState(
            name=row["name"],
            etag=row["etag"],
            last_modified=row["last_modified"],
            last_attempt_at=parse_time(attempt) if attempt else None,
        )

    async def record_fetch(
        self,
        name: str,
        url: str,
        *,
        ok: bool,
        now: dt.datetime,
        etag: str | None = None,
        last_modified: str | None = None,
        error: str | None = None,
    ) -> None:
        """Remember a fetch: validators and success on ok, the error and one more failure if not.

        A failure keeps the validators of the last success, so the next try is conditional.
        """
        store = self._store
        stamp = format_time(now)
        async with store._lock, store._transaction(write=True):
            await store._run(
                "INSERT INTO feeds (name, url) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET url = excluded.url",
                (name, url),
            )
            if ok:
                await store._run(
                    "UPDATE feeds SET etag = coalesce(?, etag), "
                    "last_modified = coalesce(?, last_modified), last_attempt_at = ?, "
                    "last_success_at = ?, consecutive_failures = 0, last_error = NULL "
                    "WHERE name = ?",
                    (etag, last_modified, stamp, stamp, name),
                )
            else:
                await store._run(
                    "UPDATE feeds SET last_attempt_at = ?, "
                    "consecutive_failures = consecutive_failures + 1, last_error = ? "
                    "WHERE name = ?",
                    (stamp, (error or "failed")[:_ERROR_LIMIT], name),
                )

    async def health(self) -> tuple[FeedHealth, ...]:
        """Every feed fetched so far, with how many items came from it."""
        store = self._store
        async with store._lock:
            rows = await store._rows(
                "SELECT f.name, f.url, f.last_attempt_at, f.last_success_at, "
                "f.consecutive_failures, f.last_error, "
                "(SELECT count(*) FROM items AS i WHERE i.origin = f.name) AS items "
                "FROM feeds AS f ORDER BY f.name"
            )
        return tuple(
            FeedHealth(
                name=row["name"],
                url=row["url"],
                last_attempt_at=parse_time(row["last_attempt_at"])
                if row["last_attempt_at"]
                else None,
                last_success_at=parse_time(row["last_success_at"])
                if row["last_success_at"]
                else None,
                consecutive_failures=row["consecutive_failures"],
                last_error=row["last_error"],
                items=row["items"],
            )
            for row in rows
        )

    async def store_items(
        self, feed_name: str, items: Sequence[FeedItem], *, now: dt.datetime
    ) -> StoredCounts:
        """Store a feed's entries in one transaction: new stories added, known ones merged.

        A story already stored (any key known) gains this entry's link as a source and its
        new keys; its text is replaced only when the same feed changed the same entry (same
        guid), which counts as updated. All else counts as a duplicate.
        """
        store = self._store
        stamp = format_time(now)
        added = updated = duplicates = 0
        async with store._lock, store._transaction(write=True):
            for item in items:
                existing = await self._known_item(item.keys)
                if existing is None:
                    record = item.record
                    await store._write_item(record, content_hash(record), stamp, origin=feed_name)
                    added += 1
                    item_id = record.id
                else:
                    item_id = existing
                    if await self._same_entry_changed(item, item_id, feed_name):
                        # Keep the sources other feeds added to this story.
                        sources = await self._sources(item_id)
                        merged = tuple(dict.fromkeys((*item.record.sources, *sources)))
                        record = replace(item.record, id=item_id, sources=merged)
                        await store._write_item(
                            record, content_hash(record), stamp, origin=feed_name
                        )
                        updated += 1
                    else:
                        await self._add_source(item_id, item.link)
                        duplicates += 1
                await store._run_many(
                    "INSERT INTO feed_keys (key, item_id) VALUES (?, ?) "
                    "ON CONFLICT (key) DO NOTHING",
                    [(key, item_id) for key in item.keys],
                )
        return StoredCounts(added=added, updated=updated, duplicates=duplicates)

    async def _known_item(self, keys: Sequence[str]) -> str | None:
        for key in keys:  # guid first, then URL, then title: the most certain match wins
            row = await self._store._row("SELECT item_id FROM feed_keys WHERE key = ?", (key,))
            if row is not None:
                return str(row[0])
        return None

    async def _same_entry_changed(self, item: FeedItem, item_id: str, feed_name: str) -> bool:
        guid_keys = [key for key in item.keys if key.startswith("guid:")]
        if not guid_keys:
            return False
        row = await self._store._row(
            "SELECT i.title, i.summary, i.origin FROM feed_keys AS k "
            "JOIN items AS i ON i.id = k.item_id WHERE k.key = ? AND k.item_id = ?",
            (guid_keys[0], item_id),
        )
        if row is None or row["origin"] != feed_name:
            return False
        return (row["title"], row["summary"]) != (item.record.title, item.record.summary)

    async def _sources(self, item_id: str) -> tuple[str, ...]:
        rows = await self._store._rows(
            "SELECT url FROM item_sources WHERE item_id = ? ORDER BY position", (item_id,)
        )
        return tuple(row[0] for row in rows)

    async def _add_source(self, item_id: str, link: str) -> None:
        """List another feed's link for a story already stored (not a change to its text)."""
        if link in await self._sources(item_id):
            return
        await self._store._run(
            "INSERT INTO item_sources (item_id, position, url) "
            "SELECT ?, coalesce(max(position), -1) + 1, ? FROM item_sources WHERE item_id = ?",
            (item_id, link, item_id),
        )
