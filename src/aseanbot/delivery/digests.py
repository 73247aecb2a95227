"""Send the digests that are due: find them, build each profile once, deliver, settle.

One pass: (1) the due subscriptions are found grouped by schedule, and each schedule's period
and next due time are worked out once — nothing is written per chat; (2) the digests owed
are read group by group in pages, only the columns sending needs, and sent part by part,
each part but the last recorded in the ledger as it goes; (3) each digest is settled: its
ledger row, the chat's watermark (to the end of the digest's window) and next due time, the
digests that finish together in one transaction. A digest is built once per (topics,
countries, window, zone), however many chats share it; each window's items are read once and
each item is rendered once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import Counter
from collections.abc import AsyncGenerator, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram.error import TelegramError
from telegram.ext import ExtBot

from aseanbot.catalog import Catalog
from aseanbot.delivery.bulk_send import send_bulk
from aseanbot.delivery.outcomes import SendFailure, Verdict, classify_send_error
from aseanbot.delivery.pass_lock import PassLock
from aseanbot.formatting.digest import (
    digest_keyboard,
    render_digest,
    render_digest_entry,
    render_empty_digest,
)
from aseanbot.formatting.split import PackedMessages, pack_messages
from aseanbot.models import Item, Subscription
from aseanbot.scheduling import Schedule, latest_due, next_due, zone_for
from aseanbot.store import Store
from aseanbot.store.subscriptions import (
    DigestProfile,
    DueGroup,
    PendingDigest,
    PendingPage,
    ProfileKey,
    SchedulePlan,
    Settlement,
    Subscriptions,
    read_profile,
)

logger = logging.getLogger(__name__)

# An inline keyboard as the Bot API takes it (InlineKeyboardMarkup.to_dict()).
JSONKeyboard = dict[str, Any]

DEFAULT_GRACE = dt.timedelta(hours=6)
# Sends in flight at once: enough to keep the rate limiter's budget busy across many chats,
# and the bound on digests that may go out twice if the process is killed mid-pass (a digest
# holds its place until its completion is written).
DEFAULT_CONCURRENCY = 64
# Digests owed read per page.
PAGE_SIZE = 1000
# Completions written per transaction at most.
SETTLE_BATCH = 64
MAX_ATTEMPTS = 5
# Waits before the 2nd, 3rd, … attempt after a timeout, network error or server error.
RETRY_DELAYS = (
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=20),
    dt.timedelta(hours=1),
)
MAX_DIGEST_ITEMS = 200
# A window's items are read once, unfiltered, and filtered per profile, when there are at
# most this many; a busier window is read per profile, filtered by the store.
WINDOW_ITEMS = 1000
# How many profiles of a page must share a window for it to be read whole: for one or two,
# the store's filtered reads cost less.
WINDOW_SHARED = 3


@dataclass
class PassReport:
    """What one pass did, for logs, /stats and tests."""

    due: int = 0  # digests owed when the pass began (sent now, or when a retry is due)
    skipped: int = 0  # fell due longer ago than the grace window
    sent: int = 0  # digests fully delivered
    messages: int = 0  # Telegram messages sent
    empty: int = 0
    failed: int = 0
    retrying: int = 0
    deactivated: int = 0
    profiles_built: int = 0
    busy: bool = False  # skipped: another pass (in this or another process) was running
    errors: list[str] = field(default_factory=list)


@dataclass
class _PassCache:
    """What one pass builds once and reuses: profiles, window items, entries and digests."""

    profiles: dict[ProfileKey, DigestProfile] = field(default_factory=dict)
    digests: dict[ProfileKey, PackedMessages] = field(default_factory=dict)
    empty: dict[ProfileKey, PackedMessages] = field(default_factory=dict)
    # None: too many items in the window to filter them here.
    windows: dict[tuple[dt.datetime, dt.datetime], tuple[Item, ...] | None] = field(
        default_factory=dict
    )
    # By id and change time: an item changed during the pass is rendered again.
    entries: dict[tuple[str, dt.datetime], str] = field(default_factory=dict)

    def entry(self, item: Item) -> str:
        key = (item.id, item.updated_at)
        text = self.entries.get(key)
        if text is None:
            text = self.entries[key] = render_digest_entry(item)
        return text

    def parts_for(self, digest: PendingDigest) -> PackedMessages:
        """The messages of a digest whose profile is built; none: settle it as empty."""
        parts = self.digests[digest.profile]
        if parts or not digest.send_empty:
            return parts
        empty = self.empty.get(digest.profile)
        if empty is None:
            profile = self.profiles[digest.profile]
            empty = self.empty[digest.profile] = _empty_digest(
                profile.window_start, profile.timezone
            )
        return empty


@dataclass(frozen=True, slots=True)
class PreparedPage:
    """A page of pending digests whose profiles are all built."""

    digests: tuple[PendingDigest, ...]
    built: _PassCache

    def parts(self, digest: PendingDigest) -> PackedMessages:
        return self.built.parts_for(digest)


class _Settler:
    """Writes finished digests to the ledger in groups.

    Each digest waits until its own settlement is written; the settlements that queue up while
    one transaction is written go together in the next (at most SETTLE_BATCH). At 30 messages
    a second that is one transaction per digest, as before; at paid-broadcast rates, one per
    several dozen.
    """

    def __init__(self, ledger: Subscriptions, clock: Callable[[], dt.datetime]) -> None:
        self._ledger = ledger
        self._clock = clock
        self._queue: list[tuple[Settlement, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def settle(self, settlement: Settlement) -> None:
        """Return once `settlement` is written; raise what writing it raised."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((settlement, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="digest-settler")
        await future

    async def close(self) -> None:
        """Wait for the writes already queued (a pass ends with nothing left unwritten)."""
        if self._writer is not None:
            await asyncio.wait([self._writer])

    async def _write(self) -> None:
        while self._queue:
            batch = self._queue[:SETTLE_BATCH]
            del self._queue[:SETTLE_BATCH]
            try:
                await self._ledger.settle([s for s, _ in batch], now=self._clock())
            except Exception as error:  # each waiting digest raises it
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            except BaseException:
                for _, future in (*batch, *self._queue):
                    future.cancel()
                raise
            for _, future in batch:
                if not future.done():  # the digest's task may have been cancelled meanwhile
                    future.set_result(None)


