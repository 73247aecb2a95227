"""Benchmark: command latency, from the update handed to the Application to its reply request.

The real Application (build_application: handlers, defaults, context types, the store opened
by post_init) runs in process over the console's Bot API request class, so no HTTP is timed;
the store holds N synthetic items. Each sample is the time from `process_update(update)` to
the moment the reply's sendMessage reaches the request class. The baseline is a bare PTB echo
handler on an Application built with the same builder options, measured in the same rounds,
interleaved with the commands so both see the same machine load.

Run alone: ``python -m benchmarks --only latency``.
"""

from __future__ import annotations

import itertools
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes
from telegram.request import RequestData

from aseanbot.app import build_application
from aseanbot.config import load_settings
from aseanbot.console import CONSOLE_TOKEN, ConsoleBotApi
from benchmarks import BenchmarkResult, Figure, load_average, percentile
from benchmarks.search import QUERIES
from benchmarks.synthetic import SyntheticStore, create_store

logger = logging.getLogger(__name__)

WARMUP_RUNS = 10
FIRST_USER = 500_000_001  # synthetic users: a new one per update, as in a busy bot


@dataclass
class TimedBotApi(ConsoleBotApi):
    """The console's in-process Bot API that notes when the first sendMessage arrives."""

    replied_at: float | None = None
    replies: int = 0
    last_text: str = ""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        if url.endswith("/sendMessage"):
            if self.replied_at is None:
                self.replied_at = time.perf_counter()
            self.replies += 1
            params = request_data.parameters if request_data else {}
            self.last_text = str(params.get("text", ""))
        return await super().do_request(
            url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
        )


@dataclass
class Target:
    """One command to time, the Application that answers it and its request class."""

    label: str
    application: Application  # type: ignore[type-arg]
    api: TimedBotApi
    text: Callable[[int], str]  # the command text of this target's n-th run
    samples: list[float] = field(default_factory=list)  # seconds
    calls: int = 0
    budget: float = 60.0  # seconds of measuring this target may use
    spent: float = 0.0
    errors: list[str] = field(default_factory=list)


def _discard(_: str) -> None:
    """Write nothing: the terminal drawing is not what is measured."""


def _update(application: Application, text: str, number: int) -> Update:  # type: ignore[type-arg]
    """Return a private-chat message update carrying `text`, from synthetic user `number`."""
    user = {"id": FIRST_USER + number, "is_bot": False, "first_name": "Synthetic"}
    command = text.split()[0]
    payload = {
        "update_id": number,
        "message": {
            "message_id": number,
            "date": int(time.time()),
            "chat": {"id": user["id"], "type": "private", "first_name": "Synthetic"},
            "from": user,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
        },
    }
    update = Update.de_json(payload, application.bot)
    assert update is not None
    return update


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reply with the message's text: the least a command handler can do."""
    message = update.effective_message
    if message is not None and message.text:
        await message.reply_text(message.text)


async def _time_one(target: Target, number: int, *, record: bool) -> None:
    """Time one update; `number` is its update id (and user), unique across targets."""
    # The target's own count picks the text, so every query and event id takes its turn.
    text = target.text(target.calls)
    target.calls += 1
    update = _update(target.application, text, number)
    target.api.replied_at = None
    replies_before = target.api.replies
    started = time.perf_counter()
    await target.application.process_update(update)
    finished = time.perf_counter()
    target.spent += finished - started
    if target.api.replied_at is None or target.api.replies == replies_before:
        target.errors.append(f"no reply to {text!r}")
        return
    if record:
        target.samples.append(target.api.replied_at - started)


