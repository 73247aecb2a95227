"""Tests of TelegramRateLimiter: its windows with plain numbers, then real sends to the fake."""

from __future__ import annotations

import asyncio
import bisect
import datetime as dtm
import itertools
import logging
import math
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telegram import BotCommand
from telegram.error import RetryAfter
from telegram.ext import ExtBot

from aseanbot.delivery.limiter import (
    LATE_START_GRACE,
    SWEEP_MIN_CHATS,
    RoundTrips,
    Send,
    SlidingWindow,
    TelegramRateLimiter,
    chat_key,
    is_bulk,
    is_message_request,
    is_private_chat,
    overall_window,
    retry_after_seconds,
)
from tests.fake_bot_api import ApiCall, FakeBotApi

# PTB itself warns while building RetryAfter unless PTB_TIMEDELTA is set.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")

BULK = {"bulk": True}
LIMITER_LOGGER = "aseanbot.delivery.limiter"
GROUP = -1001234567890


@asynccontextmanager
async def limited_bot(
    fake_api: FakeBotApi, limiter: TelegramRateLimiter
) -> AsyncIterator[ExtBot[dict[str, Any]]]:
    """An ExtBot on the fake whose every request goes through `limiter`."""
    bot: ExtBot[dict[str, Any]] = ExtBot(
        fake_api.token, base_url=fake_api.base_url, rate_limiter=limiter
    )
    async with bot:
        yield bot


