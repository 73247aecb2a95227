"""Benchmark: how fast a broadcast reaches its users under Telegram's flood limits.

Run ``python -m benchmarks.delivery_rate [--messages N]`` from the repository root. It starts
the fake Bot API (tests.fake_bot_api) on 127.0.0.1 with Telegram's limits enforced (30 sends a
second overall, one a second per private chat, answered 429 past that), then sends one bulk
message to each of N private chats at once, as a broadcast does, first through aseanbot's
TelegramRateLimiter and then through PTB's AIORateLimiter as a baseline, each against a fresh
fake. Halfway through each run one interactive message is sent to another chat, and its
latency is reported. Every run is bounded in time; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import dataclasses
import logging
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, BaseRateLimiter, ExtBot
from telegram.request import HTTPXRequest

# Run from a plain checkout without installing the package, as bot.py does.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from aseanbot.delivery.limiter import TelegramRateLimiter
from tests.fake_bot_api import FakeBotApi

CAP_PER_SECOND = 30
DEFAULT_MESSAGES = 1200
FIRST_CHAT = 700_000_001  # the broadcast goes to FIRST_CHAT, FIRST_CHAT + 1, ...
INTERACTIVE_CHAT = 600_000_001
BULK = {"bulk": True}

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class RunResult:
    """What one limiter achieved on the broadcast workload."""

    limiter: str
    messages: int
    delivered: int  # broadcast messages the fake accepted
    seconds: float  # from the first send to the last delivery
    rate: float  # delivered per second
    ratio: float  # rate / CAP_PER_SECOND
    received_429: int
    lost: int  # sends that finally failed (or were still pending at the time bound)
    duplicated: int  # chats that received two or more broadcast messages
    peak_per_second: int  # most accepted sends arriving at the fake in any rolling second
    interactive_latency: float | None  # seconds; None when the interactive send failed


def peak_in_window(arrivals: Sequence[float], period: float = 1.0) -> int:
    """Return the most arrivals in any rolling window (t - period, t]."""
    ordered = sorted(arrivals)
    return max(
        (i + 1 - bisect.bisect_right(ordered, t - period) for i, t in enumerate(ordered)),
        default=0,
    )


async def capped_fake_and_bot(limiter: BaseRateLimiter[Any]) -> tuple[FakeBotApi, ExtBot[Any]]:
    """A started fake Bot API enforcing Telegram's limits, and a bot pointed at it."""
    fake = FakeBotApi()
    await fake.start()
    fake.enforce_rate_limits(overall_per_second=CAP_PER_SECOND, private_per_second=1)
    bot: ExtBot[Any] = ExtBot(
        fake.token,
        base_url=fake.base_url,
        base_file_url=fake.base_file_url,
        request=HTTPXRequest(connection_pool_size=256),
        rate_limiter=limiter,
    )
    return fake, bot


async def run_broadcast(
    name: str,
    make_limiter: Callable[[], BaseRateLimiter[Any]],
    *,
    messages: int,
    bulk_args: Any,
) -> RunResult:
    """Send one message to each of `messages` private chats through a limiter; measure it."""
    fake, bot = await capped_fake_and_bot(make_limiter())
    chats = range(FIRST_CHAT, FIRST_CHAT + messages)
    expected = messages / CAP_PER_SECOND

    async def send(chat_id: int) -> bool:
        try:
            await bot.send_message(chat_id, "Your weekly ASEAN digest", rate_limit_args=bulk_args)
        except TelegramError:
            return False
        return True

    async def interactive(started: float) -> float | None:
        await asyncio.sleep(max(0.0, started + expected / 2 - time.monotonic()))
        sent_at = time.monotonic()
        try:
            await bot.send_message(INTERACTIVE_CHAT, "Reply to a command")
        except TelegramError:
            return None
        return time.monotonic() - sent_at

    try:
        await bot.initialize()
        started = time.monotonic()
        reply = asyncio.create_task(interactive(started))
        tasks = [asyncio.create_task(send(chat_id)) for chat_id in chats]
        # Bounded: three times the ideal duration, plus the 429 pauses a baseline may take.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(3 * expected + 30):
                await asyncio.wait([*tasks, reply])
        finished = time.monotonic()
        for task in [*tasks, reply]:
            task.cancel()
        outcomes = [_result(task, default=False) for task in tasks]
        latency = _result(reply, default=None)
    finally:
        await bot.shutdown()
        await fake.stop()

    per_chat = Counter(m.chat_id for m in fake.sent if m.chat_id in chats)
    accepted = [c.at for c in fake.calls("sendMessage") if c.status == 200]
    seconds = finished - started
    delivered = sum(per_chat.values())
    return RunResult(
        limiter=name,
        messages=messages,
        delivered=delivered,
        seconds=seconds,
        rate=delivered / seconds,
        ratio=delivered / seconds / CAP_PER_SECOND,
        received_429=fake.rejected_429,
        lost=outcomes.count(False),
        duplicated=sum(1 for count in per_chat.values() if count > 1),
        peak_per_second=peak_in_window(accepted),
        interactive_latency=latency,
    )


def _result(task: asyncio.Task[_T], *, default: _T) -> _T:
    """Return a finished task's result, or `default` for one cut off by the time bound."""
    return task.result() if task.done() and not task.cancelled() else default


def format_table(results: Sequence[RunResult]) -> str:
    """Render the results as a plain-text table."""
    header = (
        f"{'limiter':<22}{'sent':>6}{'seconds':>9}{'msg/s':>8}{'ratio':>7}{'429s':>6}"
        f"{'lost':>6}{'dup':>5}{'peak/s':>8}{'interactive':>13}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        latency = "failed" if r.interactive_latency is None else f"{r.interactive_latency:.3f} s"
        lines.append(
            f"{r.limiter:<22}{r.delivered:>6}{r.seconds:>9.2f}{r.rate:>8.2f}{r.ratio:>7.3f}"
            f"{r.received_429:>6}{r.lost:>6}{r.duplicated:>5}{r.peak_per_second:>8}{latency:>13}"
        )
    return "\n".join(lines)


async def run_all(messages: int, *, baseline: bool) -> list[RunResult]:
    """Run the workload through aseanbot's limiter and, if asked, PTB's AIORateLimiter."""
    results = [
        await run_broadcast(
            "TelegramRateLimiter", TelegramRateLimiter, messages=messages, bulk_args=BULK
        )
    ]
    if baseline:
        results.append(
            await run_broadcast(
                "PTB AIORateLimiter",
                # Same retries as ours, so the baseline loses messages only to its own pauses.
                lambda: AIORateLimiter(max_retries=3),
                messages=messages,
                bulk_args=None,
            )
        )
    return results


def main(argv: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Run the benchmark, print a table and return the numbers per limiter."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=DEFAULT_MESSAGES)
    parser.add_argument("--no-baseline", action="store_true", help="skip PTB's AIORateLimiter")
    args = parser.parse_args(argv)
    if not 1 <= args.messages <= 100_000:
        parser.error("--messages must be between 1 and 100000")
    # The limiters log every 429; the table counts them instead.
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s %(message)s")
    logging.getLogger("telegram").setLevel(logging.CRITICAL)
    logging.getLogger("aseanbot").setLevel(logging.CRITICAL)
    results = asyncio.run(run_all(args.messages, baseline=not args.no_baseline))
    print(f"{args.messages} private chats, one bulk message each; cap {CAP_PER_SECOND} msg/s")
    print(format_table(results))
    return {r.limiter: dataclasses.asdict(r) for r in results}


if __name__ == "__main__":
    main(sys.argv[1:])