async def measure_commands(
    synthetic: SyntheticStore,
    *,
    runs: int,
    budget: float,
    warmup: int = WARMUP_RUNS,
) -> list[Target]:
    """Time /latest, /search and /event on the synthetic store and the echo baseline.

    Every target gets up to `runs` samples and at most `budget` seconds; rounds interleave
    the targets. Returns the targets with their samples (seconds).
    """
    with tempfile.TemporaryDirectory(prefix="aseanbot-bench-") as folder:
        settings = load_settings(
            {
                "ASEANBOT_DB_PATH": str(synthetic.path),
                # No data folder: the store holds only synthetic items.
                "ASEANBOT_DATA_DIR": str(Path(folder) / "no-data"),
            }
        )
        bot_api = TimedBotApi(write=_discard)
        echo_api = TimedBotApi(write=_discard)
        bot = build_application(
            settings, token=CONSOLE_TOKEN, request=bot_api, rate_limited=False, with_updater=False
        )
        # The same builder options; only the handlers differ (and no store is opened).
        echo = build_application(
            settings, token=CONSOLE_TOKEN, request=echo_api, rate_limited=False, with_updater=False
        )
        echo.handlers.clear()
        echo.add_handler(CommandHandler("echo", _echo))
        errors: list[str] = []

        async def note_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
            errors.append(repr(context.error))

        bot.add_error_handler(note_error)
        echo.add_error_handler(note_error)
        event_ids = synthetic.event_ids or ("no-such-event",)
        targets = [
            Target("echo (baseline)", echo, echo_api, lambda n: f"/echo hello world {n}"),
            Target("/latest", bot, bot_api, lambda n: "/latest"),
            Target("/search", bot, bot_api, lambda n: f"/search {QUERIES[n % len(QUERIES)]}"),
            Target("/event", bot, bot_api, lambda n: f"/event {event_ids[n % len(event_ids)]}"),
        ]
        for target in targets:
            target.budget = budget
        await bot.initialize()
        await echo.initialize()
        assert bot.post_init is not None
        await bot.post_init(bot)
        try:
            numbers = itertools.count(1)
            for _ in range(warmup):
                for target in targets:
                    await _time_one(target, next(numbers), record=False)
            for target in targets:
                target.spent = 0.0
            for _ in range(runs):
                active = [t for t in targets if t.spent < t.budget]
                if not active:
                    break
                for target in active:
                    await _time_one(target, next(numbers), record=True)
        finally:
            await bot.shutdown()
            await echo.shutdown()
            assert bot.post_shutdown is not None
            await bot.post_shutdown(bot)
        for target in targets:
            target.errors.extend(errors)
        return targets


def latency_figures(targets: list[Target]) -> tuple[Figure, ...]:
    """Turn samples into p50/p99 figures in ms, each against the echo baseline's."""
    echo = targets[0]
    echo_p50 = percentile(echo.samples, 0.50) * 1000
    echo_p99 = percentile(echo.samples, 0.99) * 1000
    figures = [
        Figure("echo p50", echo_p50, "ms", "—", None),
        Figure("echo p99", echo_p99, "ms", "—", None),
    ]
    for target in targets[1:]:
        p50 = percentile(target.samples, 0.50) * 1000
        p99 = percentile(target.samples, 0.99) * 1000
        limit = 1.5 * echo_p99 + 5
        runs = len(target.samples)
        figures.append(Figure(f"{target.label} p50 ({runs} runs)", p50, "ms", "echo p50", echo_p50))
        figures.append(
            Figure(
                f"{target.label} p99 ({runs} runs)",
                p99,
                "ms",
                "echo p99",
                echo_p99,
                aim=f"≤ 1.5 × echo p99 + 5 ms = {limit:.2f} ms",
                met=p99 <= limit,
            )
        )
    return tuple(figures)


async def run(*, quick: bool) -> BenchmarkResult:
    """Run the latency benchmark: 100k items (quick: 2k), ≥ 300 runs (quick: 30)."""
    items, runs, budget = (2_000, 30, 15.0) if quick else (100_000, 300, 330.0)
    load_before = load_average()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="aseanbot-bench-") as folder:
        synthetic = await create_store(Path(folder) / "latency.db", items=items)
        targets = await measure_commands(synthetic, runs=runs, budget=budget)
    errors = [error for target in targets for error in target.errors]
    notes = [
        f"{items:,} synthetic items; in-process request (ConsoleBotApi), no rate limiter "
        "(as in the console); every update from a new synthetic user (record_user writes once)",
        f"up to {runs} timed runs per command after {WARMUP_RUNS} warm-up runs, "
        f"interleaved; at most {budget:.0f} s per command",
    ]
    if errors:
        notes.append(f"{len(errors)} errors, first: {errors[0]}")
    return BenchmarkResult(
        name="latency",
        title=f"Command latency, update in → reply request out ({items:,} items)",
        figures=latency_figures(targets),
        seconds=time.perf_counter() - started,
        load=(load_before, load_average()),
        notes=tuple(notes),
        details={
            "items": items,
            "runs": {t.label: len(t.samples) for t in targets},
            "errors": errors[:20],
            "samples_ms": {
                t.label: {
                    "min": min(t.samples, default=0) * 1000,
                    "p50": percentile(t.samples, 0.5) * 1000,
                    "p90": percentile(t.samples, 0.9) * 1000,
                    "p99": percentile(t.samples, 0.99) * 1000,
                    "max": max(t.samples, default=0) * 1000,
                }
                for t in targets
            },
        },
    )