@asynccontextmanager
async def logged_429() -> AsyncIterator[asyncio.Event]:
    """An event set when the limiter logs a 429 (it pauses in the same step)."""
    event = asyncio.Event()

    class Signal(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            event.set()

    handler = Signal(logging.WARNING)
    logger = logging.getLogger(LIMITER_LOGGER)
    logger.addHandler(handler)
    try:
        yield event
    finally:
        logger.removeHandler(handler)


def accepted(fake_api: FakeBotApi) -> list[ApiCall]:
    return [call for call in fake_api.calls("sendMessage") if call.status == 200]


def peak(arrivals: Sequence[float], period: float) -> int:
    """The most arrivals in any rolling window (t - period, t]."""
    ordered = sorted(arrivals)
    return max(
        (i + 1 - bisect.bisect_right(ordered, t - period) for i, t in enumerate(ordered)),
        default=0,
    )


def answered(window: SlidingWindow, started: float, answered_at: float) -> Send:
    send = Send(started)
    window.add(send)
    send.answered = answered_at
    return send


# --------------------------------------------------------------------------- pure pieces


def test_window_lets_limit_through_then_waits_for_the_oldest_to_leave() -> None:
    trips = RoundTrips()
    window = SlidingWindow(3, 1.0, round_trips=trips)
    for start in (0.0, 0.1, 0.2):
        assert window.next_allowed(start) == start
        answered(window, start, start + 0.01)
    trips.observe(0.01)
    # The first arrived at the latest at 0.01 - 0.01 = 0.0, so a fourth fits from 1.0.
    assert window.next_allowed(0.3) == pytest.approx(1.0)
    assert window.next_allowed(1.05) == 1.05


def test_a_send_slow_on_its_way_counts_until_its_latest_possible_arrival() -> None:
    """A start-to-answer time above the shortest round trip may all have been the way out."""
    trips = RoundTrips()
    window = SlidingWindow(1, 1.0, round_trips=trips)
    answered(window, 0.0, 0.050)
    trips.observe(0.050)
    assert window.next_allowed(0.1) == pytest.approx(1.0)
    trips.observe(0.002)  # later sends show the network is faster: the bound moves later
    assert window.next_allowed(0.1) == pytest.approx(1.048)


def test_without_a_round_trip_seen_the_answer_bounds_the_arrival() -> None:
    window = SlidingWindow(1, 1.0)
    answered(window, 0.0, 0.3)
    assert window.next_allowed(0.5) == pytest.approx(1.3)


def test_sends_in_flight_hold_the_window_until_answered() -> None:
    window = SlidingWindow(2, 1.0)
    first, second = Send(0.0), Send(0.0)
    window.add(first)
    window.add(second)
    assert window.next_allowed(5.0) == math.inf
    first.answered = 5.0
    assert window.next_allowed(5.0) == pytest.approx(6.0)
    second.answered = 5.5
    assert window.next_allowed(6.0) == 6.0


def test_smooth_window_spaces_starts_evenly_and_a_late_start_keeps_the_grid() -> None:
    window = SlidingWindow(10, 1.0, smooth=True)
    assert window.spacing == pytest.approx(0.1)
    window.add(Send(0.0))
    assert window.next_allowed(0.0) == 0.0  # one slot of catch-up after a quiet spell
    window.add(Send(0.0))
    assert window.next_allowed(0.0) == pytest.approx(0.1)
    window.add(Send(0.13))  # woke 30 ms late
    assert window.next_allowed(0.13) == pytest.approx(0.2)  # not 0.23: the grid stays


def test_window_is_idle_once_nothing_in_it_can_hold_up_a_start() -> None:
    window = SlidingWindow(2, 1.0)
    assert window.is_idle(0.0)
    send = Send(0.0)
    window.add(send)
    assert not window.is_idle(10.0)  # still in flight
    send.answered = 0.2
    assert not window.is_idle(1.1)
    assert window.is_idle(1.2)


@pytest.mark.parametrize(
    ("per_second", "limit", "period"),
    [(30.0, 30, 1.0), (25.5, 25, 25 / 25.5), (0.5, 1, 2.0)],
)
def test_overall_window_keeps_the_rate_evenly_spaced(
    per_second: float, limit: int, period: float
) -> None:
    window = overall_window(per_second, margin=0.01)
    assert (window.limit, window.smooth) == (limit, True)
    assert window.period == pytest.approx(period + 0.01)


@pytest.mark.parametrize(
    ("endpoint", "data", "limited"),
    [
        ("sendMessage", {"chat_id": 1, "text": "x"}, True),
        ("sendDocument", {"chat_id": -5, "document": "f"}, True),
        ("editMessageText", {"chat_id": 1, "message_id": 2, "text": "x"}, True),
        ("copyMessage", {"chat_id": 1, "from_chat_id": 2, "message_id": 3}, True),
        ("forwardMessage", {"chat_id": 1, "from_chat_id": 2, "message_id": 3}, True),
        ("editMessageText", {"inline_message_id": "abc", "text": "x"}, False),
        ("sendChatAction", {"chat_id": 1, "action": "typing"}, False),
        ("getUpdates", {"timeout": 10}, False),
        ("getMe", {}, False),
        ("answerCallbackQuery", {"callback_query_id": "1"}, False),
        ("answerInlineQuery", {"inline_query_id": "1", "results": []}, False),
        ("setMyCommands", {"commands": []}, False),
        ("getChatMember", {"chat_id": 1, "user_id": 2}, False),
    ],
)
def test_only_requests_that_send_or_edit_messages_in_a_chat_are_limited(
    endpoint: str, data: dict[str, Any], limited: bool
) -> None:
    assert is_message_request(endpoint, data) is limited


@pytest.mark.parametrize(
    ("chat_id", "key", "private"),
    [
        (42, 42, True),
        ("42", 42, True),
        (-4001, -4001, False),
        ("-1001234567890", -1001234567890, False),
        ("@ASEAN_News", "@asean_news", False),
    ],
)
def test_chat_keys_tell_private_chats_from_groups(
    chat_id: object, key: int | str, private: bool
) -> None:
    assert chat_key(chat_id) == key
    assert is_private_chat(chat_key(chat_id)) is private


@pytest.mark.parametrize(
    ("args", "bulk"), [(None, False), ({}, False), ({"bulk": False}, False), (BULK, True)]
)
def test_bulk_is_what_the_caller_marked(args: dict[str, Any] | None, bulk: bool) -> None:
    assert is_bulk(args) is bulk


@pytest.mark.parametrize(("retry_after", "seconds"), [(3, 3.0), (dtm.timedelta(seconds=1.5), 1.5)])
def test_retry_after_is_read_as_int_or_timedelta(
    retry_after: int | dtm.timedelta, seconds: float
) -> None:
    assert retry_after_seconds(RetryAfter(retry_after)) == pytest.approx(seconds)


# --------------------------------------------------------------------------- against the fake


async def test_overall_cap_holds_in_every_rolling_second(fake_api: FakeBotApi) -> None:
    fake_api.enforce_rate_limits(overall_per_second=20)
    limiter = TelegramRateLimiter(overall_per_second=20)
    async with limited_bot(fake_api, limiter) as bot:
        await asyncio.gather(
            *(bot.send_message(5000 + i, "news", rate_limit_args=BULK) for i in range(23))
        )
    arrivals = [call.at for call in accepted(fake_api)]
    assert len(arrivals) == 23
    assert fake_api.rejected_429 == 0
    assert peak(arrivals, 1.0) <= 20


async def test_a_private_chat_gets_one_message_per_interval_in_order(
    fake_api: FakeBotApi,
) -> None:
    limiter = TelegramRateLimiter(private_interval=0.15)
    async with limited_bot(fake_api, limiter) as bot:
        await asyncio.gather(*(bot.send_message(42, f"part {i}") for i in range(3)))
    calls = accepted(fake_api)
    assert [call.params["text"] for call in calls] == ["part 0", "part 1", "part 2"]
    gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(calls)]
    assert min(gaps) >= 0.15


