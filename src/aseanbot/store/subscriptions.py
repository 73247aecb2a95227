"""Subscriptions and the delivery ledger: `store.subscriptions`, sharing the Store's connection.

Every state change of a digest is in one transaction: claiming a period (ledger row + the
subscription's next due time), each part sent, and completion (ledger state + watermark).
A digest pass claims set-based (a batch of the subscriptions due on one schedule per
transaction), reads pending digests in keyset pages of light rows, and settles finished
digests several to a transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

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


@dataclass(frozen=True, slots=True)
class SchedulePlan:
    """What a pass does with every subscription due on one schedule, worked out once."""

    schedule: Schedule
    period: dt.datetime | None  # the digest to claim; None: skip (off, or beyond the grace)
    next_due_at: dt.datetime | None


# A digest profile as stored: followed topics and countries (JSON text), window start and
# end, and the zone of the header's times. Digests with equal keys have equal content, so a
# pass keys what it built by this, and never parses it per digest.
ProfileKey = tuple[str, str, str, str, str]


@dataclass(frozen=True, slots=True)
class DigestProfile:
    """What decides a digest's content: followed topics and countries, window, and zone."""

    topics: tuple[str, ...]  # empty: every topic
    countries: tuple[str, ...]  # empty: every country
    window_start: dt.datetime  # the digest holds items updated in (window_start, window_end]
    window_end: dt.datetime
    timezone: str


class PendingDigest(NamedTuple):
    """A pending ledger row with the few subscription columns a pass needs to send it.

    A NamedTuple, not a dataclass: a pass reads one per due chat (100k and more), and a tuple
    is built four times faster.
    """

    id: int
    chat_id: int
    thread_id: int | None
    parts_sent: int
    attempts: int
    send_empty: bool
    profile: ProfileKey


@dataclass(frozen=True, slots=True)
class PendingPage:
    """One page of pending digests."""

    digests: tuple[PendingDigest, ...]
    # Where the next page starts (next_attempt_at as stored, id); None after the last page.
    resume_after: tuple[str, int] | None


@dataclass(frozen=True, slots=True)
class Settlement:
    """A digest done: sent in `parts` messages, or empty (nothing new, nothing sent)."""

    delivery_id: int
    state: str  # "sent" | "empty"
    parts: int | None  # messages the digest had; None when empty
    window_end: dt.datetime  # the chat's watermark moves here


# One batch of the subscriptions due on one schedule, in the due index's order. The order is
# total, so both statements of a claim's transaction pick the same batch.
_CLAIM_BATCH = """
SELECT chat_id FROM subscriptions
WHERE active = 1 AND next_due_at IS NOT NULL AND next_due_at <= :now
    AND frequency = :frequency AND local_time = :local_time AND timezone = :timezone
    AND weekday = :weekday
ORDER BY next_due_at, chat_id LIMIT :limit
"""
# The window starts at the watermark as stored, and ends at the due instant, so a digest
# rebuilt after a crash holds the same items. Claiming a period twice keeps the first row.
_CLAIM_INSERT_SQL = f"""
INSERT INTO deliveries (chat_id, period, window_start, window_end, state, next_attempt_at,
    created_at, updated_at)
SELECT chat_id, :period, watermark, :period, 'pending', :now, :now, :now FROM subscriptions
WHERE chat_id IN ({_CLAIM_BATCH})
ON CONFLICT (chat_id, period) DO NOTHING
"""
_CLAIM_UPDATE_SQL = f"""
UPDATE subscriptions SET next_due_at = :next_due_at WHERE chat_id IN ({_CLAIM_BATCH})
"""

_PENDING_COLUMNS = (
    "d.next_attempt_at, d.id, d.chat_id, s.thread_id, d.parts_sent, d.attempts, s.send_empty, "
    "s.topics, s.countries, d.window_start, d.window_end, s.timezone"
)
_PENDING_FROM = (
    "FROM deliveries AS d JOIN subscriptions AS s ON s.chat_id = d.chat_id "
    "WHERE d.state = 'pending' AND s.active = 1"
)
# Keyset pages in (next_attempt_at, id) order, in two queries: the rest of the cursor's
# next_attempt_at, then later ones. One row-value condition would make SQLite walk the
# partial index by its first column only, rescanning every row with the cursor's
# next_attempt_at (all of a claim's rows) for each page.
_PENDING_SAME_SQL = f"""
SELECT {_PENDING_COLUMNS} {_PENDING_FROM}
    AND d.next_attempt_at = :after_at AND d.id > :after_id AND d.next_attempt_at <= :now
ORDER BY d.id LIMIT :limit
"""
_PENDING_LATER_SQL = f"""
SELECT {_PENDING_COLUMNS} {_PENDING_FROM}
    AND d.next_attempt_at > :after_at AND d.next_attempt_at <= :now
ORDER BY d.next_attempt_at, d.id LIMIT :limit
"""


