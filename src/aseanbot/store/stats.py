"""Operator numbers: `store.stats`, sharing the Store's connection.

Records who used the bot (one upsert per update) and counts what /stats and `bot.py stats`
show: users, active subscriptions, digests lately, items by origin and feed health.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aseanbot.models import FeedHealth
from aseanbot.store.timestamps import format_time

if TYPE_CHECKING:
    from aseanbot.store.store import Store

# The order /stats lists frequencies in, whatever the database returns.
FREQUENCIES = ("daily", "weekly", "off")
DATA_ORIGIN = "data"  # items from the YAML files; any other origin is a feed's name

DAY = dt.timedelta(days=1)
WEEK = dt.timedelta(days=7)


@dataclass(frozen=True, slots=True)
class DigestCounts:
    """Digests settled in a period, by how they ended."""

    sent: int = 0
    empty: int = 0
    failed: int = 0


@dataclass(frozen=True, slots=True)
class BotStats:
    """Everything /stats shows, counted at `at`."""

    at: dt.datetime
    users: int  # distinct users ever seen
    users_week: int  # seen in the 7 days before `at`
    subscriptions: int  # active ones
    by_frequency: tuple[tuple[str, int], ...]  # (frequency, active subscriptions)
    all_topics: int  # active subscriptions that follow every topic
    by_topic: tuple[tuple[str, int], ...]  # (topic slug, active subscriptions), most first
    digests_day: DigestCounts
    digests_week: DigestCounts
    items: int
    items_by_origin: tuple[tuple[str, int], ...]  # ('data' first, then feeds, most first)
    feeds: tuple[FeedHealth, ...]


class Stats:
    """Records users and counts what operators look at."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def record_user(self, user_id: int, *, now: dt.datetime) -> None:
        """Note that `user_id` was seen at `now` (first and last seen)."""
        stamp = format_time(now)
        store = self._store
        async with store._lock:
            await store._run(
                "INSERT INTO users (user_id, first_seen_at, last_seen_at) VALUES (?, ?, ?) "
                "ON CONFLICT (user_id) DO UPDATE SET "
                "last_seen_at = max(last_seen_at, excluded.last_seen_at)",
                (user_id, stamp, stamp),
            )

    async def collect(self, *, now: dt.datetime) -> BotStats:
        """Count users, subscriptions, recent digests, items and feeds as of `now`."""
        store = self._store
        async with store._lock, store._transaction(write=False):
            users = await store._count("SELECT count(*) FROM users")
            users_week = await store._count(
                "SELECT count(*) FROM users WHERE last_seen_at > ?", (format_time(now - WEEK),)
            )
            frequencies = dict(
                await self._pairs(
                    "SELECT frequency, count(*) FROM subscriptions WHERE active = 1 "
                    "GROUP BY frequency"
                )
            )
            all_topics = await store._count(
                "SELECT count(*) FROM subscriptions "
                "WHERE active = 1 AND json_array_length(topics) = 0"
            )
            by_topic = await self._pairs(
                "SELECT t.value, count(*) AS n FROM subscriptions AS s, json_each(s.topics) AS t "
                "WHERE s.active = 1 GROUP BY t.value ORDER BY n DESC, t.value"
            )
            digests_day = await self._digests_since(now - DAY)
            digests_week = await self._digests_since(now - WEEK)
            items_by_origin = await self._pairs(
                "SELECT origin, count(*) AS n FROM items GROUP BY origin "
                "ORDER BY origin <> ?, n DESC, origin",
                (DATA_ORIGIN,),
            )
        # Outside the lock: the feed store takes it itself.
        feeds = await store.feeds.health()
        return BotStats(
            at=now,
            users=users,
            users_week=users_week,
            subscriptions=sum(frequencies.values()),
            by_frequency=tuple((name, frequencies.get(name, 0)) for name in FREQUENCIES),
            all_topics=all_topics,
            by_topic=by_topic,
            digests_day=digests_day,
            digests_week=digests_week,
            items=sum(count for _, count in items_by_origin),
            items_by_origin=items_by_origin,
            feeds=feeds,
        )

    async def _pairs(
        self, sql: str, parameters: tuple[object, ...] = ()
    ) -> tuple[tuple[str, int], ...]:
        rows = await self._store._rows(sql, parameters)
        return tuple((str(row[0]), int(row[1])) for row in rows)

    async def _digests_since(self, since: dt.datetime) -> DigestCounts:
        # A digest counts in the period it was settled in (sent, empty or given up).
        counts = dict(
            await self._pairs(
                "SELECT state, count(*) FROM deliveries "
                "WHERE updated_at > ? AND state IN ('sent', 'empty', 'failed') GROUP BY state",
                (format_time(since),),
            )
        )
        return DigestCounts(
            sent=counts.get("sent", 0), empty=counts.get("empty", 0), failed=counts.get("failed", 0)
        )