async def test_a_group_gets_at_most_its_limit_per_window(fake_api: FakeBotApi) -> None:
    fake_api.enforce_rate_limits(group_per_minute=2, group_window=0.2)
    limiter = TelegramRateLimiter(group_per_minute=2, group_window=0.2)
    async with limited_bot(fake_api, limiter) as bot:
        await asyncio.gather(*(bot.send_message(GROUP, f"n{i}") for i in range(5)))
    calls = accepted(fake_api)
    assert [call.params["text"] for call in calls] == [f"n{i}" for i in range(5)]
    assert fake_api.rejected_429 == 0
    assert peak([call.at for call in calls], 0.2) <= 2
    assert calls[-1].at - calls[0].at >= 0.4  # 5 messages need two full windows of waiting


async def test_a_waiting_chat_does_not_hold_up_other_chats(fake_api: FakeBotApi) -> None:
    limiter = TelegramRateLimiter(private_interval=0.3)
    async with limited_bot(fake_api, limiter) as bot:
        await bot.send_message(42, "first")
        waiting = asyncio.create_task(bot.send_message(42, "second"))
        await asyncio.sleep(0.02)
        started = time.monotonic()
        await bot.send_message(43, "other chat")
        other_took = time.monotonic() - started
        await waiting
    assert other_took < 0.15
    assert [call.params["text"] for call in accepted(fake_api)] == [
        "first",
        "other chat",
        "second",
    ]


async def test_an_interactive_reply_overtakes_queued_bulk_sends(fake_api: FakeBotApi) -> None:
    limiter = TelegramRateLimiter(overall_per_second=10)
    async with limited_bot(fake_api, limiter) as bot:
        broadcast = [
            asyncio.create_task(bot.send_message(7000 + i, "digest", rate_limit_args=BULK))
            for i in range(8)
        ]
        await fake_api.wait_for_calls("sendMessage", 1)
        await bot.send_message(42, "reply to a command")
        order = [int(call.params["chat_id"]) for call in fake_api.calls("sendMessage")]
        for task in broadcast:
            task.cancel()
        await asyncio.gather(*broadcast, return_exceptions=True)
        # The cancelled bulk sends gave their places back: a new send is not held up.
        started = time.monotonic()
        await bot.send_message(43, "after")
        after_took = time.monotonic() - started
    assert order.index(42) <= 2  # FIFO would have put it ninth
    assert after_took < 0.3


async def test_requests_that_send_no_message_pass_straight_through(fake_api: FakeBotApi) -> None:
    limiter = TelegramRateLimiter(overall_per_second=1, private_interval=5)
    async with limited_bot(fake_api, limiter) as bot:
        await bot.send_message(42, "uses the only slot this second")
        started = time.monotonic()
        await bot.get_me()
        await bot.get_chat_member(GROUP, 42)
        await bot.set_my_commands([BotCommand("start", "Start")])
        await bot.send_chat_action(42, "typing")
        await bot.get_updates(timeout=0)
        took = time.monotonic() - started
    assert took < 0.5


