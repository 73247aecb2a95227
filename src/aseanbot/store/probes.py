"""Cheap reads for the health endpoint: is the database answering, how far behind are digests.

Shares the Store's connection and lock, as `store.stats` does; `Probes(store)` is made on
demand (it holds nothing).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aseanbot.store.timestamps import format_time, parse_time

if TYPE_CHECKING:
    from aseanbot.store.store import Store


@dataclass(frozen=True, slots=True)
class DigestBacklog:
    """Digests owed and not delivered yet, and since when the oldest is owed."""

    pending: int  # active chats due: waiting for a pass, or for a retry
    oldest_due_at: dt.datetime | None

    def lag(self, now: dt.datetime) -> dt.timedelta:
        """How long the oldest digest still owed has been due (zero when none is)."""
        if self.oldest_due_at is None:
            return dt.timedelta(0)
        return max(dt.timedelta(0), now - self.oldest_due_at)


class Probes:
    """Health reads on one Store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def ping(self) -> bool:
        """Run `SELECT 1`; True when the database answered it (an error is raised as is)."""
        store = self._store
        async with store._lock:
            return await store._count("SELECT 1") == 1

    async def digest_backlog(self, now: dt.datetime) -> DigestBacklog:
        """Count the digests owed at `now` and find the oldest (by the due-time index)."""
        store = self._store
        async with store._lock:
            row = await store._row(
                "SELECT count(*), min(next_due_at) FROM subscriptions "
                "WHERE active = 1 AND next_due_at IS NOT NULL AND next_due_at <= ?",
                (format_time(now),),
            )
        pending = int(row[0]) if row is not None else 0
        oldest = row[1] if row is not None else None
        return DigestBacklog(pending=pending, oldest_due_at=parse_time(oldest) if oldest else None)
