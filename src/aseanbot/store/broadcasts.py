"""The broadcast ledger: `store.broadcasts`, sharing the Store's connection.

A confirmed broadcast is one row plus one delivery row per active subscription, written in
one transaction; each delivery is settled (sent or failed) as it goes, so a broadcast is never
sent twice to a chat and the rows say who did not get it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aseanbot.store.timestamps import format_time, parse_time

if TYPE_CHECKING:
    from aseanbot.store.store import Store

BROADCAST_STATES = ("sending", "done")
DELIVERY_STATES = ("pending", "sent", "failed")
_ERROR_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Broadcast:
    id: int
    text: str  # Telegram HTML, as previewed and confirmed
    created_by: int
    created_at: dt.datetime
    state: str


@dataclass(frozen=True, slots=True)
class BroadcastTarget:
    """A chat a broadcast has yet to reach, as its subscription stands now."""

    chat_id: int
    thread_id: int | None
    subscribed: bool  # False when the chat unsubscribed (or was removed) since the confirm


class Broadcasts:
    """Reads and writes broadcasts and their deliveries."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def create(self, text: str, *, created_by: int, now: dt.datetime) -> tuple[int, int]:
        """Store a broadcast for every active subscription; return (its id, recipients)."""
        stamp = format_time(now)
        store = self._store
        async with store._lock, store._transaction(write=True):
            row = await store._row(
                "INSERT INTO broadcasts (text, created_by, created_at, state) "
                "VALUES (?, ?, ?, 'sending') RETURNING id",
                (text, created_by, stamp),
            )
            assert row is not None  # INSERT … RETURNING always returns the row
            broadcast_id = int(row[0])
            await store._run(
                "INSERT INTO broadcast_deliveries (broadcast_id, chat_id, state, updated_at) "
                "SELECT ?, chat_id, 'pending', ? FROM subscriptions WHERE active = 1",
                (broadcast_id, stamp),
            )
            recipients = await store._count(
                "SELECT count(*) FROM broadcast_deliveries WHERE broadcast_id = ?",
                (broadcast_id,),
            )
        return broadcast_id, recipients

    async def get(self, broadcast_id: int) -> Broadcast | None:
        store = self._store
        async with store._lock:
            row = await store._row(
                "SELECT id, text, created_by, created_at, state FROM broadcasts WHERE id = ?",
                (broadcast_id,),
            )
        if row is None:
            return None
        return Broadcast(
            id=row["id"],
            text=row["text"],
            created_by=row["created_by"],
            created_at=parse_time(row["created_at"]),
            state=row["state"],
        )

    async def unfinished(self) -> tuple[int, ...]:
        """Ids of broadcasts still sending (a crash or shutdown interrupted them), oldest first."""
        store = self._store
        async with store._lock:
            rows = await store._rows(
                "SELECT id FROM broadcasts WHERE state = 'sending' ORDER BY id"
            )
        return tuple(int(row[0]) for row in rows)

    async def pending(self, broadcast_id: int, *, limit: int) -> tuple[BroadcastTarget, ...]:
        """Chats the broadcast has not been settled for yet, with their subscription now."""
        store = self._store
        async with store._lock:
            rows = await store._rows(
                "SELECT d.chat_id, s.thread_id, coalesce(s.active, 0) AS subscribed "
                "FROM broadcast_deliveries AS d "
                "LEFT JOIN subscriptions AS s ON s.chat_id = d.chat_id "
                "WHERE d.broadcast_id = ? AND d.state = 'pending' ORDER BY d.chat_id LIMIT ?",
                (broadcast_id, limit),
            )
        return tuple(
            BroadcastTarget(
                chat_id=row["chat_id"],
                thread_id=row["thread_id"],
                subscribed=bool(row["subscribed"]),
            )
            for row in rows
        )

    async def settle(
        self,
        broadcast_id: int,
        chat_id: int,
        *,
        state: str,
        attempts: int,
        error: str | None,
        now: dt.datetime,
    ) -> bool:
        """Mark a pending delivery sent or failed; False when it was not pending any more."""
        if state not in ("sent", "failed"):
            raise ValueError(f"a delivery settles as sent or failed, not {state!r}")
        store = self._store
        async with store._lock, store._transaction(write=True):
            row = await store._row(
                "UPDATE broadcast_deliveries SET state = ?, attempts = ?, last_error = ?, "
                "updated_at = ? WHERE broadcast_id = ? AND chat_id = ? AND state = 'pending' "
                "RETURNING chat_id",
                (
                    state,
                    attempts,
                    error[:_ERROR_LIMIT] if error else None,
                    format_time(now),
                    broadcast_id,
                    chat_id,
                ),
            )
        return row is not None

    async def finish(self, broadcast_id: int) -> None:
        """Mark the broadcast done (every delivery settled)."""
        store = self._store
        async with store._lock:
            await store._run("UPDATE broadcasts SET state = 'done' WHERE id = ?", (broadcast_id,))

    async def delivery_states(self, broadcast_id: int) -> dict[int, str]:
        """chat id → delivery state, for operators and tests."""
        store = self._store
        async with store._lock:
            rows = await store._rows(
                "SELECT chat_id, state FROM broadcast_deliveries WHERE broadcast_id = ?",
                (broadcast_id,),
            )
        return {int(row[0]): str(row[1]) for row in rows}