async def test_a_429_pauses_every_limited_request_then_the_retry_succeeds(
    fake_api: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    fake_api.fail_next(
        "sendMessage",
        status=429,
        description="Too Many Requests: retry after 1",
        retry_after=1,
        chat_id=42,
    )
    limiter = TelegramRateLimiter(max_retries=2)
    caplog.set_level(logging.WARNING, logger=LIMITER_LOGGER)
    async with limited_bot(fake_api, limiter) as bot, logged_429() as flood_seen:
        first = asyncio.create_task(bot.send_message(42, "private words"))
        async with asyncio.timeout(2):
            await flood_seen.wait()  # the limiter has read the 429 and paused
        (flood,) = fake_api.calls("sendMessage")
        assert limiter.pause_until > time.monotonic() + 0.5
        others = [asyncio.create_task(bot.send_message(chat, "other")) for chat in (43, -4001)]
        message = await first
        await asyncio.gather(*others)
    later = fake_api.calls("sendMessage")[1:]
    assert flood.status == 429
    assert sorted(int(call.params["chat_id"]) for call in later) == [-4001, 42, 43]
    assert all(call.status == 200 for call in later)
    assert min(call.at for call in later) >= flood.at + 1.0
    assert message.chat.id == 42
    assert [m.chat_id for m in fake_api.sent if m.text == "private words"] == [42]
    (record,) = [r for r in caplog.records if r.name == LIMITER_LOGGER]
    assert record.levelno == logging.WARNING
    assert "sendMessage" in record.getMessage()
    assert "1.0 s" in record.getMessage()
    assert "private words" not in record.getMessage()
    assert fake_api.token not in record.getMessage()


async def test_retries_exhausted_against_the_server_raise_retry_after(
    fake_api: FakeBotApi,
) -> None:
    fake_api.fail_next(
        "sendMessage", status=429, description="Too Many Requests: retry after 1", retry_after=1
    )
    limiter = TelegramRateLimiter(max_retries=0)
    async with limited_bot(fake_api, limiter) as bot:
        with pytest.raises(RetryAfter):
            await bot.send_message(42, "x")
    assert [call.status for call in fake_api.calls("sendMessage")] == [429]
    assert fake_api.sent == []


# --------------------------------------------------------------------------- direct calls


class FakeTelegram:
    """Request callbacks for direct process_request calls: each records when it started,
    takes `seconds` on the wire, then answers 429 (`floods[chat]` times) or succeeds."""

    def __init__(self, floods: dict[str, tuple[int, dtm.timedelta]]) -> None:
        self.floods = floods
        self.starts: list[tuple[str, float]] = []
        self.flooded: list[tuple[str, float]] = []

    async def call(self, chat: str, seconds: float) -> bool:
        self.starts.append((chat, time.monotonic()))
        await asyncio.sleep(seconds)
        times, retry_after = self.floods.get(chat, (0, dtm.timedelta()))
        if times > 0:
            self.floods[chat] = (times - 1, retry_after)
            self.flooded.append((chat, time.monotonic()))
            raise RetryAfter(retry_after)
        return True

    def send(
        self, limiter: TelegramRateLimiter, chat: str, chat_id: int, *, seconds: float = 0.0
    ) -> asyncio.Task[Any]:
        data = {"chat_id": chat_id, "text": "x"}
        return asyncio.create_task(
            limiter.process_request(self.call, (chat, seconds), {}, "sendMessage", data, None)
        )


async def test_retries_up_to_max_retries_then_raise(caplog: pytest.LogCaptureFixture) -> None:
    # A tiny private interval: the chat's window counts the refused tries too.
    limiter = TelegramRateLimiter(max_retries=2, private_interval=0.01)
    telegram = FakeTelegram({"a": (99, dtm.timedelta(milliseconds=10))})
    with pytest.raises(RetryAfter):
        await telegram.send(limiter, "a", 1)
    assert [chat for chat, _ in telegram.starts] == ["a", "a", "a"]
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 3


async def test_a_shorter_pause_or_a_finished_request_never_ends_a_pause_early() -> None:
    """Unlike PTB's AIORateLimiter, the pause is one deadline: the latest of all 429s."""
    limiter = TelegramRateLimiter(overall_per_second=1000, private_interval=0.01)
    telegram = FakeTelegram(
        {"long": (1, dtm.timedelta(seconds=0.3)), "short": (1, dtm.timedelta(seconds=0.05))}
    )
    # All three are on the wire together: "long" is refused first, then "short" with a
    # shorter retry_after, then "ok" is answered, all during the long pause.
    first = [
        telegram.send(limiter, "long", 1, seconds=0.01),
        telegram.send(limiter, "short", 2, seconds=0.02),
        telegram.send(limiter, "ok", 3, seconds=0.04),
    ]
    await asyncio.sleep(0.06)
    late = telegram.send(limiter, "late", 4)
    await asyncio.gather(*first, late)
    assert [chat for chat, _ in telegram.flooded] == ["long", "short"]
    long_refused = telegram.flooded[0][1]
    after = [(chat, at) for chat, at in telegram.starts if at > long_refused]
    assert sorted(chat for chat, _ in after) == ["late", "long", "short"]
    assert min(at for _, at in after) >= long_refused + 0.3


async def test_idle_chats_are_forgotten() -> None:
    limiter = TelegramRateLimiter(overall_per_second=100_000, private_interval=0.001)

    async def ok() -> bool:
        return True

    for chat_id in range(1, 3 * SWEEP_MIN_CHATS):
        await limiter.process_request(ok, (), {}, "sendMessage", {"chat_id": chat_id}, None)
        if chat_id % 50 == 0:
            await asyncio.sleep(0.01)  # let earlier chats' windows empty
    assert limiter.tracked_chats < 2 * SWEEP_MIN_CHATS


# ------------------------------------------------------------------ the limiter at paid rates
# The window finds the next start without sorting its sends: the same answer as the plain
# definition, checked here against it.


def _next_allowed_by_definition(window: SlidingWindow, now: float) -> float:
    ends = sorted(
        end
        for end in (s.latest_arrival(window._round_trips) + window.period for s in window._sends)
        if end > now
    )
    allowed = ends[len(ends) - window.limit] if len(ends) >= window.limit else now
    return max(allowed, window._next_slot) if window.smooth else allowed


@settings(max_examples=300, deadline=None)
@given(
    limit=st.integers(1, 6),
    smooth=st.booleans(),
    shortest=st.none() | st.floats(0.0, 0.2),
    sends=st.lists(st.tuples(st.floats(0.0, 0.3), st.none() | st.floats(0.0, 0.6)), max_size=25),
    wait=st.floats(0.0, 1.5),
)
def test_the_window_allows_the_next_start_where_its_definition_does(
    limit: int,
    smooth: bool,
    shortest: float | None,
    sends: list[tuple[float, float | None]],
    wait: float,
) -> None:
    round_trips = RoundTrips()
    if shortest is not None:
        round_trips.observe(shortest)
    window = SlidingWindow(limit, 1.0, smooth=smooth, round_trips=round_trips)
    started = 0.0
    for gap, round_trip in sends:  # answers in any order; some still in flight
        started += gap
        send = Send(started)
        window.add(send)
        if round_trip is not None:
            send.answered = started + round_trip
    now = started + wait
    window.is_idle(now)  # forget what expired, as next_allowed does first
    assert window.next_allowed(now) == _next_allowed_by_definition(window, now)


def test_at_paid_rates_a_late_start_catches_up_within_the_grace() -> None:
    window = overall_window(1000, margin=0.0)  # a slot every millisecond
    for _ in range(11):  # the first start after a quiet spell, and 10 ms of catch-up
        assert window.next_allowed(0.0) == 0.0
        window.add(Send(0.0))
    assert window.next_allowed(0.0) == pytest.approx(0.001)
    starts = 0
    while window.next_allowed(0.006) == 0.006:  # the timer woke 5 ms late
        window.add(Send(0.006))
        starts += 1
    assert starts == 6  # the missed slots (1 to 6 ms) go at once, then the grid holds
    assert window.next_allowed(0.006) == pytest.approx(0.007)

    slow = overall_window(30, margin=0.0)  # slots longer than the grace: one slot, as before
    slow.add(Send(0.0))
    slow.add(Send(0.1))  # two slots late
    assert slow.next_allowed(0.1) == 0.1  # one slot of catch-up...
    slow.add(Send(0.1))
    assert slow.next_allowed(0.1) == pytest.approx(0.1 + 1 / 30)  # ...and no more
    assert slow.spacing > LATE_START_GRACE
