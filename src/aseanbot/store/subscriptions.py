"""Subscriptions and the delivery ledger: `store.subscriptions`, sharing the Store's connection.

A subscription owes a digest while it is due. A pass finds the due subscriptions grouped by
schedule (a handful of groups, however many chats), works out each group's period once, and
reads the digests owed in keyset pages of light rows. Nothing is written per chat before its
digest is sent: the ledger row is written with each part sent, each failed attempt, and the
settlement, and settling also moves the chat's watermark and next due time, in one
transaction, several digests to a transaction.
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


def _delivery_from_row(row: sqlite3.Row) -> Delivery:
    return Delivery(
        id=row["id"],
        chat_id=row["chat_id"],
        period=parse_time(row["period"]),
        window_start=parse_time(row["window_start"]),
        window_end=parse_time(row["window_end"]),
        state=row["state"],
        parts_total=row["parts_total"],
        parts_sent=row["parts_sent"],
        attempts=row["attempts"],
        next_attempt_at=parse_time(row["next_attempt_at"]),
        last_error=row["last_error"],
    )


@dataclass(frozen=True, slots=True)
class SchedulePlan:
    """What a pass does with every subscription due on one schedule, worked out once."""

    schedule: Schedule
    period: dt.datetime | None  # the digest owed; None: skip (off, or beyond the grace)
    next_due_at: dt.datetime | None  # where the schedule moves once the digest is settled
    made_at: dt.datetime  # the pass's "now": the chats it owes were due by then


@dataclass(frozen=True, slots=True)
class DueGroup:
    """The active subscriptions on one schedule that are due since one instant."""

    schedule: Schedule
    due_at: str  # next_due_at as stored (they share it)
    count: int


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
    """A digest a pass owes one chat: the few subscription and ledger columns it sends with.

    A NamedTuple, not a dataclass: a pass reads one per due chat (100k and more), and a tuple
    is built four times faster.
    """

    chat_id: int
    thread_id: int | None
    send_empty: bool
    parts_sent: int  # sent by an earlier attempt (its ledger row says so); 0 when none
    attempts: int
    profile: ProfileKey  # its window ends at plan.period
    plan: SchedulePlan
    # Its ledger row is settled already (sent, empty or given up), yet the chat is still due
    # for it: the pass only moves the chat on, sending nothing.
    settled: bool = False


@dataclass(frozen=True, slots=True)
class PendingPage:
    """One page of the digests owed to one due group."""

    digests: tuple[PendingDigest, ...]
    resume_after: int | None  # the last chat id, when another page may follow


@dataclass(frozen=True, slots=True)
class Settlement:
    """A digest done: sent in `parts` messages, or empty (nothing new, nothing sent)."""

    digest: PendingDigest
    chat_id: int  # the digest's chat now (a group that became a supergroup has a new id)
    state: str  # "sent" | "empty"
    parts: int | None  # messages the digest had; None when empty


_DUE_GROUPS_SQL = """
SELECT frequency, local_time, timezone, weekday, next_due_at, count(*) FROM subscriptions
WHERE active = 1 AND next_due_at IS NOT NULL AND next_due_at <= :now
GROUP BY frequency, local_time, timezone, weekday, next_due_at
"""
_IN_GROUP = (
    "next_due_at = :due_at AND frequency = :frequency AND local_time = :local_time "
    "AND timezone = :timezone AND weekday = :weekday AND active = 1 AND next_due_at IS NOT NULL"
)
_SKIP_SQL = f"UPDATE subscriptions SET next_due_at = :next_due_at WHERE {_IN_GROUP}"
# A pending row of an earlier period (a retry, or a digest cut short) is replaced by the
# digest now owed, whose window starts at the same, unmoved watermark.
_SUPERSEDE_SQL = f"""
UPDATE deliveries SET state = 'failed', last_error = :reason, updated_at = :now
WHERE state = 'pending' AND period < :period AND EXISTS (
    SELECT 1 FROM subscriptions WHERE chat_id = deliveries.chat_id AND {_IN_GROUP})
