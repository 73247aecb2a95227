"""Benchmark: a digest pass to N subscribers, at Telegram's 30 msg/s cap and with it lifted.

Capped: benchmarks.digest_delivery's real DigestSender pass (claim, build, send, settle)
through TelegramRateLimiter against the fake Bot API enforcing 30 msg/s overall and 1/s per
chat with 429s; sustained rate as a ratio to the cap, lost and duplicated digests. Baseline:
the bare limiter broadcast of benchmarks.delivery_rate, in the same run.

Paid broadcast (cap lifted): the same pass through a TelegramRateLimiter whose overall cap is
raised to 1000 msg/s (the limiter has no paid-broadcast switch), against a fake without
limits. Baseline: a bare concurrent ``bot.send_message`` loop sending the pass's own message
(text, parse mode, keyboard) to as many chats, on the same kind of fake, with no limiter and
as many sends in flight as DigestSender.

In the capped runs the fake shares this process's event loop (at 30 msg/s the CPU is idle);
in the paid runs it runs in a child process, as Telegram's servers are not on the bot's CPU.

Run alone: ``python -m benchmarks --only broadcast``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from telegram.error import TelegramError
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from aseanbot.delivery.digests import DEFAULT_CONCURRENCY, DigestSender
from aseanbot.delivery.limiter import TelegramRateLimiter
from benchmarks import ROOT, BenchmarkResult, Figure, load_average
from benchmarks.delivery_rate import BULK, CAP_PER_SECOND, run_broadcast
from benchmarks.digest_delivery import SYNTHETIC_FIRST_CHAT, prepare, run_digest_pass

PAID_PER_SECOND = 1000
FAKE_TOKEN = "123456:TEST-token"
BARE_FIRST_CHAT = 810_000_001
# The bare limiter's rate is steady after a few seconds; more messages only take longer.
CAPPED_BASELINE_MESSAGES = 1800
QUICK_BASELINE_MESSAGES = 300  # ten seconds: enough to see the limiter hold the cap
CAPPED_AIM = 0.97
PAID_AIM = 1000.0
PAID_SHARE_OF_BARE = 0.8


def _bot(base_url: str, limiter: TelegramRateLimiter | None) -> ExtBot[Any]:
    return ExtBot(
        FAKE_TOKEN,
        base_url=f"{base_url}/bot",
        base_file_url=f"{base_url}/file/bot",
        request=HTTPXRequest(connection_pool_size=256),
        rate_limiter=limiter,
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def fake_process() -> AsyncIterator[str]:
    """Run the fake Bot API (no flood limits) in a child process; yield its base URL.

    A process of its own, as Telegram's servers are: its work does not slow the sender's
    event loop, and on two cores each side gets one.
    """
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fake_bot_api",
        "--port",
        str(port),
        "--token",
        FAKE_TOKEN,
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with asyncio.timeout(30):
            while True:
                try:
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                except OSError:
                    await asyncio.sleep(0.05)
                    continue
                writer.close()
                await writer.wait_closed()
                break
        yield f"http://127.0.0.1:{port}"
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()


async def _sent_per_chat(base_url: str) -> Counter[int]:
    """How many messages each chat got, as the fake recorded them."""
    async with httpx.AsyncClient(timeout=60) as client:
        response = await client.get(f"{base_url}/_fake/sent")
        response.raise_for_status()
    return Counter(int(message["chat_id"]) for message in response.json())


async def run_paid_pass(subscribers: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run one digest pass with the overall cap raised; return it and one sent message."""
    with tempfile.TemporaryDirectory(prefix="aseanbot-bench-") as folder:
        store, catalog = await prepare(Path(folder) / "paid.db", subscribers)
        sample: dict[str, Any] = {}
        try:
            async with fake_process() as base_url:
                bot = _bot(base_url, TelegramRateLimiter(overall_per_second=PAID_PER_SECOND))
                sender = DigestSender(
                    bot, store, catalog=lambda: catalog, clock=lambda: dt.datetime.now(dt.UTC)
                )
                await bot.initialize()
                try:
                    started = time.monotonic()
                    async with asyncio.timeout(60 + subscribers / 50):
                        report = await sender.run_pass()
                    seconds = time.monotonic() - started
                finally:
                    await bot.shutdown()
                per_chat = await _sent_per_chat(base_url)
                sample = await _one_sent(base_url)
        finally:
            await store.close()
    expected = set(range(SYNTHETIC_FIRST_CHAT, SYNTHETIC_FIRST_CHAT + subscribers))
    delivered = sum(per_chat.values())
    return {
        "subscribers": subscribers,
        "delivered": delivered,
        "seconds": seconds,
        "rate": delivered / seconds,
        "lost": len(expected - set(per_chat)),
        "duplicated": sum(1 for count in per_chat.values() if count > 1),
        "profiles_built": report.profiles_built,
    }, sample


