"""Send a confirmed broadcast to every chat in its ledger, as digests are sent.

The same bot and rate limiter as digests (bulk priority, so command replies go first), the
same reading of errors (delivery/outcomes.py): a blocked or vanished chat is deactivated, a
migrated group is followed, a gone forum topic falls back to the chat, and timeouts or server
errors are retried a few times in-process before the chat is marked failed. Each delivery row
is settled as soon as its chat is done, so a resumed broadcast skips every chat already served.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from telegram.error import TelegramError
from telegram.ext import ExtBot

from aseanbot.delivery.bulk_send import send_bulk
from aseanbot.delivery.outcomes import SendFailure, Verdict, classify_send_error
from aseanbot.store import Store
from aseanbot.store.broadcasts import BroadcastTarget

logger = logging.getLogger(__name__)

# Waits before the 2nd, 3rd and 4th try after a timeout, network or server error; then the
# chat is marked failed. Short: the operator waits for the report.
RETRY_DELAYS = (dt.timedelta(seconds=2), dt.timedelta(seconds=10), dt.timedelta(seconds=30))
# Sends in flight at once: enough to keep the rate limiter's budget busy.
DEFAULT_CONCURRENCY = 32
BATCH = 1000
UNSUBSCRIBED = "unsubscribed before it was sent"


@dataclass
class BroadcastReport:
    """What one run of a broadcast did."""

    broadcast_id: int
    sent: int = 0
    failed: int = 0  # refused by Telegram, or still failing after every retry
    deactivated: int = 0  # the chat blocked or removed the bot: its subscription stopped
    skipped: int = 0  # unsubscribed between the confirm and its turn
    errors: list[str] = field(default_factory=list)


class BroadcastSender:
    """Delivers broadcasts for one bot and one store."""

    def __init__(
        self,
        bot: ExtBot[Any],
        store: Store,
        *,
        clock: Callable[[], dt.datetime],
        retry_delays: Sequence[dt.timedelta] = RETRY_DELAYS,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self._bot = bot
        self._store = store
        self._clock = clock
        self._retry_delays = tuple(retry_delays)
        self._concurrency = concurrency

    async def send(self, broadcast_id: int) -> BroadcastReport:
        """Send the broadcast to every chat it is still pending for, then mark it done."""
        report = BroadcastReport(broadcast_id)
        ledger = self._store.broadcasts
        broadcast = await ledger.get(broadcast_id)
        if broadcast is None:
            raise LookupError(f"no broadcast {broadcast_id}")
        semaphore = asyncio.Semaphore(self._concurrency)

        async def deliver(target: BroadcastTarget) -> None:
            async with semaphore:
                await self._deliver(broadcast_id, broadcast.text, target, report)

        while batch := await ledger.pending(broadcast_id, limit=BATCH):
            await asyncio.gather(*(deliver(target) for target in batch))
        await ledger.finish(broadcast_id)
        logger.info(
            "Broadcast %d: %d sent, %d failed, %d chats deactivated, %d skipped",
            broadcast_id,
            report.sent,
            report.failed,
            report.deactivated,
            report.skipped,
        )
        return report

    async def _deliver(
        self, broadcast_id: int, text: str, target: BroadcastTarget, report: BroadcastReport
    ) -> None:
        ledger = self._store.broadcasts
        if not target.subscribed:
            await self._settle(broadcast_id, target.chat_id, 0, UNSUBSCRIBED)
            report.skipped += 1
            return
        chat_id, thread_id = target.chat_id, target.thread_id
        attempts = 0
        while True:
            attempts += 1
            try:
                await send_bulk(self._bot, chat_id, text, thread_id=thread_id)
            except TelegramError as error:
                failure = classify_send_error(error, thread_id=thread_id)
                match failure.verdict:
                    case Verdict.MIGRATED if failure.new_chat_id is not None:
                        new_chat_id = failure.new_chat_id
                        await self._store.subscriptions.migrate_chat(
                            chat_id, new_chat_id, now=self._clock()
                        )
                        logger.info(
                            "Chat %s moved to %s; the broadcast follows", chat_id, new_chat_id
                        )
                        chat_id = new_chat_id
                        continue
                    case Verdict.THREAD_GONE:
                        thread_id = None
                        continue
                    case Verdict.RETRY if attempts <= len(self._retry_delays):
                        delay = failure.wait or self._retry_delays[attempts - 1]
                        logger.warning(
                            "Broadcast %d to chat %s failed (%s); retrying in %s",
                            broadcast_id,
                            chat_id,
                            failure.reason,
                            delay,
                        )
                        await asyncio.sleep(delay.total_seconds())
                        continue
                    case Verdict.GONE:
                        await self._deactivate(chat_id, failure)
                        report.deactivated += 1
                    case _:  # refused, or out of retries
                        logger.warning(
                            "Broadcast %d to chat %s failed: %s",
                            broadcast_id,
                            chat_id,
                            failure.reason,
                        )
                        report.failed += 1
                        report.errors.append(f"{chat_id}: {failure.reason}")
                await self._settle(broadcast_id, target.chat_id, attempts, failure.reason)
                return
            await ledger.settle(
                broadcast_id,
                target.chat_id,
                state="sent",
                attempts=attempts,
                error=None,
                now=self._clock(),
            )
            report.sent += 1
            return

    async def _settle(self, broadcast_id: int, chat_id: int, attempts: int, error: str) -> None:
        await self._store.broadcasts.settle(
            broadcast_id, chat_id, state="failed", attempts=attempts, error=error, now=self._clock()
        )

    async def _deactivate(self, chat_id: int, failure: SendFailure) -> None:
        logger.info(
            "Chat %s can no longer receive messages (%s); deactivated", chat_id, failure.reason
        )
        await self._store.subscriptions.deactivate(
            chat_id, reason=failure.reason, now=self._clock()
        )
