"""Benchmark: a digest pass to N subscribers, at Telegram's 30 msg/s cap and with it lifted.

Capped: benchmarks.digest_delivery's real DigestSender pass (claim, build, send, settle)
through TelegramRateLimiter against the fake Bot API enforcing 30 msg/s overall and 1/s per
chat with 429s; sustained rate as a ratio to the cap, lost and duplicated digests. Baseline:
the bare limiter broadcast of benchmarks.delivery_rate, in the same run.

Paid broadcast (cap lifted): the same pass through a TelegramRateLimiter whose overall window
is too wide to fill (per-chat windows, priorities and the 429 pause still apply), with the
HTTP client the bot uses (aseanbot.telegram_http), against a fake without limits. Baseline: a
bare concurrent ``bot.send_message`` loop sending the pass's own message (text, parse mode,
keyboard) to as many chats, on the same fake, with no limiter and as many sends in flight as
DigestSender. Pass and bare loop run PAID_PAIRS times, alternating, and the medians are
compared: single runs here vary by a third. The pass sends through `send_bulk`, which leaves
Telegram's answers unparsed, while `send_message` parses each into a Message; so the same run
also measures the bare loop through `send_bulk` (like for like). For context it measures the
pass at Telegram's 1000 msg/s paid cap, the bare loop through PTB's httpx client, and bare
aiohttp posts without PTB (the ceiling).

In the capped runs the fake shares this process's event loop (at 30 msg/s the CPU is idle);
in the paid runs it runs in a child process, as Telegram's servers are not on the bot's CPU,
and answers sendMessage lean (`LeanSendServer`): the full fake's HTML checks cost about 1 ms
of CPU a message, which on two cores would measure the fake, not the bot.

Run alone: ``python -m benchmarks --only broadcast``; the paid runs only:
``python -m benchmarks.broadcast paid [--subscribers N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import datetime as dt
import json
import shutil
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from aiohttp import web
from telegram.error import TelegramError
from telegram.ext import ExtBot
from telegram.request import BaseRequest, HTTPXRequest

from aseanbot.app import SEND_POOL_SIZE
from aseanbot.delivery.bulk_send import send_bulk
from aseanbot.delivery.digests import DEFAULT_CONCURRENCY, DigestSender
from aseanbot.delivery.limiter import TelegramRateLimiter
from aseanbot.store import Store
from aseanbot.telegram_http import AiohttpRequest
from benchmarks import ROOT, BenchmarkResult, Figure, format_result, load_average
from benchmarks.delivery_rate import BULK, CAP_PER_SECOND, run_broadcast
from benchmarks.digest_delivery import SYNTHETIC_FIRST_CHAT, prepare, run_digest_pass, store_catalog
from tests.fake_bot_api import FakeBotApi, _ApiError, _read_params, check_message

PAID_PER_SECOND = 1000  # Telegram's paid broadcast limit
# "Cap lifted": an overall window no sender here can fill, so the pass measures the bot. The
# per-chat windows, bulk priority and 429 pause still apply.
UNCAPPED_PER_SECOND = 100_000
HTTPX_BASELINE_MESSAGES = 3000  # PTB's httpx client is slow: a shorter run gives its rate
FAKE_TOKEN = "123456:TEST-token"
BARE_FIRST_CHAT = 810_000_001
# The bare limiter's rate is steady after a few seconds; more messages only take longer.
CAPPED_BASELINE_MESSAGES = 1800
QUICK_BASELINE_MESSAGES = 300  # ten seconds: enough to see the limiter hold the cap
CAPPED_AIM = 0.97
PAID_AIM = 1000.0
PAID_SHARE_OF_BARE = 0.8
PAID_PAIRS = 3
_JSON = {"Content-Type": "application/json"}


def _app_request() -> BaseRequest:
    """The HTTP client the bot's Application sends with (app.build_application)."""
    return AiohttpRequest(connection_pool_size=SEND_POOL_SIZE)


