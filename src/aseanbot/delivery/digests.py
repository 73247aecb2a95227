"""Send the digests that are due: claim them in the ledger, build each profile once, deliver.

One pass: (1) every subscription due by now gets a pending ledger row for its period and its
schedule moves on, in one transaction; (2) every pending row — new, retried, or left by a
crash — is sent, part by part, each part recorded as it goes; (3) the row is settled and the
chat's watermark moves to the end of the digest's window. A digest is built once per
(topics, countries, window), however many chats share it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardMarkup
from telegram.error import TelegramError
from telegram.ext import ExtBot

from aseanbot.catalog import Catalog
from aseanbot.delivery.outcomes import SendFailure, Verdict, classify_send_error
from aseanbot.delivery.pass_lock import PassLock
from aseanbot.formatting.digest import digest_keyboard, render_digest, render_empty_digest
from aseanbot.formatting.split import split_message
from aseanbot.models import Delivery, Subscription
from aseanbot.scheduling import latest_due, next_due, zone_for
from aseanbot.store import Store
from aseanbot.store.subscriptions import Claim

logger = logging.getLogger(__name__)

DEFAULT_GRACE = dt.timedelta(hours=6)
# Sends in flight at once: enough to keep the rate limiter's budget busy across many chats,
# and the bound on digests that may go out twice if the process is killed mid-pass.
DEFAULT_CONCURRENCY = 64
CLAIM_BATCH = 1000
MAX_ATTEMPTS = 5
# Waits before the 2nd, 3rd, … attempt after a timeout, network error or server error.
RETRY_DELAYS = (
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=20),
    dt.timedelta(hours=1),
)
MAX_DIGEST_ITEMS = 200

# What makes two digests the same: followed topics and countries, the window, and the zone
# its header's times are shown in.
ProfileKey = tuple[tuple[str, ...], tuple[str, ...], dt.datetime, dt.datetime, str]


@dataclass
class PassReport:
    """What one pass did, for logs, /stats and tests."""

    claimed: int = 0
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
        """Claim everything due and send everything pending; skip if a pass is running."""
        if self._running.locked():
            logger.debug("A digest pass is still running; this tick is skipped")
            return PassReport(busy=True)
        async with self._running:
            report = PassReport()
            with PassLock(self._lock_path) as lock:
                if not lock.acquired:
                    report.busy = True
                    return report
                await self._claim_due(report)
                await self._send_pending(report)
            if report.claimed or report.sent or report.failed or report.retrying:
                logger.info(
                    "Digest pass: %d claimed, %d skipped, %d sent (%d messages), %d empty, "
                    "%d failed, %d retrying, %d chats deactivated, %d profiles built",
                    report.claimed,
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

    # -- claiming -------------------------------------------------------------------------

    async def _claim_due(self, report: PassReport) -> None:
        now = self._clock()
        subscriptions = self._store.subscriptions
        while not self._stop_requested:
            due = await subscriptions.due(now, limit=CLAIM_BATCH)
            if not due:
                return
            claims = [self._claim_for(subscription, now) for subscription in due]
            await subscriptions.claim(claims, now=now)
            report.claimed += sum(1 for c in claims if c.period is not None)
            report.skipped += sum(1 for c in claims if c.period is None)

    def _claim_for(self, subscription: Subscription, now: dt.datetime) -> Claim:
        schedule = subscription.schedule
        # After downtime several periods may have passed: one digest covers them all.
        period = latest_due(schedule, at_or_before=now)
        if period is not None and now - period > self._grace:
            logger.info(
                "Digest for chat %s fell due at %s, beyond the grace window; its items wait "
                "for the next one",
                subscription.chat_id,
                period.isoformat(),
            )
            period = None
        return Claim(
            chat_id=subscription.chat_id,
            period=period,
            next_due_at=next_due(schedule, after=now),
        )

    # -- sending --------------------------------------------------------------------------

    async def _send_pending(self, report: PassReport) -> None:
        subscriptions = self._store.subscriptions
        built: dict[ProfileKey, list[str]] = {}
        semaphore = asyncio.Semaphore(self._concurrency)
        seen: set[int] = set()
        while not self._stop_requested:
            batch = [
                pair
                for pair in await subscriptions.pending(self._clock(), limit=CLAIM_BATCH)
                if pair[0].id not in seen
            ]
            if not batch:
                return
            seen.update(delivery.id for delivery, _ in batch)

            async def deliver(delivery: Delivery, subscription: Subscription) -> None:
                async with semaphore:
                    await self._deliver(delivery, subscription, built, report)

            await asyncio.gather(*(deliver(d, s) for d, s in batch))

    async def preview(self, subscription: Subscription) -> list[str]:
        """The digest this chat would get now, as messages; never touches the ledger.

        Nothing new gives the "no new updates" message, so a preview always shows something.
        """
        parts = await self._render(subscription, since=subscription.watermark, until=self._clock())
        if parts:
            return parts
        zone = zone_for(subscription.schedule.timezone)
        return split_message(render_empty_digest(since=subscription.watermark, zone=zone))

    async def _render(
        self, subscription: Subscription, *, since: dt.datetime, until: dt.datetime
    ) -> list[str]:
        items = await self._store.items_changed(
            since=since,
            until=until,
            topics=subscription.topics,
            countries=subscription.countries,
            limit=MAX_DIGEST_ITEMS,
        )
        blocks = render_digest(
            items,
            self._catalog(),
            followed_topics=subscription.topics,
            since=since,
            zone=zone_for(subscription.schedule.timezone),
        )
        return split_message(blocks) if blocks else []

    async def _build(
        self, delivery: Delivery, subscription: Subscription, built: dict[ProfileKey, list[str]]
    ) -> list[str]:
        key: ProfileKey = (
            subscription.topics,
            subscription.countries,
            delivery.window_start,
            delivery.window_end,
            subscription.schedule.timezone,
        )
        parts = built.get(key)
        if parts is None:
            parts = await self._render(
                subscription, since=delivery.window_start, until=delivery.window_end
            )
            built[key] = parts
        if not parts and subscription.send_empty:
            zone = zone_for(subscription.schedule.timezone)
            return split_message(render_empty_digest(since=delivery.window_start, zone=zone))
        return parts

    async def _deliver(
        self,
        delivery: Delivery,
        subscription: Subscription,
        built: dict[ProfileKey, list[str]],
        report: PassReport,
    ) -> None:
        subscriptions = self._store.subscriptions
        parts = await self._build(delivery, subscription, built)
        if len(built) > report.profiles_built:
            report.profiles_built = len(built)
        if not parts:
            await subscriptions.complete(delivery, state="empty", now=self._clock())
            report.empty += 1
            return
        chat_id = subscription.chat_id
        thread_id = subscription.thread_id
        keyboard = digest_keyboard()
        index = delivery.parts_sent  # resume after the parts a crashed pass already sent
        while index < len(parts):
            if self._stop_requested:
                return  # pending, resumed from `index` at the next start
            last = index == len(parts) - 1
            try:
                await self._send(chat_id, thread_id, parts[index], keyboard if last else None)
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
                        await self._give_up(delivery, failure.reason, report)
                    case Verdict.RETRY:
                        await self._retry_later(delivery, failure, report)
                return
            index += 1
            report.messages += 1
            await subscriptions.record_part_sent(
                delivery.id, parts_sent=index, parts_total=len(parts), now=self._clock()
            )
        await subscriptions.complete(delivery, state="sent", now=self._clock())
        report.sent += 1

    async def _send(
        self,
        chat_id: int,
        thread_id: int | None,
        text: str,
        keyboard: InlineKeyboardMarkup | None,
    ) -> None:
        # Bulk: the rate limiter lets command replies go first. (A bot without a limiter, as
        # in the console, must not be given rate_limit_args at all.)
        bulk = {"bulk": True} if self._bot.rate_limiter is not None else None
        await self._bot.send_message(
            chat_id,
            text,
            message_thread_id=thread_id,
            reply_markup=keyboard,
            rate_limit_args=bulk,
        )

    async def _deactivate(self, chat_id: int, failure: SendFailure, report: PassReport) -> None:
        reason = failure.reason
        logger.info("Chat %s can no longer receive digests (%s); deactivated", chat_id, reason)
        await self._store.subscriptions.deactivate(chat_id, reason=reason, now=self._clock())
        report.deactivated += 1

    async def _give_up(self, delivery: Delivery, reason: str, report: PassReport) -> None:
        await self._store.subscriptions.fail_attempt(
            delivery, error=reason, retry_at=None, now=self._clock()
        )
        report.failed += 1
        report.errors.append(reason)

    async def _retry_later(
        self, delivery: Delivery, failure: SendFailure, report: PassReport
    ) -> None:
        reason = failure.reason
        attempt = delivery.attempts + 1
        if attempt >= MAX_ATTEMPTS:
            logger.warning(
                "Digest for chat %s failed %d times; giving up: %s",
                delivery.chat_id,
                attempt,
                reason,
            )
            await self._give_up(delivery, reason, report)
            return
        delay = failure.wait or RETRY_DELAYS[min(attempt - 1, len(RETRY_DELAYS) - 1)]
        logger.warning(
            "Digest for chat %s failed (%s); retrying in %s", delivery.chat_id, reason, delay
        )
        await self._store.subscriptions.fail_attempt(
            delivery, error=reason, retry_at=self._clock() + delay, now=self._clock()
        )
        report.retrying += 1
