"""Run every benchmark: ``python -m benchmarks`` or ``python benchmarks/run.py``.

Each benchmark prints a table (every figure with the baseline measured in the same run and
its aim) and all of them are written to benchmarks/results.json, with the machine they ran on
and its load. ``--quick`` uses small sizes for a smoke run (under a minute); ``--only NAME``
runs one benchmark (repeat it for several) and keeps the others' results from an earlier run
in the same mode in the JSON. Every benchmark is bounded in time. Data is
synthetic, made at run time in temporary folders; nothing is written into data/.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import os
import platform
import sqlite3
import subprocess
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    # Run as a script: import the package from the checkout, not the modules beside this file.
    sys.path[0] = str(Path(__file__).resolve().parents[1])

import telegram

from benchmarks import ROOT, BenchmarkResult, format_result, load_average

NAMES = ("latency", "search", "scheduler", "memory", "broadcast")
DEFAULT_OUTPUT = ROOT / "benchmarks" / "results.json"
# Wall-clock bound per benchmark, far above what each needs: a hang is reported, not waited on.
TIME_LIMIT = {"quick": 180.0, "full": 1800.0}

Runner = Callable[..., Awaitable[BenchmarkResult]]


def _runners() -> dict[str, Runner]:
    """The benchmarks in the order they run (imported here: each pulls in the whole bot)."""
    from benchmarks import broadcast, latency, memory, scheduler, search

    return {
        "latency": latency.run,
        "search": search.run,
        "scheduler": scheduler.run,
        "memory": memory.run,
        "broadcast": broadcast.run,
    }


def code_state() -> dict[str, Any]:
    """The commit measured and the files under src/ that differ from it (read-only git)."""

    def git(*arguments: str) -> str:
        try:
            done = subprocess.run(
                ["git", *arguments], cwd=ROOT, capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.SubprocessError):
            return ""
        # Not strip(): porcelain lines begin with a status column that may be a space.
        return done.stdout.rstrip("\n") if done.returncode == 0 else ""

    changed = git("status", "--porcelain", "--", "src")
    return {
        "commit": git("rev-parse", "--short", "HEAD").strip() or None,
        "src_changes": [line[3:] for line in changed.splitlines()],
    }


def machine() -> dict[str, Any]:
    """Describe the machine and software the numbers come from."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "python_telegram_bot": telegram.__version__,
        "platform": platform.platform(),
    }


async def _run_one(runner: Runner, *, quick: bool, limit: float) -> BenchmarkResult:
    async with asyncio.timeout(limit):
        return await runner(quick=quick)


def _earlier_results(output: Path, mode: str) -> dict[str, Any]:
    """The other benchmarks' results from an earlier run in the same mode, kept by --only."""
    try:
        earlier = json.loads(output.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(earlier, dict) or earlier.get("mode") != mode:
        return {}
    results: dict[str, Any] = earlier.get("benchmarks", {})
    return {name: result for name, result in results.items() if name in NAMES}


def _write(output: Path, report: dict[str, Any]) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(report, indent=2, ensure_ascii=False, default=str) + "\n")
    temporary.replace(output)


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks, print their tables, write the JSON; 1 if any failed."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument(
        "--only", action="append", choices=NAMES, metavar="NAME", help=f"one of {', '.join(NAMES)}"
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="the JSON to write")
    args = parser.parse_args(argv)
    # PTB 22: RetryAfter.retry_after as a timedelta, as the bot runs (cli.main).
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    # The limiter logs every 429 and the console every missing data folder; tables count them.
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s %(message)s")
    for name in ("telegram", "aseanbot", "httpx", "aiosqlite", "apscheduler"):
        logging.getLogger(name).setLevel(logging.CRITICAL)

    mode = "quick" if args.quick else "full"
    selected = [name for name in NAMES if not args.only or name in args.only]
    runners = _runners()
    report: dict[str, Any] = {
        "mode": mode,
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "code": code_state(),
        "load_1min_at_start": load_average(),
        "benchmarks": _earlier_results(args.output, mode) if args.only else {},
    }
    print(f"aseanbot benchmarks ({mode}): {', '.join(selected)}")
    code = report["code"]
    dirty = f" + uncommitted {', '.join(code['src_changes'])}" if code["src_changes"] else ""
    print(f"code: {code['commit']}{dirty}")
    print(
        f"machine: {report['machine']['nproc']} cores, {report['machine']['cpu_model']}, "
        f"Python {report['machine']['python']}, SQLite {report['machine']['sqlite']}; "
        f"load {report['load_1min_at_start']:.2f}\n"
    )
    failed = False
    started = time.perf_counter()
    for name in selected:
        try:
            result = asyncio.run(_run_one(runners[name], quick=args.quick, limit=TIME_LIMIT[mode]))
        except Exception as error:  # one broken benchmark must not hide the others' numbers
            failed = True
            print(f"== {name}: FAILED: {error!r}\n{traceback.format_exc()}")
            report["benchmarks"][name] = {"name": name, "error": repr(error)}
        else:
            print(format_result(result) + "\n")
            report["benchmarks"][name] = result.as_json()
        report["benchmarks"][name]["ran_at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        # Other engineers edit src/ meanwhile: note the code each benchmark ended on.
        report["benchmarks"][name]["code"] = code_state()
        report["seconds"] = round(time.perf_counter() - started, 1)
        report["load_1min_at_end"] = load_average()
        _write(args.output, report)
    missed = [
        f"{name}: {figure['name']}"
        for name, result in report["benchmarks"].items()
        for figure in result.get("figures", [])
        if figure["met"] is False
    ]
    print(f"{len(missed)} aims missed" + (":\n  " + "\n  ".join(missed) if missed else ""))
    print(f"written to {args.output} in {report['seconds']} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