def _bot(
    base_url: str,
    limiter: TelegramRateLimiter | None,
    request: Callable[[], BaseRequest] = _app_request,
) -> ExtBot[Any]:
    return ExtBot(
        FAKE_TOKEN,
        base_url=f"{base_url}/bot",
        base_file_url=f"{base_url}/file/bot",
        request=request(),
        rate_limiter=limiter,
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class LeanSendServer:
    """The fake Bot API for the paid runs: sendMessage answered lean, the rest by FakeBotApi.

    The full fake parses each message's HTML (Telegram's rules), records it and answers, at
    about 1 ms of CPU a send: on two cores it would cap the run near 1000 msg/s by itself, and
    take the core the bot needs. Here each distinct (text, parse mode, keyboard) is checked
    and rendered once by the full fake's own functions; every send is then one decode, one
    counter and one encode, with the same answer Telegram gives (the Message, with entities).
    """

    def __init__(self, token: str) -> None:
        self.token = token
        self._fake = FakeBotApi(token)  # answers getMe and every other method
        self._rendered: dict[tuple[str, str, str], tuple[str, list[Any], Any]] = {}
        self._next_message_id: dict[int, int] = {}
        self._sent: list[tuple[int, Any]] = []  # (chat id, params) of each accepted send
        self._bot_user = self._fake._bot_user()

    def application(self) -> web.Application:
        """The aiohttp application: lean sendMessage first, the full fake for the rest."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post(f"/bot{self.token}/sendMessage", self._send_message)
        app.router.add_route("*", "/bot{token}/{method}", self._fake._handle)
        app.router.add_get("/_fake/sent", self._list_sent)
        return app

    async def _send_message(self, request: web.Request) -> web.Response:
        params = await _read_params(request)
        try:
            chat_id = self._fake._resolve_chat(params.get("chat_id"))
            plain, entities, markup = self._render(params)
        except _ApiError as error:
            answer = {"ok": False, "error_code": error.status, "description": error.description}
            return web.json_response(answer, status=error.status)
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": self._bot_user,
            "chat": {"id": chat_id, "type": "private", "first_name": "Ana"},
            "date": int(time.time()),
            "text": plain,
        }
        if entities:
            message["entities"] = entities
        if markup:
            message["reply_markup"] = markup
        self._sent.append((chat_id, params))
        return web.Response(
            body=json.dumps({"ok": True, "result": message}).encode(),
            content_type="application/json",
        )

    def _render(self, params: dict[str, Any]) -> tuple[str, list[Any], Any]:
        markup = params.get("reply_markup")
        key = (str(params.get("text")), str(params.get("parse_mode")), json.dumps(markup))
        rendered = self._rendered.get(key)
        if rendered is None:
            rendered = check_message(params)
            self._rendered[key] = rendered
        return rendered

    async def _list_sent(self, request: web.Request) -> web.Response:
        # What benchmarks read back: chat, text as sent, parse mode and keyboard.
        return web.json_response(
            [
                {
                    "chat_id": chat_id,
                    "html": params.get("text"),
                    "parse_mode": params.get("parse_mode"),
                    "reply_markup": params.get("reply_markup"),
                }
                for chat_id, params in self._sent
            ]
        )


async def _serve_lean(port: int, token: str) -> None:
    runner = web.AppRunner(LeanSendServer(token).application(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def fake_process(*, lean: bool = True) -> AsyncIterator[str]:
    """Run a fake Bot API without flood limits in a child process; yield its base URL.

    A process of its own, as Telegram's servers are: its work does not slow the sender's
    event loop, and on two cores each side gets one. `lean` (the paid runs) serves
    sendMessage through `LeanSendServer`; otherwise it is tests.fake_bot_api as is.
    """
    port = _free_port()
    command = ("benchmarks.broadcast", "serve-fake") if lean else ("tests.fake_bot_api",)
    with tempfile.TemporaryFile() as errors:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            *command,
            "--port",
            str(port),
            "--token",
            FAKE_TOKEN,
            cwd=ROOT,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=errors,
        )
        try:
            if not await _answers_on(port, process):
                errors.seek(0)
                tail = errors.read().decode(errors="replace")[-2000:]
                raise RuntimeError(f"the fake Bot API did not start:\n{tail}")
            yield f"http://127.0.0.1:{port}"
        finally:
            if process.returncode is None:
                process.terminate()
            await process.wait()


async def _answers_on(port: int, process: asyncio.subprocess.Process) -> bool:
    """Wait until the child answers on `port`; False if it exits first or takes 30 s."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.returncode is None:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        await writer.wait_closed()
        return True
    return False


async def _sent_per_chat(base_url: str) -> Counter[int]:
    """How many messages each chat got, as the fake recorded them."""
    async with httpx.AsyncClient(timeout=60) as client:
        response = await client.get(f"{base_url}/_fake/sent")
        response.raise_for_status()
    return Counter(int(message["chat_id"]) for message in response.json())


async def paid_template(folder: Path, subscribers: int) -> Path:
    """A store with `subscribers` due one-message digests, closed: each paid run copies it."""
    path = folder / "paid-template.db"
    store, _ = await prepare(path, subscribers)
    await store.close()  # the last connection's close checkpoints the WAL into the file
    return path


async def run_paid_pass(
    template: Path, subscribers: int, overall_per_second: float = UNCAPPED_PER_SECOND
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run one digest pass with the overall cap raised; return it and one sent message."""
    with tempfile.TemporaryDirectory(prefix="aseanbot-bench-") as folder:
        path = Path(folder) / "paid.db"
        shutil.copyfile(template, path)
        store = await Store.open(path)
        catalog = await store_catalog(store)
        sample: dict[str, Any] = {}
        try:
            async with fake_process() as base_url:
                limiter = TelegramRateLimiter(overall_per_second=overall_per_second)
                bot = _bot(base_url, limiter)
                sender = DigestSender(
                    bot, store, catalog=lambda: catalog, clock=lambda: dt.datetime.now(dt.UTC)
                )
                await bot.initialize()
                try:
                    started, cpu = time.monotonic(), time.process_time()
                    async with asyncio.timeout(60 + subscribers / 50):
                        report = await sender.run_pass()
                    seconds = time.monotonic() - started
                    cpu = time.process_time() - cpu
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
        "overall_per_second": overall_per_second,
        "delivered": delivered,
        "seconds": seconds,
        "rate": delivered / seconds,
        # This process's CPU (its threads too: aiosqlite's), not the fake's.
        "cpu_ms_per_message": 1000 * cpu / max(1, delivered),
        "lost": len(expected - set(per_chat)),
        "duplicated": sum(1 for count in per_chat.values() if count > 1),
        "profiles_built": report.profiles_built,
    }, sample


async def _one_sent(base_url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=60) as client:
        response = await client.get(f"{base_url}/_fake/sent")
    message: dict[str, Any] = response.json()[0]
    return message


async def run_bare_loop(
    messages: int,
    sample: dict[str, Any],
    request: Callable[[], BaseRequest] = _app_request,
    *,
    unparsed: bool = False,
) -> dict[str, Any]:
    """Send the sample message's text and keyboard to `messages` chats, without a limiter:
    with `bot.send_message`, or with `unparsed` through `send_bulk`, as the pass does."""
    semaphore = asyncio.Semaphore(DEFAULT_CONCURRENCY)
    markup = sample.get("reply_markup")
    failed = 0

    async with fake_process() as base_url:
        bot = _bot(base_url, None, request)

        async def send(chat_id: int) -> None:
            nonlocal failed
            async with semaphore:
                try:
                    if unparsed:
                        await send_bulk(bot, chat_id, str(sample["html"]), keyboard=markup)
                    else:
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
            started, cpu = time.monotonic(), time.process_time()
            async with asyncio.timeout(60 + messages / 50):
                await asyncio.gather(*(send(BARE_FIRST_CHAT + i) for i in range(messages)))
            seconds = time.monotonic() - started
            cpu = time.process_time() - cpu
        finally:
            await bot.shutdown()
        delivered = sum((await _sent_per_chat(base_url)).values())
    return _loop_figures(messages, delivered, seconds, cpu, failed)


def _loop_figures(
    messages: int, delivered: int, seconds: float, cpu: float, failed: int
) -> dict[str, Any]:
    """What a send loop reports: its rate, and this process's CPU per message sent."""
    return {
        "messages": messages,
        "delivered": delivered,
        "seconds": seconds,
        "rate": delivered / seconds,
        "cpu_ms_per_message": 1000 * cpu / max(1, delivered),
        "failed": failed,
    }


async def run_raw_loop(messages: int, sample: dict[str, Any]) -> dict[str, Any]:
    """The ceiling: the same sends as bare aiohttp JSON posts, no PTB (nothing parsed back)."""
    semaphore = asyncio.Semaphore(DEFAULT_CONCURRENCY)
    fields = {"text": sample["html"], "parse_mode": sample.get("parse_mode")}
    if sample.get("reply_markup"):
        fields["reply_markup"] = sample["reply_markup"]
    failed = 0
    async with fake_process() as base_url:
        url = f"{base_url}/bot{FAKE_TOKEN}/sendMessage"
        connector = aiohttp.TCPConnector(limit=DEFAULT_CONCURRENCY)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def send(chat_id: int) -> None:
                nonlocal failed
                body = json.dumps({"chat_id": chat_id, **fields}).encode()
                async with (
                    semaphore,
                    session.post(url, data=body, headers=_JSON) as response,
                ):
                    await response.read()
                    failed += response.status != 200

            started, cpu = time.monotonic(), time.process_time()
            async with asyncio.timeout(60 + messages / 50):
                await asyncio.gather(*(send(BARE_FIRST_CHAT + i) for i in range(messages)))
            seconds = time.monotonic() - started
            cpu = time.process_time() - cpu
        delivered = sum((await _sent_per_chat(base_url)).values())
    return _loop_figures(messages, delivered, seconds, cpu, failed)


def _zero(name: str, value: int, baseline: str, baseline_value: int | None) -> Figure:
    return Figure(name, value, "", baseline, baseline_value, aim="= 0", met=value == 0)


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median rate (of an odd number of runs)."""
    return sorted(runs, key=lambda run: float(run["rate"]))[len(runs) // 2]


async def run_paid(subscribers: int) -> tuple[tuple[Figure, ...], dict[str, Any], list[str]]:
    """The paid runs: the pass with the cap lifted and its bare loop, then the context.

    Pass and bare loop alternate PAID_PAIRS times; the figure compares their medians. Context,
    each on the same lean fake: the bare loop through `send_bulk` (like for like), the pass at
    Telegram's 1000 msg/s paid cap, the bare loop through PTB's own httpx client (what the bot
    used before), and the ceiling, bare aiohttp posts without PTB.
    """
    with tempfile.TemporaryDirectory(prefix="aseanbot-bench-") as folder:
        template = await paid_template(Path(folder), subscribers)
        passes, bares = [], []
        sample: dict[str, Any] = {}
        for _ in range(PAID_PAIRS):
            run, sample = await run_paid_pass(template, subscribers)
            passes.append(run)
            bares.append(await run_bare_loop(run["delivered"], sample))
        paid, bare = _median_run(passes), _median_run(bares)
        unparsed = await run_bare_loop(paid["delivered"], sample, unparsed=True)
        at_cap, _ = await run_paid_pass(template, subscribers, PAID_PER_SECOND)
    httpx_bare = await run_bare_loop(
        min(subscribers, HTTPX_BASELINE_MESSAGES),
        sample,
        lambda: HTTPXRequest(connection_pool_size=256),
    )
    raw = await run_raw_loop(paid["delivered"], sample)

    floor = max(PAID_AIM, PAID_SHARE_OF_BARE * bare["rate"])
    cap_ratio = at_cap["rate"] / PAID_PER_SECOND
    figures = (
        Figure(
            "paid pass (cap lifted): msg/s",
            paid["rate"],
            "msg/s",
            "bare send_message loop",
            bare["rate"],
            aim=f"≥ {PAID_AIM:g} and ≥ {PAID_SHARE_OF_BARE} × bare = {floor:.0f}",
            met=paid["rate"] >= floor,
        ),
        Figure(
            "paid pass (cap lifted): msg/s, like for like",
            paid["rate"],
            "msg/s",
            "bare loop through send_bulk",
            unparsed["rate"],
        ),
        _zero(
            f"paid passes: lost (all {PAID_PAIRS})",
            sum(run["lost"] for run in passes),
            "bare loops failed",
            sum(run["failed"] for run in bares),
        ),
        _zero(
            f"paid passes: duplicated (all {PAID_PAIRS})",
            sum(run["duplicated"] for run in passes),
            "—",
            None,
        ),
        Figure(
            f"paid pass at the {PAID_PER_SECOND} msg/s cap: rate / cap",
            cap_ratio,
            "",
            "cap lifted: rate / 1000",
            paid["rate"] / PAID_PER_SECOND,
            aim=f"≥ {CAPPED_AIM}",
            met=cap_ratio >= CAPPED_AIM,
        ),
        _zero("paid pass at the cap: lost", at_cap["lost"], "—", None),
        Figure(
            "bare loop, PTB's httpx client (before)",
            httpx_bare["rate"],
            "msg/s",
            "bare loop, aiohttp client (now)",
            bare["rate"],
        ),
        Figure(
            "ceiling: bare aiohttp posts, no PTB",
            raw["rate"],
            "msg/s",
            "bare send_message loop",
            bare["rate"],
        ),
    )
    pair_ratios = ", ".join(
        f"{run['rate'] / loop['rate']:.2f}" for run, loop in zip(passes, bares, strict=True)
    )
    notes = [
        f"paid (medians of {PAID_PAIRS} alternating pairs): {paid['delivered']} messages in "
        f"{paid['seconds']:.2f} s; bare loop {bare['delivered']} in {bare['seconds']:.2f} s "
        f"({DEFAULT_CONCURRENCY} in flight); pass / bare per pair: {pair_ratios}",
        "sender CPU per message: pass {:.2f} ms, bare loop {:.2f}, bare loop through send_bulk "
        "{:.2f}, httpx bare loop {:.2f}, raw aiohttp {:.2f}".format(
            paid["cpu_ms_per_message"],
            bare["cpu_ms_per_message"],
            unparsed["cpu_ms_per_message"],
            httpx_bare["cpu_ms_per_message"],
            raw["cpu_ms_per_message"],
        ),
        "paid: the fake is a child process answering sendMessage lean (LeanSendServer)",
    ]
    details = {
        "digest_pass": paid,
        "bare_loop": bare,
        "digest_passes": passes,
        "bare_loops": bares,
        "bare_loop_send_bulk": unparsed,
        "digest_pass_at_cap": at_cap,
        "bare_loop_httpx": httpx_bare,
        "raw_aiohttp": raw,
    }
    return figures, details, notes


async def run(*, quick: bool) -> BenchmarkResult:
    """Run both broadcasts: 10k subscribers (quick: 600)."""
    subscribers = 600 if quick else 10_000
    load_before = load_average()
    started = time.perf_counter()

    paid_figures, paid_details, paid_notes = await run_paid(subscribers)
    capped = await run_digest_pass(subscribers)
    baseline = await run_broadcast(
        "bare limiter broadcast",
        TelegramRateLimiter,
        messages=min(subscribers, QUICK_BASELINE_MESSAGES if quick else CAPPED_BASELINE_MESSAGES),
        bulk_args=BULK,
    )

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
        *paid_figures,
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
            *paid_notes,
            "capped: the fake shares the sender's event loop",
        ),
        details={
            "capped": {
                "digest_pass": dataclasses.asdict(capped),
                "bare_limiter": dataclasses.asdict(baseline),
            },
            "paid": paid_details,
        },
    )


async def _paid_only(subscribers: int) -> None:
    load_before = load_average()
    started = time.perf_counter()
    figures, details, notes = await run_paid(subscribers)
    result = BenchmarkResult(
        name="broadcast-paid",
        title=f"Paid digest broadcast to {subscribers:,} subscribers",
        figures=figures,
        seconds=time.perf_counter() - started,
        load=(load_before, load_average()),
        notes=tuple(notes),
        details=details,
    )
    print(format_result(result))


def main(argv: list[str] | None = None) -> None:
    """`paid [--subscribers N]`: the paid runs alone; `serve-fake`: the paid runs' fake."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    paid = commands.add_parser("paid", help="run the paid broadcast figures alone")
    paid.add_argument("--subscribers", type=int, default=10_000)
    serve = commands.add_parser("serve-fake", help="serve LeanSendServer (a child process)")
    serve.add_argument("--port", type=int, required=True)
    serve.add_argument("--token", default=FAKE_TOKEN)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        if args.command == "paid":
            asyncio.run(_paid_only(args.subscribers))
        else:
            asyncio.run(_serve_lean(args.port, args.token))


if __name__ == "__main__":
    main()