"""
# The digests owed to one group, in chat order. A chat with a pending ledger row for the
# period is resumed from it, when its next attempt is due; the window starts at the
# watermark (the ledger row keeps the one its first attempt used). A chat whose row is
# settled should not be due (settling moves it on); if one is, it comes flagged, so the pass
# moves it on instead of leaving it due for ever.
_OWED_PAGE_SQL = f"""
SELECT s.chat_id, s.thread_id, s.send_empty, coalesce(d.parts_sent, 0),
    coalesce(d.attempts, 0), s.topics, s.countries, coalesce(d.window_start, s.watermark),
    coalesce(d.state <> 'pending', 0)
FROM subscriptions AS s
LEFT JOIN deliveries AS d ON d.chat_id = s.chat_id AND d.period = :period
WHERE {_IN_GROUP} AND s.chat_id > :after
    AND (d.id IS NULL OR d.state <> 'pending' OR d.next_attempt_at <= :now)
ORDER BY s.chat_id LIMIT :limit
"""
# A digest's ledger row is written when there is something to remember: a part sent, a
# failed attempt, or its end. The digests written together come as one JSON array
# (`:digests`), so a batch is one statement, not one per digest: each statement is a trip to
# aiosqlite's thread, which waits for a CPU and the GIL while a pass keeps both busy.
_DIGESTS = """
WITH digest (chat_id, period, window_start, state, parts_total, parts_sent, attempts,
    next_attempt_at, error, next_due_at, made_at) AS (
    SELECT json_extract(value, '$.chat_id'), json_extract(value, '$.period'),
        json_extract(value, '$.window_start'), json_extract(value, '$.state'),
        json_extract(value, '$.parts_total'), json_extract(value, '$.parts_sent'),
        json_extract(value, '$.attempts'), json_extract(value, '$.next_attempt_at'),
        json_extract(value, '$.error'), json_extract(value, '$.next_due_at'),
        json_extract(value, '$.made_at')
    FROM json_each(:digests))
"""
# Through the subscription, so a chat deleted meanwhile gets none (and breaks no foreign
# key); a row already settled is never changed.
_LEDGER_WRITE = f"""{_DIGESTS}
INSERT INTO deliveries (chat_id, period, window_start, window_end, state, parts_total,
    parts_sent, attempts, next_attempt_at, last_error, created_at, updated_at)
SELECT s.chat_id, d.period, d.window_start, d.period, d.state, d.parts_total, d.parts_sent,
    d.attempts, d.next_attempt_at, d.error, :now, :now
