"""Benchmark: peak memory of a running bot on a big store, and its cold start time.

Memory: a child process builds the real Application (in-process Bot API, as the console),
runs post_init (the store opens), answers a few commands and builds, as a digest pass does,
the digest of every due subscription (without sending), then reports its peak RSS (VmHWM;
ru_maxrss survives exec, so it is only in the details); a second child does the same under
tracemalloc (``-X tracemalloc``: from before any import) and reports the traced peak. Each
is measured on a store with 100k synthetic items and 100k subscriptions and, as the
baseline, on an empty one.

Cold start: wall time of ``python bot.py console`` with "/help" piped in, from process start
to its first output (ready: the store is open and the Application started) and to its exit,
against ``python -c "import telegram"``, alternating, median of several runs.

Run alone: ``python -m benchmarks --only memory``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import ROOT, BenchmarkResult, Figure, load_average
from benchmarks.synthetic import SyntheticStore, copy_store, create_store, with_subscriptions

AIM_MB = 120.0
CHILD_TIMEOUT = 600.0  # seconds; a child that takes longer has hung
RESULT_PREFIX = "MEMORY-RESULT "


# ------------------------------------------------------------------------------- the child


async def _exercise(db_path: Path, event_id: str) -> dict[str, Any]:
    """Run the bot on `db_path`: post_init, a few commands, every due digest built (not
    sent); return what it did."""
    from telegram import Update

    from aseanbot.app import build_application
    from aseanbot.config import load_settings
    from aseanbot.console import CONSOLE_TOKEN, ConsoleBotApi
    from aseanbot.delivery.digests import PassReport
    from aseanbot.services import SERVICES_KEY

    settings = load_settings(
        {"ASEANBOT_DB_PATH": str(db_path), "ASEANBOT_DATA_DIR": str(db_path.parent / "no-data")}
    )
    written: list[str] = []
    api = ConsoleBotApi(write=written.append)
    application = build_application(
        settings, token=CONSOLE_TOKEN, request=api, rate_limited=False, with_updater=False
    )
    await application.initialize()
    assert application.post_init is not None
    await application.post_init(application)
    report = PassReport()
    try:
        commands = ["/help", "/latest", "/search digital economy", f"/event {event_id}", "/topics"]
        for number, text in enumerate(commands, start=1):
            payload = {
                "update_id": number,
                "message": {
                    "message_id": number,
                    "date": int(time.time()),
                    "chat": {"id": 1001, "type": "private", "first_name": "Synthetic"},
                    "from": {"id": 1001, "is_bot": False, "first_name": "Synthetic"},
                    "text": text,
                    "entities": [
                        {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
                    ],
                },
            }
            await application.process_update(Update.de_json(payload, application.bot))
        sender = application.bot_data[SERVICES_KEY].digest_sender
        runs = await sender._due_runs(report)
        built = 0
        async for page in sender._prepared_pages(runs, report):
            built += len(page.digests)
    finally:
        await application.shutdown()
        assert application.post_shutdown is not None
        await application.post_shutdown(application)
    return {"replies": len(api.messages), "due": report.due, "built": built}


def _peak_rss_mb() -> float:
    """This process's peak resident set size (VmHWM), in MiB; NaN where /proc is missing."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def child_main(db_path: Path, event_id: str) -> None:
    """Measure this process (see the module docstring) and print one JSON result line.

    Run with ``-X tracemalloc`` for the traced peak: tracing then starts before any import.
    """
    import logging
    import resource
    import tracemalloc

    logging.basicConfig(level=logging.CRITICAL)
    began = time.perf_counter()
    done = asyncio.run(_exercise(db_path, event_id))
    result: dict[str, Any] = {
        **done,
        "seconds": time.perf_counter() - began,
        "peak_rss_mb": _peak_rss_mb(),
        # In KiB on Linux. It survives exec, so it can hold the forking parent's size too:
        # the figure is VmHWM, which starts afresh with this program.
        "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    if tracemalloc.is_tracing():
        result["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    print(RESULT_PREFIX + json.dumps(result), flush=True)


# ------------------------------------------------------------------------------ the parent


def _child_env(folder: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "ASEANBOT_")) and key != "LOG_LEVEL"
    }
    env["ASEANBOT_DATA_DIR"] = str(folder / "no-data")
    env["NO_COLOR"] = "1"
    return env


async def _run_child(synthetic: SyntheticStore, *, trace: bool, folder: Path) -> dict[str, Any]:
    event_id = synthetic.event_ids[0] if synthetic.event_ids else "no-such-event"
    tracing = ["-X", "tracemalloc=1"] if trace else []
    arguments = [*tracing, "-m", "benchmarks.memory", "--child", str(synthetic.path), event_id]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *arguments,
        cwd=ROOT,
        env=_child_env(folder),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), CHILD_TIMEOUT)
    for line in stdout.decode().splitlines():
        if line.startswith(RESULT_PREFIX):
            result: dict[str, Any] = json.loads(line.removeprefix(RESULT_PREFIX))
            return result
    raise RuntimeError(f"memory child failed ({process.returncode}): {stderr.decode()[-2000:]}")


