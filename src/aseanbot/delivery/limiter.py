"""Keep every Bot API request within Telegram's flood limits.

Telegram allows a bot about 30 messages a second overall, one a second in a private chat and
20 a minute in a group or channel; past that it answers 429 with a `retry_after`. The
`TelegramRateLimiter` holds each request that sends or edits a message until all three limits
allow it, lets interactive replies overtake queued bulk sends (digests and broadcasts pass
``rate_limit_args={"bulk": True}``), and after a 429 pauses every limited request until the
longest `retry_after` seen has passed, then retries.

Telegram counts a message when it *arrives*, which the bot never sees: it lies somewhere
between the request's start and its answer. The windows here therefore count each request
until the latest instant it can have arrived (its answer, less the shortest round trip seen),
so a request slowed on its way out — a new connection, a busy event loop — can never put one
message too many into the server's window, and a fast network costs almost nothing.

Use it as ``ApplicationBuilder().rate_limiter(TelegramRateLimiter())``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import heapq
import itertools
import logging
import math
import time
import warnings
from collections import deque
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

logger = logging.getLogger(__name__)

ApiResult = bool | dict[str, Any] | list[dict[str, Any]]
ApiCallback = Callable[..., Coroutine[Any, Any, ApiResult]]
ChatKey = int | str

# Added to every window's period, for what the round-trip bound cannot see: the answer's
# own way back varies by a little too. Measured in benchmarks/delivery_rate.py.
SAFETY_MARGIN = 0.005
# Added to Telegram's retry_after, which is whole seconds and counted on Telegram's side.
RETRY_MARGIN = 0.1
# How far behind its even grid a smooth window may fall and still catch up: the event loop's
# timers wake about a millisecond late, so at 1000/s a one-slot allowance would lose ~10 %.
# Rates under 100/s have slots longer than this and keep the one-slot allowance.
LATE_START_GRACE = 0.01
# Per-chat state is swept for idle chats once the table has doubled since the last sweep.
SWEEP_MIN_CHATS = 256

# Methods that put or change a message in a chat, besides send* and editMessage*.
_OTHER_MESSAGE_METHODS = frozenset(
    {
        "copymessage",
        "copymessages",
        "forwardmessage",
        "forwardmessages",
        "stoppoll",
        "stopmessagelivelocation",
    }
)

_INTERACTIVE, _BULK = 0, 1


def is_message_request(endpoint: str, data: Mapping[str, Any]) -> bool:
    """Return whether a request sends or edits a message in a chat, and so is rate limited.

    Requests without a `chat_id` (getUpdates, getMe, answerCallbackQuery, edits of inline
    messages) and chat actions pass through: Telegram's message limits do not count them.
    """
    if data.get("chat_id") is None:
        return False
    name = endpoint.lower()
    if name == "sendchataction":
        return False
    return name.startswith(("send", "editmessage")) or name in _OTHER_MESSAGE_METHODS


def chat_key(chat_id: object) -> ChatKey:
    """Return the key a chat's own limit is kept under: its integer id, or its @username."""
    if isinstance(chat_id, int) and not isinstance(chat_id, bool):
        return chat_id
    text = str(chat_id).strip()
    try:
        return int(text)
    except ValueError:
        return text.lower()  # Telegram usernames are case-insensitive


def is_private_chat(key: ChatKey) -> bool:
    """Return whether a chat key is a private chat (a user's positive id)."""
    return isinstance(key, int) and key > 0


def is_bulk(rate_limit_args: Mapping[str, Any] | None) -> bool:
    """Return whether a request was marked bulk (a digest or broadcast) by its caller."""
    return bool(rate_limit_args and rate_limit_args.get("bulk"))


def retry_after_seconds(error: RetryAfter) -> float:
    """Return how long Telegram asked to wait, whether PTB gives an int or a timedelta."""
    with warnings.catch_warnings():
        # PTB 22 warns that the int form is deprecated unless PTB_TIMEDELTA is set.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return float(value)


class RoundTrips:
    """The shortest round trip seen, the part of every answer's delay that is not jitter."""

    __slots__ = ("_shortest",)

    def __init__(self) -> None:
        self._shortest: float | None = None

    @property
    def shortest(self) -> float:
        """The shortest round trip seen, or 0 before any (which assumes the worst)."""
        return 0.0 if self._shortest is None else self._shortest

    def observe(self, seconds: float) -> None:
        """Take in the round trip of one answered request."""
        if self._shortest is None or seconds < self._shortest:
            self._shortest = max(0.0, seconds)