FROM digest AS d JOIN subscriptions AS s ON s.chat_id = d.chat_id WHERE true
ON CONFLICT (chat_id, period) DO UPDATE SET
"""
_SETTLE_SQL = (
    _LEDGER_WRITE + "state = excluded.state, parts_sent = excluded.parts_sent, "
    "parts_total = coalesce(excluded.parts_total, parts_total), last_error = NULL, "
    "updated_at = excluded.updated_at WHERE deliveries.state = 'pending'"
)
_PART_SENT_SQL = (
    _LEDGER_WRITE + "parts_sent = excluded.parts_sent, parts_total = excluded.parts_total, "
    "updated_at = excluded.updated_at WHERE deliveries.state = 'pending'"
)
_ATTEMPT_FAILED_SQL = (
    _LEDGER_WRITE
    + "attempts = attempts + 1, state = excluded.state, last_error = excluded.last_error, "
    "next_attempt_at = excluded.next_attempt_at, updated_at = excluded.updated_at "
    "WHERE deliveries.state = 'pending'"
)
# The subscription's schedule moves on once its digest is done, unless it was changed
# meanwhile (a changed schedule is next due after the change, so after the pass began).
_MOVE_ON = (
    "next_due_at = CASE WHEN subscriptions.next_due_at <= d.made_at THEN d.next_due_at "
    "ELSE subscriptions.next_due_at END, updated_at = :now"
)
_SUBSCRIPTION_UPDATE = (
    _DIGESTS
    + "UPDATE subscriptions SET {} FROM digest AS d WHERE subscriptions.chat_id = d.chat_id"
)
_MOVE_ON_SQL = _SUBSCRIPTION_UPDATE.format(_MOVE_ON)
# Settling also moves the watermark to the end of the digest's window.
_SETTLE_SUBSCRIPTION_SQL = _SUBSCRIPTION_UPDATE.format(
    f"watermark = max(watermark, d.period), {_MOVE_ON}"
)


def _group_parameters(group: DueGroup) -> dict[str, Any]:
    schedule = group.schedule
    return {
        "frequency": schedule.frequency,
        "local_time": f"{schedule.local_time:%H:%M}",
        "timezone": schedule.timezone,
        "weekday": schedule.weekday,
        "due_at": group.due_at,
    }


def _ledger_row(digest: PendingDigest, chat_id: int, now: str, **changes: Any) -> dict[str, Any]:
    """One digest as the ledger statements read it from `:digests`, with `changes`."""
    plan = digest.plan
    row = {
        "chat_id": chat_id,
        "period": digest.profile[3],
        "window_start": digest.profile[2],
        "state": "pending",
        "parts_total": None,
        "parts_sent": digest.parts_sent,
        "attempts": digest.attempts,
        "next_attempt_at": now,
        "error": None,
        "next_due_at": format_time(plan.next_due_at) if plan.next_due_at else None,
        "made_at": format_time(plan.made_at),
    }
    row.update(changes)
    return row


def _digests(now: str, rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The parameters of a ledger statement about `rows`."""
    return {"now": now, "digests": json.dumps(rows)}


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

    async def due_groups(self, now: dt.datetime) -> tuple[DueGroup, ...]:
        """The active subscriptions due at or before `now`, grouped by schedule and due time.

        Usually one group per distinct schedule: a handful, however many subscribers.
        """
        store = self._store
        async with store._lock:
            rows = await store._rows(_DUE_GROUPS_SQL, {"now": format_time(now)})
        return tuple(
            DueGroup(
                schedule=Schedule(
                    frequency=row[0],
                    local_time=dt.time.fromisoformat(row[1]),
                    timezone=row[2],
                    weekday=row[3],
                ),
                due_at=row[4],
                count=row[5],
            )
            for row in rows
        )

    async def count_active(self) -> int:
        store = self._store
        async with store._lock:
            return await store._count("SELECT count(*) FROM subscriptions WHERE active = 1")

    # -- the ledger -----------------------------------------------------------------------
    #
    # A subscription owes a digest while it is due (next_due_at <= now). Nothing is written
    # when a pass starts: a digest's ledger row is written when a part of it is sent, an
    # attempt fails, or it is settled, and settling moves the watermark and the schedule on in
    # the same transaction. So a digest interrupted by a crash is still owed, and resumed
    # after the parts its row records.

    async def skip(self, group: DueGroup, plan: SchedulePlan) -> int:
        """Move a group fallen due beyond the grace on to its next due time, with no digest.

        The watermark stays, so the skipped items come in the next digest. Returns how many.
        """
        parameters = _group_parameters(group)
        parameters["next_due_at"] = format_time(plan.next_due_at) if plan.next_due_at else None
        store = self._store
        async with store._lock, store._transaction(write=True):
            await store._row(_SKIP_SQL, parameters)
            return await store._count("SELECT changes()")

    async def supersede_earlier(
        self, group: DueGroup, plan: SchedulePlan, *, now: dt.datetime
    ) -> None:
        """Close the group's pending ledger rows of periods before the plan's (their digest
        is replaced by the one now owed, whose window starts where theirs did)."""
        if plan.period is None:
            return
        parameters = _group_parameters(group)
        parameters.update(
            period=format_time(plan.period),
            now=format_time(now),
            reason=f"replaced by the digest due at {format_time(plan.period)}",
        )
        store = self._store
        async with store._lock, store._transaction(write=True):
            await store._row(_SUPERSEDE_SQL, parameters)

    async def owed_page(
        self,
        group: DueGroup,
        plan: SchedulePlan,
        *,
        now: dt.datetime,
        after: int | None,
        limit: int,
    ) -> PendingPage:
        """A page of the digests `group` is owed for `plan.period`, ready at `now`.

        Only the columns a pass sends with; `after` is the previous page's `resume_after`.
        A chat whose last attempt waits for a retry is left out until then.
        """
        assert plan.period is not None
        period = format_time(plan.period)
        timezone = plan.schedule.timezone
        parameters = _group_parameters(group)
        parameters.update(period=period, now=format_time(now), after=after or -(2**63), limit=limit)
        store = self._store
        async with store._lock:
            rows = await store._rows(_OWED_PAGE_SQL, parameters)
        digests = tuple(
            PendingDigest(
                row[0],
                row[1],
                bool(row[2]),
                row[3],
                row[4],
                (row[5], row[6], row[7], period, timezone),
                plan,
                bool(row[8]),
            )
            for row in rows
        )
        resume_after = rows[-1][0] if len(rows) == limit else None
        return PendingPage(digests=digests, resume_after=resume_after)

    async def record_part_sent(
        self,
        digest: PendingDigest,
        *,
        chat_id: int,
        parts_sent: int,
        parts_total: int,
        now: dt.datetime,
    ) -> None:
        """Remember that the first `parts_sent` messages of a digest are delivered."""
        stamp = format_time(now)
        row = _ledger_row(digest, chat_id, stamp, parts_sent=parts_sent, parts_total=parts_total)
        store = self._store
        async with store._lock:
            await store._run(_PART_SENT_SQL, _digests(stamp, [row]))

    async def settle(self, settlements: Sequence[Settlement], *, now: dt.datetime) -> None:
        """Settle several digests in one transaction: each one's ledger row, its chat's
        watermark (to the end of its window) and next due time."""
        if not settlements:
            return
        stamp = format_time(now)
        rows = [
            _ledger_row(
                settlement.digest,
                settlement.chat_id,
                stamp,
                state=settlement.state,
                parts_total=settlement.parts,
                parts_sent=settlement.digest.parts_sent
                if settlement.parts is None
                else settlement.parts,
            )
            for settlement in settlements
        ]
        parameters = _digests(stamp, rows)
        store = self._store
        async with store._lock, store._transaction(write=True):
            await store._run(_SETTLE_SQL, parameters)
            await store._run(_SETTLE_SUBSCRIPTION_SQL, parameters)

    async def move_on(self, digest: PendingDigest, *, chat_id: int, now: dt.datetime) -> None:
        """Move a chat on to its next digest (its watermark stays), without a ledger write:
        for a chat still due for a digest whose row is already settled."""
        stamp = format_time(now)
        store = self._store
        async with store._lock:
            await store._run(_MOVE_ON_SQL, _digests(stamp, [_ledger_row(digest, chat_id, stamp)]))

    async def fail_attempt(
        self,
        digest: PendingDigest,
        *,
        chat_id: int,
        error: str,
        retry_at: dt.datetime | None,
        now: dt.datetime,
    ) -> None:
        """Count a failed attempt: retry at `retry_at`, or give up (state failed) when None.

        A failed digest leaves the watermark where it was: its items come in the next one.
        Given up, the chat's schedule moves on to its next digest.
        """
        stamp = format_time(now)
        row = _ledger_row(
            digest,
            chat_id,
            stamp,
            state="pending" if retry_at else "failed",
            attempts=digest.attempts + 1,
            error=error[:_ERROR_LIMIT],
            next_attempt_at=format_time(retry_at) if retry_at else stamp,
        )
        parameters = _digests(stamp, [row])
        store = self._store
        async with store._lock, store._transaction(write=True):
            await store._run(_ATTEMPT_FAILED_SQL, parameters)
            if retry_at is None:
                await store._run(_MOVE_ON_SQL, parameters)

    async def deliveries_for(self, chat_id: int) -> tuple[Delivery, ...]:
        """Every ledger row of a chat, oldest first (for tests and operators)."""
        store = self._store
        async with store._lock:
            rows = await store._rows(
                f"SELECT {_DELIVERY_COLUMNS} FROM deliveries WHERE chat_id = ? ORDER BY period",
                (chat_id,),
            )
        return tuple(_delivery_from_row(row) for row in rows)