class DigestSender:
    """Runs digest passes for one bot and one store; at most one pass at a time."""

    def __init__(
        self,
        bot: ExtBot[Any],
        store: Store,
        *,
        catalog: Callable[[], Catalog],
        clock: Callable[[], dt.datetime],
        grace: dt.timedelta = DEFAULT_GRACE,
        concurrency: int = DEFAULT_CONCURRENCY,
        lock_path: Path | None = None,
    ) -> None:
        self._bot = bot
        self._store = store
        self._catalog = catalog
        self._clock = clock
        self._grace = grace
        self._concurrency = concurrency
        self._lock_path = lock_path
        self._running = asyncio.Lock()
        self._stop_requested = False

    @property
    def busy(self) -> bool:
        return self._running.locked()

    def request_stop(self) -> None:
        """Shutting down: send nothing new; the sends in flight finish, the rest stay pending."""
        self._stop_requested = True

    async def run_pass(self) -> PassReport:
        """Send every digest owed (due, or due for a retry); skip if a pass is running."""
        if self._running.locked():
            logger.debug("A digest pass is still running; this tick is skipped")
            return PassReport(busy=True)
        async with self._running:
            report = PassReport()
            with PassLock(self._lock_path) as lock:
                if not lock.acquired:
                    report.busy = True
                    return report
                runs = await self._due_runs(report)
                await self._send_pending(runs, report)
            if report.due or report.skipped or report.sent or report.failed or report.retrying:
                logger.info(
                    "Digest pass: %d due, %d skipped, %d sent (%d messages), %d empty, "
                    "%d failed, %d retrying, %d chats deactivated, %d profiles built",
                    report.due,
                    report.skipped,
                    report.sent,
                    report.messages,
                    report.empty,
                    report.failed,
                    report.retrying,
                    report.deactivated,
                    report.profiles_built,
                )
            return report

    # -- finding what is due ---------------------------------------------------------------

    async def _due_runs(self, report: PassReport) -> list[tuple[DueGroup, SchedulePlan]]:
        """The groups of due subscriptions that get a digest in this pass, with their plans.

        A group fallen due beyond the grace moves on without one. Nothing else is written.
        """
        now = self._clock()
        ledger = self._store.subscriptions
        if self._stop_requested:
            return []
        plans: dict[Schedule, SchedulePlan] = {}
        runs = []
        for group in await ledger.due_groups(now):
            plan = plans.get(group.schedule)
            if plan is None:
                plan = plans[group.schedule] = self._plan(group.schedule, now)
            if plan.period is None:
                report.skipped += await ledger.skip(group, plan)
                continue
            await ledger.supersede_earlier(group, plan, now=now)
            report.due += group.count
            runs.append((group, plan))
        return runs

    def _plan(self, schedule: Schedule, now: dt.datetime) -> SchedulePlan:
        """Work out once what every subscription due on `schedule` gets at `now`."""
        # After downtime several periods may have passed: one digest covers them all.
        period = latest_due(schedule, at_or_before=now)
        if period is not None and now - period > self._grace:
            logger.info(
                "Digests due at %s (%s %s, %s) fell due beyond the grace window; their items "
                "wait for the next one",
                period.isoformat(),
                schedule.frequency,
                f"{schedule.local_time:%H:%M}",
                schedule.timezone,
            )
            period = None
        return SchedulePlan(
            schedule=schedule, period=period, next_due_at=next_due(schedule, after=now), made_at=now
        )

    # -- building -------------------------------------------------------------------------

    async def _prepared_pages(
        self, runs: Sequence[tuple[DueGroup, SchedulePlan]], report: PassReport
    ) -> AsyncGenerator[PreparedPage, None]:
        """The digests owed, group by group and page by page, with every profile built (once
        in the pass).

        Digests ready when the pass began: one retried during the pass waits for the next.
        """
        ledger = self._store.subscriptions
        now = self._clock()
        cache = _PassCache()

        def read(run: int, after: int | None) -> asyncio.Future[PendingPage]:
            group, plan = runs[run]
            return asyncio.ensure_future(
                ledger.owed_page(group, plan, now=now, after=after, limit=PAGE_SIZE)
            )

        run = 0
        reading = read(run, None) if runs else None
        try:
            while reading is not None and not self._stop_requested:
                page = await reading
                # The next page is read on SQLite's thread while this one is built here.
                reading = None
                if page.resume_after is not None:
                    reading = read(run, page.resume_after)
                elif run + 1 < len(runs):
                    run += 1
                    reading = read(run, None)
                await self._build_profiles(page, cache, report)
                if page.digests:
                    yield PreparedPage(digests=page.digests, built=cache)
        finally:
            if reading is not None and not reading.done():
                reading.cancel()
                await asyncio.wait([reading])

    async def _build_profiles(
        self, page: PendingPage, cache: _PassCache, report: PassReport
    ) -> None:
        """Build the profiles of a page's digests that are not built yet."""
        unbuilt = {digest.profile for digest in page.digests} - cache.digests.keys()
        for key in unbuilt:
            if key not in cache.profiles:
                cache.profiles[key] = read_profile(key)
        # Windows shared by several profiles still to build are read whole, once.
        sharing = Counter(
            (cache.profiles[key].window_start, cache.profiles[key].window_end) for key in unbuilt
        )
        # In page order: the same on every run, and the page's first digests wait least.
        for digest in page.digests:
            key = digest.profile
            if key in cache.digests:
                continue
            profile = cache.profiles[key]
            whole = sharing[profile.window_start, profile.window_end] >= WINDOW_SHARED
            cache.digests[key] = await self._build(profile, cache, whole=whole)
            report.profiles_built += 1

    async def _build(
        self, profile: DigestProfile, cache: _PassCache, *, whole: bool
    ) -> PackedMessages:
        """The messages of one profile's digest; none when nothing is new.

        `whole`: read the window's items unfiltered (once per pass) and filter them here.
        """
        window = (profile.window_start, profile.window_end)
        if whole and window not in cache.windows:
            found = await self._store.items_changed(
                since=profile.window_start, until=profile.window_end, limit=WINDOW_ITEMS + 1
            )
            cache.windows[window] = found if len(found) <= WINDOW_ITEMS else None
        in_window = cache.windows.get(window)
        if in_window is None:
            items: Sequence[Item] = await self._store.items_changed(
                since=profile.window_start,
                until=profile.window_end,
                topics=profile.topics,
                countries=profile.countries,
                limit=MAX_DIGEST_ITEMS,
            )
        else:
            items = _followed(in_window, profile.topics, profile.countries)[:MAX_DIGEST_ITEMS]
        return self._render(
            items,
            topics=profile.topics,
            since=profile.window_start,
            timezone=profile.timezone,
            render_entry=cache.entry,
        )

    def _render(
        self,
        items: Sequence[Item],
        *,
        topics: Sequence[str],
        since: dt.datetime,
        timezone: str,
        render_entry: Callable[[Item], str] = render_digest_entry,
    ) -> PackedMessages:
        blocks = render_digest(
            items,
            self._catalog(),
            followed_topics=topics,
            since=since,
            zone=zone_for(timezone),
            render_entry=render_entry,
        )
        return pack_messages(blocks)

    async def preview(self, subscription: Subscription) -> list[str]:
        """The digest this chat would get now, as messages; never touches the ledger.

        Nothing new gives the "no new updates" message, so a preview always shows something.
        """
        since, timezone = subscription.watermark, subscription.schedule.timezone
        items = await self._store.items_changed(
            since=since,
            until=self._clock(),
            topics=subscription.topics,
            countries=subscription.countries,
            limit=MAX_DIGEST_ITEMS,
        )
        parts = self._render(items, topics=subscription.topics, since=since, timezone=timezone)
        return list(parts or _empty_digest(since, timezone))

    # -- sending --------------------------------------------------------------------------

    async def _send_pending(
        self, runs: Sequence[tuple[DueGroup, SchedulePlan]], report: PassReport
    ) -> None:
        semaphore = asyncio.Semaphore(self._concurrency)
        settler = _Settler(self._store.subscriptions, self._clock)
        # The same under every digest: serialised once, not once per send (PTB's to_dict
        # walk of the markup costs about as much as the rest of a send's own work).
        keyboard = digest_keyboard().to_dict()

        async def deliver(digest: PendingDigest, page: PreparedPage) -> None:
            # The place is held until the digest is settled: at most `concurrency` digests
            # are ever sent but not yet written as sent.
            async with semaphore:
                await self._deliver(digest, page, keyboard, settler, report)

        try:
            async with aclosing(self._prepared_pages(runs, report)) as pages:
                async for page in pages:
                    await asyncio.gather(*(deliver(digest, page) for digest in page.digests))
        finally:
            await settler.close()

    async def _deliver(
        self,
        digest: PendingDigest,
        page: PreparedPage,
        keyboard: JSONKeyboard,
        settler: _Settler,
        report: PassReport,
    ) -> None:
        subscriptions = self._store.subscriptions
        chat_id = digest.chat_id
        if digest.settled:
            logger.warning("Chat %s was still due for a settled digest; moved on", chat_id)
            await subscriptions.move_on(digest, chat_id=chat_id, now=self._clock())
            return
        parts = page.parts(digest)
        if not parts:
            await settler.settle(Settlement(digest, chat_id, "empty", None))
            report.empty += 1
            return
        thread_id = digest.thread_id
        index = digest.parts_sent  # resume after the parts a crashed pass already sent
        while index < len(parts):
            if self._stop_requested:
                return  # pending, resumed from `index` at the next start
            last = index == len(parts) - 1
            try:
                await send_bulk(
                    self._bot,
                    chat_id,
                    parts[index],
                    thread_id=thread_id,
                    keyboard=keyboard if last else None,
                )
            except TelegramError as error:
                failure = classify_send_error(error, thread_id=thread_id)
                match failure.verdict:
                    case Verdict.MIGRATED:
                        assert failure.new_chat_id is not None
                        new_chat_id = failure.new_chat_id
                        await subscriptions.migrate_chat(chat_id, new_chat_id, now=self._clock())
                        logger.info(
                            "Chat %s moved to %s; its digest follows it", chat_id, new_chat_id
                        )
                        chat_id = new_chat_id
                        continue
                    case Verdict.THREAD_GONE:
                        logger.info("Forum topic of chat %s is gone; sending to the chat", chat_id)
                        thread_id = None
                        continue
                    case Verdict.GONE:
                        await self._deactivate(chat_id, failure, report)
                    case Verdict.REFUSED:
                        # Our own message was refused: retrying would fail the same way.
                        logger.error("Digest for chat %s was refused: %s", chat_id, failure.message)
                        await self._give_up(digest, chat_id, failure.reason, report)
                    case Verdict.RETRY:
                        await self._retry_later(digest, chat_id, failure, report)
                return
            index += 1
            report.messages += 1
            if not last:
                # The last part is recorded with the settlement, which follows at once.
                await subscriptions.record_part_sent(
                    digest,
                    chat_id=chat_id,
                    parts_sent=index,
                    parts_total=len(parts),
                    now=self._clock(),
                )
        await settler.settle(Settlement(digest, chat_id, "sent", len(parts)))
        report.sent += 1

    async def _deactivate(self, chat_id: int, failure: SendFailure, report: PassReport) -> None:
        reason = failure.reason
        logger.info("Chat %s can no longer receive digests (%s); deactivated", chat_id, reason)
        await self._store.subscriptions.deactivate(chat_id, reason=reason, now=self._clock())
        report.deactivated += 1

    async def _give_up(
        self, digest: PendingDigest, chat_id: int, reason: str, report: PassReport
    ) -> None:
        await self._store.subscriptions.fail_attempt(
            digest, chat_id=chat_id, error=reason, retry_at=None, now=self._clock()
        )
        report.failed += 1
        report.errors.append(reason)

    async def _retry_later(
        self, digest: PendingDigest, chat_id: int, failure: SendFailure, report: PassReport
    ) -> None:
        reason = failure.reason
        attempt = digest.attempts + 1
        if attempt >= MAX_ATTEMPTS:
            logger.warning(
                "Digest for chat %s failed %d times; giving up: %s", chat_id, attempt, reason
            )
            await self._give_up(digest, chat_id, reason, report)
            return
        delay = failure.wait or RETRY_DELAYS[min(attempt - 1, len(RETRY_DELAYS) - 1)]
        logger.warning("Digest for chat %s failed (%s); retrying in %s", chat_id, reason, delay)
        await self._store.subscriptions.fail_attempt(
            digest,
            chat_id=chat_id,
            error=reason,
            retry_at=self._clock() + delay,
            now=self._clock(),
        )
        report.retrying += 1


def _empty_digest(since: dt.datetime, timezone: str) -> PackedMessages:
    """The "no new updates since …" message, for chats that asked for one."""
    return pack_messages(render_empty_digest(since=since, zone=zone_for(timezone)))


def _followed(items: Sequence[Item], topics: Sequence[str], countries: Sequence[str]) -> list[Item]:
    """The items on any of `topics` and naming any of `countries` (empty: no condition),
    as `Store.items_changed` filters them, in their order."""
    wanted_topics = frozenset(topics)
    wanted_countries = frozenset(countries)
    return [
        item
        for item in items
        if (not wanted_topics or not wanted_topics.isdisjoint(item.topics))
        and (not wanted_countries or not wanted_countries.isdisjoint(item.countries))
    ]