class Send:
    """One limited request as the windows count it: when it started and when it was answered."""

    __slots__ = ("answered", "started")

    def __init__(self, started: float) -> None:
        self.started = started
        self.answered: float | None = None

    def latest_arrival(self, round_trips: RoundTrips) -> float:
        """Return the latest instant it can have reached Telegram (infinity while in flight).

        The way back from Telegram took at least the shortest round trip less the way there,
        so the arrival was no later than the answer less the shortest round trip (and the
        shortest only shrinks, so the bound only grows: it stays safe as it is refined).
        """
        if self.answered is None:
            return math.inf
        return max(self.started, self.answered - round_trips.shortest)


class SlidingWindow:
    """Allows at most `limit` requests to reach Telegram in any rolling `period` seconds.

    A request counts from its start (`add`) until its latest possible arrival plus `period`;
    one still in flight counts until it is answered. With `smooth`, starts are also spread on
    an even grid, `period / limit` apart, instead of going out in bursts of `limit`; a start
    that woke late does not shift the grid (the next may follow at once), so timer lateness
    costs no throughput.

    Pure bookkeeping over the instants it is given: tests drive it with plain numbers.
    """

    __slots__ = ("_next_slot", "_round_trips", "_sends", "limit", "period", "smooth")

    def __init__(
        self,
        limit: int,
        period: float,
        *,
        smooth: bool = False,
        round_trips: RoundTrips | None = None,
    ) -> None:
        if limit < 1 or period <= 0:
            raise ValueError("a window needs limit >= 1 and period > 0")
        self.limit = limit
        self.period = period
        self.smooth = smooth
        self._round_trips = round_trips or RoundTrips()
        self._sends: deque[Send] = deque()
        self._next_slot = -math.inf

    @property
    def spacing(self) -> float:
        """The even spacing of starts at the full rate."""
        return self.period / self.limit

    def next_allowed(self, now: float) -> float:
        """Return the earliest instant, `now` or later, at which one more start fits.

        Infinity means the window is full of requests in flight: wait for an answer.
        """
        self._forget_expired(now)
        allowed = now
        # One more fits once fewer than `limit` of the counted requests still count: at the
        # `limit`-th latest end. Ends already past make that end past too, so `now` wins.
        excess = len(self._sends) - self.limit
        if excess >= 0:
            allowed = max(now, self._smallest_end(excess + 1))
        if self.smooth:
            allowed = max(allowed, self._next_slot)
        return allowed

    def _smallest_end(self, rank: int) -> float:
        """Return the `rank`-th smallest end (latest arrival + period) of the counted sends.

        Called for every start at a high rate, so it does not sort the whole window: sends
        are kept in start order and none ends before its start + period, so the scan stops
        at the first send that starts too late to end before the `rank` smallest seen.
        """
        shortest = self._round_trips.shortest
        period = self.period
        smallest: list[float] = []  # the `rank` smallest ends so far, negated (a max-heap)
        for send in self._sends:
            if len(smallest) == rank and send.started + period >= -smallest[0]:
                break
            answered = send.answered
            # Send.latest_arrival, inlined: this loop is the limiter's hottest.
            end = math.inf if answered is None else max(send.started, answered - shortest) + period
            if len(smallest) < rank:
                heapq.heappush(smallest, -end)
            elif end < -smallest[0]:
                heapq.heapreplace(smallest, -end)
        return -smallest[0]

    def add(self, send: Send) -> None:
        """Count a request that starts now (at `send.started`, not before the last start)."""
        self._sends.append(send)
        # The grid moves on one slot; a start further behind the grid than the catch-up
        # allowance (late, or the first after a quiet spell) restarts it, leaving that much
        # catch-up: one slot, or LATE_START_GRACE of slots at rates where a slot is shorter
        # than the event loop's timer lateness (at 1000/s a slot is 1 ms, a wake-up ~1-2 ms).
        catch_up = max(self.spacing, LATE_START_GRACE)
        self._next_slot = max(self._next_slot, send.started - catch_up) + self.spacing

    def is_idle(self, now: float) -> bool:
        """Return whether nothing counted in the window can still hold up a start."""
        self._forget_expired(now)
        return not self._sends

    def _forget_expired(self, now: float) -> None:
        # By the answer (an upper bound of the arrival bound), so a send is dropped only
        # when no refinement of the shortest round trip could make it count again.
        sends = self._sends
        while sends and sends[0].answered is not None and sends[0].answered + self.period <= now:
            sends.popleft()
        if len(sends) > 4 * self.limit:  # an old send still in flight keeps later ones
            self._sends = deque(
                s for s in sends if s.answered is None or s.answered + self.period > now
            )