async def measure_memory(
    loaded: SyntheticStore, empty: SyntheticStore, *, folder: Path
) -> dict[str, dict[str, Any]]:
    """Measure the loaded and the empty store, each without and with tracemalloc."""
    results: dict[str, dict[str, Any]] = {}
    for name, synthetic in (("loaded", loaded), ("empty", empty)):
        # Claiming moves the schedules on: each child gets its own copy of the store.
        plain = copy_store(synthetic, folder / f"{name}-rss.db")
        traced = copy_store(synthetic, folder / f"{name}-trace.db")
        rss = await _run_child(plain, trace=False, folder=folder)
        peak = await _run_child(traced, trace=True, folder=folder)
        results[name] = {**rss, "traced_peak_mb": peak["traced_peak_mb"]}
    return results


async def _time_process(arguments: list[str], *, cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    """Start a process with "/help" on stdin; time its first output and its exit."""
    began = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *arguments,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write(b"/help\n")
    await process.stdin.drain()
    process.stdin.close()
    first = await asyncio.wait_for(process.stdout.read(1), CHILD_TIMEOUT)
    ready = time.perf_counter() - began
    rest = await asyncio.wait_for(process.stdout.read(), CHILD_TIMEOUT)
    code = await process.wait()
    return {
        "ready_s": ready if first else None,
        "exit_s": time.perf_counter() - began,
        "code": code,
        "output": (first + rest).decode(errors="replace"),
    }


async def measure_cold_start(
    synthetic: SyntheticStore, *, runs: int, folder: Path
) -> dict[str, Any]:
    """Time `bot.py console` answering /help and `python -c "import telegram"`, alternating."""
    env = _child_env(folder)
    env["ASEANBOT_DB_PATH"] = str(synthetic.path)
    console = [sys.executable, str(ROOT / "bot.py"), "console"]
    bare = [sys.executable, "-c", "import telegram"]
    ready: list[float] = []
    exits: list[float] = []
    baseline: list[float] = []
    answered = 0
    # One unmeasured run of each: the OS file cache and __pycache__ are warm in production.
    await _time_process(console, cwd=folder, env=env)
    await _time_process(bare, cwd=folder, env=env)
    for _ in range(runs):
        timed = await _time_process(console, cwd=folder, env=env)
        if timed["ready_s"] is not None:
            ready.append(timed["ready_s"])
        exits.append(timed["exit_s"])
        answered += timed["code"] == 0 and "/latest" in timed["output"]
        baseline.append((await _time_process(bare, cwd=folder, env=env))["exit_s"])
    return {
        "ready_s": statistics.median(ready) if ready else float("nan"),
        "exit_s": statistics.median(exits),
        "import_telegram_s": statistics.median(baseline),
        "runs": runs,
        "answered_help": answered,
    }


async def run(*, quick: bool) -> BenchmarkResult:
    """Run the memory and cold-start benchmark: 100k items + 100k subs (quick: 2k + 2k)."""
    items, subscriptions, runs = (2_000, 2_000, 2) if quick else (100_000, 100_000, 5)
    load_before = load_average()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="aseanbot-bench-") as name:
        folder = Path(name)
        base = await create_store(folder / "items.db", items=items)
        loaded = with_subscriptions(base, folder / "loaded.db", count=subscriptions, profiles=1000)
        empty = await create_store(folder / "empty.db", items=0)
        memory = await measure_memory(loaded, empty, folder=folder)
        # Items, no subscriptions: the console's digest job must find nothing due.
        cold = await measure_cold_start(base, runs=runs, folder=folder)
    rss, rss_empty = memory["loaded"]["peak_rss_mb"], memory["empty"]["peak_rss_mb"]
    traced, traced_empty = memory["loaded"]["traced_peak_mb"], memory["empty"]["traced_peak_mb"]
    figures = (
        Figure(
            "peak RSS (VmHWM)",
            rss,
            "MB",
            "same on an empty store",
            rss_empty,
            aim=f"≤ {AIM_MB:g} MB",
            met=rss <= AIM_MB,
        ),
        Figure(
            "tracemalloc peak",
            traced,
            "MB",
            "same on an empty store",
            traced_empty,
            aim=f"≤ {AIM_MB:g} MB",
            met=traced <= AIM_MB,
        ),
        Figure(
            "cold start to ready (console)",
            cold["ready_s"] * 1000,
            "ms",
            'python -c "import telegram"',
            cold["import_telegram_s"] * 1000,
        ),
        Figure(
            "cold start to exit, /help answered",
            cold["exit_s"] * 1000,
            "ms",
            'python -c "import telegram"',
            cold["import_telegram_s"] * 1000,
        ),
    )
    notes = [
        f"{items:,} synthetic items and {subscriptions:,} due subscriptions; the child opens the "
        "store, answers /help /latest /search /event /topics and builds every due digest",
        f"cold start: median of {runs} runs after one warm-up; ready = first byte on stdout; "
        f"/help answered in {cold['answered_help']} of {runs}",
    ]
    built = memory["loaded"]["built"]
    if built != subscriptions:
        notes.append(f"the child built {built} of {subscriptions} due digests")
    return BenchmarkResult(
        name="memory",
        title=f"Peak memory and cold start ({items:,} items, {subscriptions:,} subscriptions)",
        figures=figures,
        seconds=time.perf_counter() - started,
        load=(load_before, load_average()),
        notes=tuple(notes),
        details={"memory": memory, "cold_start": cold},
    )


def main(argv: list[str] | None = None) -> None:
    """Entry point of the child process (``--child DB EVENT_ID``)."""
    parser = argparse.ArgumentParser(description="memory benchmark child process")
    parser.add_argument("--child", type=Path, required=True, metavar="DB")
    parser.add_argument("event_id")
    args = parser.parse_args(argv)
    child_main(args.child, args.event_id)


if __name__ == "__main__":
    main()