async def _one_sent(base_url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=60) as client:
        response = await client.get(f"{base_url}/_fake/sent")
    message: dict[str, Any] = response.json()[0]
    return message


async def run_bare_loop(messages: int, sample: dict[str, Any]) -> dict[str, Any]:
    """Send the sample message's text and keyboard to `messages` chats, without a limiter."""
    semaphore = asyncio.Semaphore(DEFAULT_CONCURRENCY)
    markup = sample.get("reply_markup")
    failed = 0

    async with fake_process() as base_url:
        bot = _bot(base_url, None)

        async def send(chat_id: int) -> None:
            nonlocal failed
            async with semaphore:
                try:
                    await bot.send_message(
                        chat_id,
                        str(sample["html"]),  # the text as the pass sent it
                        parse_mode=sample.get("parse_mode"),
                        api_kwargs={"reply_markup": markup} if markup else None,
                    )
                except TelegramError:
                    failed += 1

        await bot.initialize()
        try:
            started = time.monotonic()
            async with asyncio.timeout(60 + messages / 50):
                await asyncio.gather(*(send(BARE_FIRST_CHAT + i) for i in range(messages)))
            seconds = time.monotonic() - started
        finally:
            await bot.shutdown()
        delivered = sum((await _sent_per_chat(base_url)).values())
    return {
        "messages": messages,
        "delivered": delivered,
        "seconds": seconds,
        "rate": delivered / seconds,
        "failed": failed,
    }


def _zero(name: str, value: int, baseline: str, baseline_value: int | None) -> Figure:
    return Figure(name, value, "", baseline, baseline_value, aim="= 0", met=value == 0)


async def run(*, quick: bool) -> BenchmarkResult:
    """Run both broadcasts: 10k subscribers (quick: 600)."""
    subscribers = 600 if quick else 10_000
    load_before = load_average()
    started = time.perf_counter()

    paid, request = await run_paid_pass(subscribers)
    bare = await run_bare_loop(paid["delivered"], request)
    capped = await run_digest_pass(subscribers)
    baseline = await run_broadcast(
        "bare limiter broadcast",
        TelegramRateLimiter,
        messages=min(subscribers, QUICK_BASELINE_MESSAGES if quick else CAPPED_BASELINE_MESSAGES),
        bulk_args=BULK,
    )

    paid_floor = max(PAID_AIM, PAID_SHARE_OF_BARE * bare["rate"])
    figures = (
        Figure(
            f"capped pass: rate / {CAP_PER_SECOND} msg/s cap",
            capped.ratio,
            "",
            "bare limiter broadcast",
            baseline.ratio,
            aim=f"≥ {CAPPED_AIM}",
            met=capped.ratio >= CAPPED_AIM,
        ),
        _zero("capped pass: lost", capped.lost, "bare limiter", baseline.lost),
        _zero("capped pass: duplicated", capped.duplicated, "bare limiter", baseline.duplicated),
        Figure(
            "capped pass: 429s received",
            capped.received_429,
            "",
            "bare limiter",
            baseline.received_429,
        ),
        Figure(
            f"paid pass (cap {PAID_PER_SECOND}/s): msg/s",
            paid["rate"],
            "msg/s",
            "bare send_message loop",
            bare["rate"],
            aim=f"≥ {PAID_AIM:g} and ≥ {PAID_SHARE_OF_BARE} × bare = {paid_floor:.0f}",
            met=paid["rate"] >= paid_floor,
        ),
        _zero("paid pass: lost", paid["lost"], "bare loop failed", bare["failed"]),
        _zero("paid pass: duplicated", paid["duplicated"], "—", None),
    )
    return BenchmarkResult(
        name="broadcast",
        title=f"Digest broadcast to {subscribers:,} subscribers (DigestSender, fake Bot API)",
        figures=figures,
        seconds=time.perf_counter() - started,
        load=(load_before, load_average()),
        notes=(
            f"capped: {capped.delivered} messages in {capped.seconds:.1f} s, peak "
            f"{capped.peak_per_second}/s; bare limiter baseline on {baseline.messages} messages",
            f"paid: {paid['delivered']} messages in {paid['seconds']:.2f} s; bare loop "
            f"{bare['delivered']} in {bare['seconds']:.2f} s ({DEFAULT_CONCURRENCY} in flight)",
            "capped: the fake shares the sender's event loop; paid: the fake is a child process",
        ),
        details={
            "capped": {
                "digest_pass": dataclasses.asdict(capped),
                "bare_limiter": dataclasses.asdict(baseline),
            },
            "paid": {"digest_pass": paid, "bare_loop": bare},
        },
    )