def read_profile(key: ProfileKey) -> DigestProfile:
    """Parse a stored profile key (a pass does it once per distinct key)."""
    topics, countries, window_start, window_end, timezone = key
    return DigestProfile(
        topics=tuple(json.loads(topics)),
        countries=tuple(json.loads(countries)),
        window_start=parse_time(window_start),
        window_end=parse_time(window_end),
        timezone=timezone,
    )


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

    async def due_schedules(self, now: dt.datetime) -> tuple[Schedule, ...]:
        """The distinct schedules of active subscriptions due at or before `now` (a handful)."""
        store = self._store
        async with store._lock:
            rows = await store._rows(
                "SELECT DISTINCT frequency, local_time, timezone, weekday FROM subscriptions "
                "WHERE active = 1 AND next_due_at IS NOT NULL AND next_due_at <= ?",
                (format_time(now),),
            )
        return tuple(
            Schedule(
                frequency=row[0],
                local_time=dt.time.fromisoformat(row[1]),
                timezone=row[2],
                weekday=row[3],
            )
            for row in rows
        )

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

    async def claim_due(self, plan: SchedulePlan, *, now: dt.datetime, limit: int) -> int:
        """Claim up to `limit` subscriptions due on the plan's schedule, in one transaction.

        Set-based, as `claim` does row by row: a pending ledger row for the plan's period
        (none when it is None: skipped, the watermark stays), and the plan's next due time.
        Returns how many were taken; fewer than `limit`: none is left.
        """
        schedule = plan.schedule
        parameters = {
            "now": format_time(now),
            "frequency": schedule.frequency,
            "local_time": f"{schedule.local_time:%H:%M}",
            "timezone": schedule.timezone,
            "weekday": schedule.weekday,
            "limit": limit,
            "period": format_time(plan.period) if plan.period else None,
            "next_due_at": format_time(plan.next_due_at) if plan.next_due_at else None,
        }
        store = self._store
        async with store._lock, store._transaction(write=True):
            # Through _row: it takes named parameters (and these statements return none).
            if plan.period is not None:
                await store._row(_CLAIM_INSERT_SQL, parameters)
            await store._row(_CLAIM_UPDATE_SQL, parameters)
            return await store._count("SELECT changes()")

    async def pending_page(
        self, now: dt.datetime, *, after: tuple[str, int] | None, limit: int
    ) -> PendingPage:
        """A page of pending digests ready at `now` (a first or next attempt), oldest first.

        Only the columns a pass sends with; `after` is the previous page's `resume_after`.
        """
        store = self._store
        after_at, after_id = after if after is not None else ("", 0)
        parameters = {"now": format_time(now), "after_at": after_at, "after_id": after_id}
        async with store._lock:
            rows = await store._rows(_PENDING_SAME_SQL, {**parameters, "limit": limit})
            if len(rows) < limit:
                later = {**parameters, "limit": limit - len(rows)}
                rows += await store._rows(_PENDING_LATER_SQL, later)
        digests = tuple(
            PendingDigest(
                row[1],
                row[2],
                row[3],
                row[4],
                row[5],
                bool(row[6]),
                (row[7], row[8], row[9], row[10], row[11]),
            )
            for row in rows
        )
        resume_after = (rows[-1][0], rows[-1][1]) if len(rows) == limit else None
        return PendingPage(digests=digests, resume_after=resume_after)

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

    async def settle(self, settlements: Sequence[Settlement], *, now: dt.datetime) -> None:
        """Settle several digests in one transaction: each one's state, parts and watermark.

        A sent digest with `parts` records them all as sent. The watermark is found through
        the ledger row, so it follows a chat that moved to a new id while its digest was sent.
        """
        if not settlements:
            return
        store = self._store
        stamp = format_time(now)
        async with store._lock, store._transaction(write=True):
            await store._run_many(
                "UPDATE deliveries SET state = ?, parts_sent = coalesce(?, parts_sent), "
                "parts_total = coalesce(?, parts_total), updated_at = ?, last_error = NULL "
                "WHERE id = ? AND state = 'pending'",
                [(s.state, s.parts, s.parts, stamp, s.delivery_id) for s in settlements],
            )
            await store._run_many(
                "UPDATE subscriptions SET watermark = max(watermark, ?), updated_at = ? "
                "WHERE chat_id = (SELECT chat_id FROM deliveries WHERE id = ?)",
                [(format_time(s.window_end), stamp, s.delivery_id) for s in settlements],
            )

    async def fail_attempt(
        self,
        delivery: Delivery | PendingDigest,
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
