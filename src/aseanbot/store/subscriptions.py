"""Subscriptions and the delivery ledger: `store.subscriptions`, sharing the Store's connection.

Every state change of a digest is one transaction: claiming a period (ledger row + the
subscription's next due time), each part sent, and completion (ledger state + watermark).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aseanbot.models import Delivery, Subscription
from aseanbot.scheduling import Schedule
from aseanbot.store.timestamps import format_time, parse_time

if TYPE_CHECKING:
    from aseanbot.store.store import Store

_COLUMNS = (
    "chat_id, chat_type, thread_id, active, topics, countries, frequency, weekday, local_time, "
    "timezone, send_empty, language, next_due_at, watermark, created_at, updated_at, "
    "deactivated_reason"
)
_DELIVERY_COLUMNS = (
    "id, chat_id, period, window_start, window_end, state, parts_total, parts_sent, attempts, "
    "next_attempt_at, last_error"
)
# Errors are stored for operators; a whole traceback or HTML body is not useful there.
_ERROR_LIMIT = 500


def _optional_time(text: str | None) -> dt.datetime | None:
    return parse_time(text) if text else None


def _subscription_from_row(row: sqlite3.Row) -> Subscription:
    hours, minutes = (int(part) for part in row["local_time"].split(":"))
    return Subscription(
        chat_id=row["chat_id"],
        chat_type=row["chat_type"],
        thread_id=row["thread_id"],
        active=bool(row["active"]),
        topics=tuple(json.loads(row["topics"])),
        countries=tuple(json.loads(row["countries"])),
        schedule=Schedule(
            frequency=row["frequency"],
            local_time=dt.time(hours, minutes),
            timezone=row["timezone"],
            weekday=row["weekday"],
        ),
        send_empty=bool(row["send_empty"]),
        language=row["language"],
        next_due_at=_optional_time(row["next_due_at"]),
        watermark=parse_time(row["watermark"]),
        created_at=parse_time(row["created_at"]),
        updated_at=parse_time(row["updated_at"]),
        deactivated_reason=row["deactivated_reason"],
    )


def _delivery_from_row(row: sqlite3.Row, prefix: str = "") -> Delivery:
    def column(name: str) -> Any:
        return row[prefix + name]

    return Delivery(
        id=column("id"),
        chat_id=column("chat_id"),
        period=parse_time(column("period")),
        window_start=parse_time(column("window_start")),
        window_end=parse_time(column("window_end")),
        state=column("state"),
        parts_total=column("parts_total"),
        parts_sent=column("parts_sent"),
        attempts=column("attempts"),
        next_attempt_at=parse_time(column("next_attempt_at")),
        last_error=column("last_error"),
    )


@dataclass(frozen=True, slots=True)
class Claim:
    """A due subscription taken by a pass: its digest period (None: skipped) and next due time."""

    chat_id: int
    period: dt.datetime | None
    next_due_at: dt.datetime | None


class Subscriptions:
    """Reads and writes subscriptions and the delivery ledger."""

    def __init__(self, store: Store) -> None:
        self._store = store

    # -- subscriptions --------------------------------------------------------------------

    async def get(self, chat_id: int) -> Subscription | None:
        """Return the chat's subscription (active or not), or None."""
        store = self._store
        async with store._lock:
            row = await store._row(
                f"SELECT {_COLUMNS} FROM subscriptions WHERE chat_id = ?", (chat_id,)
            )
        return _subscription_from_row(row) if row is not None else None

    async def save(self, subscription: Subscription) -> None:
        """Insert or replace a subscription with every field as given."""
        s = subscription
        store = self._store
        async with store._lock, store._transaction(write=True):
            await store._run(
                f"INSERT INTO subscriptions ({_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (chat_id) DO UPDATE SET chat_type = excluded.chat_type, "
                "thread_id = excluded.thread_id, active = excluded.active, "
                "topics = excluded.topics, countries = excluded.countries, "
                "frequency = excluded.frequency, weekday = excluded.weekday, "
                "local_time = excluded.local_time, timezone = excluded.timezone, "
                "send_empty = excluded.send_empty, language = excluded.language, "
                "next_due_at = excluded.next_due_at, watermark = excluded.watermark, "
                "updated_at = excluded.updated_at, "
                "deactivated_reason = excluded.deactivated_reason",
                (
                    s.chat_id,
                    s.chat_type,
                    s.thread_id,
                    int(s.active),
                    json.dumps(list(s.topics)),
                    json.dumps(list(s.countries)),
                    s.schedule.frequency,
                    s.schedule.weekday,
                    f"{s.schedule.local_time:%H:%M}",
                    s.schedule.timezone,
                    int(s.send_empty),
                    s.language,
                    format_time(s.next_due_at) if s.next_due_at else None,
                    format_time(s.watermark),
                    format_time(s.created_at),
                    format_time(s.updated_at),
                    s.deactivated_reason,
                ),
            )

    async def deactivate(self, chat_id: int, *, reason: str, now: dt.datetime) -> bool:
        """Stop a chat's digests (blocked, kicked, unsubscribed); False if it had none active."""
        store = self._store
        async with store._lock, store._transaction(write=True):
            row = await store._row(
                "UPDATE subscriptions SET active = 0, next_due_at = NULL, "
                "deactivated_reason = ?, updated_at = ? WHERE chat_id = ? AND active = 1 "
                "RETURNING chat_id",
                (reason[:_ERROR_LIMIT], format_time(now), chat_id),
            )
            # Pending digests of a chat that cannot receive them are settled, not retried.
            await store._run(
                "UPDATE deliveries SET state = 'failed', last_error = ?, updated_at = ? "
                "WHERE chat_id = ? AND state = 'pending'",
                (reason[:_ERROR_LIMIT], format_time(now), chat_id),
            )
        return row is not None

    async def migrate_chat(self, old_chat_id: int, new_chat_id: int, *, now: dt.datetime) -> None:
        """A group became a supergroup: move its subscription and ledger to the new id."""
        store = self._store
        async with store._lock, store._transaction(write=True):
            taken = await store._row(
                "SELECT 1 FROM subscriptions WHERE chat_id = ?", (new_chat_id,)
            )
            if taken is not None:
                # The new chat subscribed on its own already; the old id's record goes.
                await store._run("DELETE FROM subscriptions WHERE chat_id = ?", (old_chat_id,))
                return
            await store._run(
                "UPDATE subscriptions SET chat_id = ?, chat_type = 'supergroup', updated_at = ? "
                "WHERE chat_id = ?",
                (new_chat_id, format_time(now), old_chat_id),
            )

    async def due(self, now: dt.datetime, *, limit: int) -> tuple[Subscription, ...]:
        """Active subscriptions whose next digest is due at or before `now`, earliest first."""
        store = self._store
        async with store._lock:
            rows = await store._rows(
                f"SELECT {_COLUMNS} FROM subscriptions "
                "WHERE active = 1 AND next_due_at IS NOT NULL AND next_due_at <= ? "
                "ORDER BY next_due_at LIMIT ?",
                (format_time(now), limit),
            )
        return tuple(_subscription_from_row(row) for row in rows)

    async def count_active(self) -> int:
        store = self._store
        async with store._lock:
            return await store._count("SELECT count(*) FROM subscriptions WHERE active = 1")

    # -- the ledger -----------------------------------------------------------------------

    async def claim(self, claims: Sequence[Claim], *, now: dt.datetime) -> None:
        """Record each claimed digest as pending and move each schedule on, in one transaction.

        A claim with period None skips a digest that fell due too long ago: only its schedule
        moves, and the watermark stays, so its items come in the next digest. Claiming a period
        twice keeps the first ledger row (the UNIQUE (chat_id, period) key).
        """
        if not claims:
            return
        store = self._store
        stamp = format_time(now)
        async with store._lock, store._transaction(write=True):
            await store._run_many(
                "UPDATE subscriptions SET next_due_at = ? WHERE chat_id = ?",
                [
                    (format_time(c.next_due_at) if c.next_due_at else None, c.chat_id)
                    for c in claims
                ],
            )
            # The window starts at the watermark as stored, and ends at the due instant, so a
            # digest rebuilt after a crash holds the same items.
            await store._run_many(
                "INSERT INTO deliveries (chat_id, period, window_start, window_end, state, "
                "next_attempt_at, created_at, updated_at) "
                "SELECT chat_id, :period, watermark, :period, 'pending', :now, :now, :now "
                "FROM subscriptions WHERE chat_id = :chat_id "
                "ON CONFLICT (chat_id, period) DO NOTHING",
                [
                    {"period": format_time(c.period), "now": stamp, "chat_id": c.chat_id}
                    for c in claims
                    if c.period is not None
                ],
            )

    async def pending(
        self, now: dt.datetime, *, limit: int
    ) -> tuple[tuple[Delivery, Subscription], ...]:
        """Pending digests ready for a (first or next) attempt, with their subscriptions."""
        store = self._store
        columns = ", ".join(f"s.{c.strip()}" for c in _COLUMNS.split(","))
        delivery_columns = ", ".join(
            f"d.{c.strip()} AS d_{c.strip()}" for c in _DELIVERY_COLUMNS.split(",")
        )
        async with store._lock:
            rows = await store._rows(
                f"SELECT {delivery_columns}, {columns} FROM deliveries AS d "
                "JOIN subscriptions AS s ON s.chat_id = d.chat_id "
                "WHERE d.state = 'pending' AND d.next_attempt_at <= ? AND s.active = 1 "
                "ORDER BY d.next_attempt_at, d.id LIMIT ?",
                (format_time(now), limit),
            )
        return tuple(
            (_delivery_from_row(row, prefix="d_"), _subscription_from_row(row)) for row in rows
        )

    async def get_delivery(self, delivery_id: int) -> Delivery | None:
        store = self._store
        async with store._lock:
            row = await store._row(
                f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE id = ?", (delivery_id,)
            )
        return _delivery_from_row(row) if row is not None else None

    async def record_part_sent(
        self, delivery_id: int, *, parts_sent: int, parts_total: int, now: dt.datetime
    ) -> None:
        """Remember that the first `parts_sent` messages of a digest are delivered."""
        store = self._store
        async with store._lock:
            await store._run(
                "UPDATE deliveries SET parts_sent = ?, parts_total = ?, updated_at = ? "
                "WHERE id = ? AND state = 'pending'",
                (parts_sent, parts_total, format_time(now), delivery_id),
            )

    async def complete(self, delivery: Delivery, *, state: str, now: dt.datetime) -> None:
        """Settle a digest as sent (or empty) and move the chat's watermark to its window end."""
        store = self._store
        stamp = format_time(now)
        async with store._lock, store._transaction(write=True):
            await store._run(
                "UPDATE deliveries SET state = ?, updated_at = ?, last_error = NULL "
                "WHERE id = ? AND state = 'pending'",
                (state, stamp, delivery.id),
            )
            await store._run(
                "UPDATE subscriptions SET watermark = max(watermark, ?), updated_at = ? "
                "WHERE chat_id = ?",
                (format_time(delivery.window_end), stamp, delivery.chat_id),
            )

    async def fail_attempt(
        self,
        delivery: Delivery,
        *,
        error: str,
        retry_at: dt.datetime | None,
        now: dt.datetime,
    ) -> None:
        """Count a failed attempt: retry at `retry_at`, or give up (state failed) when None.

        A failed digest leaves the watermark where it was: its items come in the next one.
        """
        store = self._store
        async with store._lock:
            await store._run(
                "UPDATE deliveries SET attempts = attempts + 1, last_error = ?, updated_at = ?, "
                "state = CASE WHEN ? IS NULL THEN 'failed' ELSE state END, "
                "next_attempt_at = coalesce(?, next_attempt_at) "
                "WHERE id = ? AND state = 'pending'",
                (
                    error[:_ERROR_LIMIT],
                    format_time(now),
                    format_time(retry_at) if retry_at else None,
                    format_time(retry_at) if retry_at else None,
                    delivery.id,
                ),
            )

    async def deliveries_for(self, chat_id: int) -> tuple[Delivery, ...]:
        """Every ledger row of a chat, oldest first (for tests and operators)."""
        store = self._store
        async with store._lock:
            rows = await store._rows(
                f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE chat_id = ? ORDER BY period",
                (chat_id,),
            )
        return tuple(_delivery_from_row(row) for row in rows)