def overall_window(
    per_second: float, *, margin: float = SAFETY_MARGIN, round_trips: RoundTrips | None = None
) -> SlidingWindow:
    """Return the window for the whole bot: `per_second` requests a second, evenly spaced."""
    if per_second <= 0:
        raise ValueError("overall_per_second must be positive")
    limit = max(1, math.floor(per_second))
    return SlidingWindow(limit, limit / per_second + margin, smooth=True, round_trips=round_trips)


class _ChatState:
    """One chat's turn (so its messages go out one at a time, in order) and its window."""

    __slots__ = ("turn", "users", "window")

    def __init__(self, window: SlidingWindow) -> None:
        self.turn = asyncio.Lock()
        self.window = window
        self.users = 0  # requests holding or waiting for this state; never forget it then


class TelegramRateLimiter(BaseRateLimiter[dict[str, Any]]):
    """Throttle message requests to Telegram's flood limits, interactive ones first.

    Every request that sends or edits a message in a chat waits, in this order, for:
    its chat's turn (requests to one chat go out one at a time, in call order), its chat's
    window (one message per `private_interval` in a private chat, `group_per_minute` per
    `group_window` seconds in a group, supergroup or channel), and then a start in the overall
    window (`overall_per_second`), where interactive requests go before bulk ones. A chat that
    must wait does so before it queues for the overall window, so it never holds up others.

    A 429 pauses every limited request until its `retry_after` has passed (the latest of all
    pauses wins), then the request is retried, up to `max_retries` times, before the
    RetryAfter is raised to the caller. Other requests pass straight through.
    """

    __slots__ = (
        "_chats",
        "_group_per_minute",
        "_group_window",
        "_margin",
        "_max_retries",
        "_now",
        "_overall",
        "_pause_until",
        "_private_interval",
        "_round_trips",
        "_sweep_at",
        "_tickets",
        "_timer",
        "_waiting",
    )

    def __init__(
        self,
        *,
        overall_per_second: float = 30.0,
        group_per_minute: int = 20,
        private_interval: float = 1.0,
        max_retries: int = 3,
        group_window: float = 60.0,
        safety_margin: float = SAFETY_MARGIN,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        if group_per_minute < 1 or group_window <= 0 or private_interval <= 0:
            raise ValueError("group_per_minute >= 1, group_window > 0, private_interval > 0")
        if max_retries < 0 or safety_margin < 0:
            raise ValueError("max_retries and safety_margin must not be negative")
        self._round_trips = RoundTrips()
        self._overall = overall_window(
            overall_per_second, margin=safety_margin, round_trips=self._round_trips
        )
        self._group_per_minute = group_per_minute
        self._group_window = group_window
        self._private_interval = private_interval
        self._margin = safety_margin
        self._max_retries = max_retries
        # `now` must tick with the event loop's clock (time.monotonic): the waits sleep on it.
        self._now = now
        self._pause_until = -math.inf
        self._chats: dict[ChatKey, _ChatState] = {}
        self._sweep_at = SWEEP_MIN_CHATS
        # Requests waiting for an overall start: (priority, ticket, future of their Send).
        self._waiting: list[tuple[int, int, asyncio.Future[Send]]] = []
        self._tickets = itertools.count()
        self._timer: asyncio.TimerHandle | None = None

    async def initialize(self) -> None:
        """Do nothing: the limiter holds no resources until requests arrive."""

    async def shutdown(self) -> None:
        """Stop the pending timer and cancel requests still waiting for a start."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        waiting, self._waiting = self._waiting, []
        for _, _, future in waiting:
            future.cancel()

    @property
    def pause_until(self) -> float:
        """The clock reading before which no limited request starts (after a 429)."""
        return self._pause_until

    @property
    def tracked_chats(self) -> int:
        """How many chats the limiter currently keeps state for."""
        return len(self._chats)

    async def process_request(
        self,
        callback: ApiCallback,
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: dict[str, Any] | None,
    ) -> ApiResult:
        """Call `callback` once the limits allow it; retry after a 429 (see the class)."""
        if not is_message_request(endpoint, data):
            return await callback(*args, **kwargs)
        priority = _BULK if is_bulk(rate_limit_args) else _INTERACTIVE
        # One ticket for all tries: a retried request keeps its place before later ones.
        ticket = next(self._tickets)
        key = chat_key(data["chat_id"])
        chat = self._enter_chat(key)
        try:
            async with chat.turn:
                attempt = 0
                while True:
                    attempt += 1
                    await self._chat_window_open(chat)
                    send = await self._overall_start(priority, ticket)
                    chat.window.add(send)
                    try:
                        return await self._call(send, callback, args, kwargs)
                    except RetryAfter as error:
                        seconds = retry_after_seconds(error)
                        logger.warning(
                            "429 on %s: retry after %.1f s; pausing limited requests (try %d/%d)",
                            endpoint,
                            seconds,
                            attempt,
                            self._max_retries + 1,
                        )
                        self._pause(seconds)
                        if attempt > self._max_retries:
                            raise
        finally:
            self._leave_chat(chat)

    async def _call(
        self, send: Send, callback: ApiCallback, args: Any, kwargs: dict[str, Any]
    ) -> ApiResult:
        """Make the request and record when it was answered, however it ended."""
        answered_by_telegram = False
        try:
            result = await callback(*args, **kwargs)
            answered_by_telegram = True
            return result
        except RetryAfter:
            answered_by_telegram = True
            raise
        finally:
            send.answered = self._now()
            if answered_by_telegram:
                self._round_trips.observe(send.answered - send.started)
            self._grant_due()  # an answer can free a place in the overall window

    # ----------------------------------------------------------------- per chat

    def _enter_chat(self, key: ChatKey) -> _ChatState:
        chat = self._chats.get(key)
        if chat is None:
            if is_private_chat(key):
                limit, period = 1, self._private_interval
            else:
                limit, period = self._group_per_minute, self._group_window
            window = SlidingWindow(limit, period + self._margin, round_trips=self._round_trips)
            chat = self._chats[key] = _ChatState(window)
        chat.users += 1
        return chat

    def _leave_chat(self, chat: _ChatState) -> None:
        chat.users -= 1
        if len(self._chats) < self._sweep_at:
            return
        # Forget chats nobody waits on whose windows have emptied: that loses nothing, and
        # sweeping only when the table doubled keeps the cost constant per request.
        now = self._now()
        for idle in [k for k, c in self._chats.items() if not c.users and c.window.is_idle(now)]:
            del self._chats[idle]
        self._sweep_at = max(SWEEP_MIN_CHATS, 2 * len(self._chats))

    async def _chat_window_open(self, chat: _ChatState) -> None:
        while True:
            now = self._now()
            ready = chat.window.next_allowed(now)
            if ready <= now:
                return
            # The chat's turn is held, so none of its sends is in flight and `ready` is
            # finite; the cap only guards that invariant.
            await asyncio.sleep(min(ready - now, chat.window.period))

    # ----------------------------------------------------------------- overall

    async def _overall_start(self, priority: int, ticket: int) -> Send:
        """Wait for a start in the overall window; return the Send counted there."""
        future: asyncio.Future[Send] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (priority, ticket, future))
        self._grant_due()
        try:
            return await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                # Granted, then cancelled before it could run: it never goes out, so it must
                # not count as in flight for ever.
                future.result().answered = self._now()
            raise

    def _grant_due(self) -> None:
        """Grant starts to waiting requests, best first, while the window and pause allow.

        Runs when a request queues, when one is answered, when a pause begins and from a
        timer set for the next start, so nothing polls.
        """
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._waiting:
            future = self._waiting[0][2]
            if future.done():  # its caller was cancelled
                heapq.heappop(self._waiting)
                continue
            now = self._now()
            ready = max(self._pause_until, self._overall.next_allowed(now))
            if ready > now:
                if ready < math.inf:  # else an answer will call again
                    loop = asyncio.get_running_loop()
                    self._timer = loop.call_later(ready - now, self._grant_due)
                return
            heapq.heappop(self._waiting)
            send = Send(now)
            self._overall.add(send)
            future.set_result(send)

    def _pause(self, seconds: float) -> None:
        # One shared deadline: a pause only ever grows, so a request that finishes (or a
        # shorter 429) never ends another's pause early.
        self._pause_until = max(self._pause_until, self._now() + seconds + RETRY_MARGIN)
        self._grant_due()
