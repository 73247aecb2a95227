"""Counters of what the running bot did, for /healthz: kept in memory, reset on restart.

One `Metrics` object lives on Services. It is fed from where things happen: a TypeHandler
counts updates (`count_update`), a thin wrapper around the rate limiter counts messages sent
and failed and Telegram's 429 answers (`MeteredRateLimiter`), and every answered Bot API call,
getUpdates included (`MeteredUpdatesRequest`), moves the last time Telegram was reached.
Each is an integer increment or one assignment: nothing here costs a request anything.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from telegram.error import RetryAfter, TelegramError
from telegram.ext import BaseRateLimiter
from telegram.request import BaseRequest, HTTPXRequest, RequestData

from aseanbot.delivery.limiter import is_message_request

if TYPE_CHECKING:
    # PTB's own annotation for "a float, None, or not given"; only for the override below.
    from telegram._utils.types import ODVInput

    from aseanbot.services import AppContext

ApiResult = bool | dict[str, Any] | list[dict[str, Any]]
ApiCallback = Callable[..., Coroutine[Any, Any, ApiResult]]

_HTTP_OK = 200


@dataclass(frozen=True, slots=True)
class MetricsSnapshot:
    """The counters at one instant."""

    updates_handled: int
    messages_sent: int
    messages_failed: int
    retry_after_received: int
    last_telegram_ok_at: dt.datetime | None


class Metrics:
    """Counters since start; each is changed in one place (see the module docstring)."""

    __slots__ = (
        "_last_telegram_ok",
        "_wall_clock",
        "messages_failed",
        "messages_sent",
        "retry_after_received",
        "updates_handled",
    )

    def __init__(self, wall_clock: Callable[[], float] = time.time) -> None:
        self.updates_handled = 0
        self.messages_sent = 0  # messages sent or edited (what the rate limiter paces)
        self.messages_failed = 0  # of those, the ones that failed (after the limiter's retries)
        self.retry_after_received = 0  # every 429 from Telegram, retried or not
        self._wall_clock = wall_clock
        self._last_telegram_ok: float | None = None

    def telegram_ok(self) -> None:
        """Note that Telegram just answered a call successfully."""
        self._last_telegram_ok = self._wall_clock()

    def snapshot(self) -> MetricsSnapshot:
        last = self._last_telegram_ok
        return MetricsSnapshot(
            updates_handled=self.updates_handled,
            messages_sent=self.messages_sent,
            messages_failed=self.messages_failed,
            retry_after_received=self.retry_after_received,
            last_telegram_ok_at=None if last is None else dt.datetime.fromtimestamp(last, dt.UTC),
        )


async def count_update(update: object, context: AppContext) -> None:
    """Count an update that reached the handlers (a TypeHandler; it never stops one)."""
    context.services.metrics.updates_handled += 1


class MeteredRateLimiter(BaseRateLimiter[dict[str, Any]]):
    """Wraps a rate limiter and counts what its requests end in; limits nothing itself.

    Each try the inner limiter makes is seen (the callback is wrapped), so a 429 that the
    limiter retries still counts; a message counts as sent or failed once, by its final end.
    """

    __slots__ = ("_inner", "_metrics")

    def __init__(self, inner: BaseRateLimiter[dict[str, Any]], metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    @property
    def inner(self) -> BaseRateLimiter[dict[str, Any]]:
        """The rate limiter that does the limiting."""
        return self._inner

    async def initialize(self) -> None:
        await self._inner.initialize()

    async def shutdown(self) -> None:
        await self._inner.shutdown()

    async def process_request(
        self,
        callback: ApiCallback,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: dict[str, Any] | None,
    ) -> ApiResult:
        """Pass the request to the inner limiter, counting each try and the outcome."""
        metrics = self._metrics

        async def counted(*call_args: Any, **call_kwargs: Any) -> ApiResult:
            try:
                result = await callback(*call_args, **call_kwargs)
            except RetryAfter:
                metrics.retry_after_received += 1
                raise
            metrics.telegram_ok()
            return result

        if not is_message_request(endpoint, data):
            return await self._inner.process_request(
                counted, args, kwargs, endpoint, data, rate_limit_args
            )
        try:
            result = await self._inner.process_request(
                counted, args, kwargs, endpoint, data, rate_limit_args
            )
        except TelegramError:
            metrics.messages_failed += 1
            raise
        metrics.messages_sent += 1
        return result


class MeteredUpdatesRequest(HTTPXRequest):
    """PTB's HTTP client for getUpdates, which bypasses the rate limiter: notes each 200.

    In polling mode this is what shows Telegram is reachable while nobody writes to the bot.
    """

    __slots__ = ("_metrics",)

    def __init__(self, metrics: Metrics, **options: Any) -> None:
        super().__init__(**options)
        self._metrics = metrics

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        status, payload = await super().do_request(
            url,
            method,
            request_data=request_data,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
        )
        if status == _HTTP_OK:
            self._metrics.telegram_ok()
        return status, payload
