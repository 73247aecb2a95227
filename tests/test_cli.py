"""The command line as an operator uses it: real subprocesses, exit codes and output."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.harness import TOKEN
from tests.fake_bot_api import FakeBotApi

ROOT = Path(__file__).resolve().parents[1]
BOT = str(ROOT / "bot.py")
DATA_DIR = ROOT / "data"


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A clean environment: no developer .env or token leaks into the test."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "ASEANBOT_", "LOG_LEVEL"))
    }
    env.update(
        {
            "ASEANBOT_DB_PATH": str(tmp_path / "var" / "cli.db"),
            "ASEANBOT_DATA_DIR": str(DATA_DIR),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


async def run(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        cwd=tmp_path,
        env=env or environment(tmp_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def test_help_lists_every_command(tmp_path: Path) -> None:
    code, out, _ = await run(tmp_path, BOT, "--help")
    assert code == 0
    for command in ("run", "console", "import"):
        assert command in out


async def test_python_dash_m_is_the_same_entry_point(tmp_path: Path) -> None:
    env = environment(tmp_path, PYTHONPATH=str(ROOT / "src"))
    code, out, _ = await run(tmp_path, "-m", "aseanbot", "--help", env=env)
    assert code == 0
    assert "console" in out


async def test_run_without_a_token_fails_with_one_clear_line(tmp_path: Path) -> None:
    code, out, err = await run(tmp_path, BOT)
    assert code == 2
    assert "TELEGRAM_BOT_TOKEN is not set" in err
    assert "Traceback" not in err + out
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ASEANBOT_TIMEZONE", "Mars/Base"),
        ("ASEANBOT_ADMIN_IDS", "root"),
        ("LOG_LEVEL", "chatty"),
        ("TELEGRAM_BOT_TOKEN", "leaked-secret-value"),
    ],
)
async def test_an_invalid_setting_fails_naming_the_variable(
    tmp_path: Path, variable: str, value: str
) -> None:
    env = environment(tmp_path, **{variable: value})
    code, out, err = await run(tmp_path, BOT, "run", env=env)
    assert code == 2
    assert variable in err
    assert "Traceback" not in err + out
    if variable == "TELEGRAM_BOT_TOKEN":
        assert value not in err + out


async def test_import_reports_added_then_unchanged(tmp_path: Path) -> None:
    code, out, err = await run(tmp_path, BOT, "import", str(DATA_DIR))
    assert code == 0, err
    assert "added       49" in out
    code, out, _ = await run(tmp_path, BOT, "import", str(DATA_DIR))
    assert code == 0
    assert "added        0" in out
    assert "unchanged   49" in out


async def test_import_of_bad_data_names_the_problem_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "records:\n"
        "- id: good-one\n  kind: event\n  title: Fine\n  topics: [trade]\n"
        "  sources: [https://example.org/a]\n"
        "- id: bad-one\n  kind: event\n  title: Broken\n  date: '2025-02-30'\n"
        "  topics: [trade]\n  sources: [https://example.org/b]\n",
        encoding="utf-8",
    )
    assert (await run(tmp_path, BOT, "import", str(DATA_DIR)))[0] == 0
    code, out, err = await run(tmp_path, BOT, "import", str(bad))
    assert code == 2
    assert "bad.yaml" in err
    assert "bad-one" in err
    assert "date" in err
    assert "Traceback" not in err
    # Nothing of the file was written, not even its valid record.
    code, out, _ = await run(tmp_path, BOT, "import", str(DATA_DIR))
    assert "unchanged   49" in out


async def test_import_of_a_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    code, _, err = await run(tmp_path, BOT, "import", "nowhere.yaml")
    assert code == 2
    assert "nowhere.yaml does not exist" in err


@pytest.mark.parametrize("command", ["run", "send-digests"])
async def test_a_token_telegram_rejects_or_no_telegram_is_one_line_at_start(
    tmp_path: Path, command: str
) -> None:
    """A mistyped token, or no way to Telegram: the reason in one line, exit 1; no traceback,
    no unclosed HTTP session, no token."""
    api = FakeBotApi(token=TOKEN)
    await api.start()
    wrong = "123456:WRONG-token-that-the-fake-bot-api-refuses"
    try:
        for token, base_url, reason in (
            (wrong, api.base_url, "Telegram rejected the bot token: check TELEGRAM_BOT_TOKEN"),
            (TOKEN, f"http://127.0.0.1:{free_port()}/bot", "Cannot connect to host 127.0.0.1"),
        ):
            env = environment(tmp_path, TELEGRAM_BOT_TOKEN=token, TELEGRAM_API_BASE_URL=base_url)
            code, out, err = await run(tmp_path, BOT, command, env=env)
            assert code == 1, err
            assert reason in err
            assert "could not start" in err
            for unwanted in ("Traceback", "Unclosed", token, token.split(":")[1]):
                assert unwanted not in out + err
    finally:
        await api.stop()


@pytest.mark.parametrize("command", ["stats", "console", "send-digests"])
async def test_a_database_it_cannot_use_is_one_line_naming_it(tmp_path: Path, command: str) -> None:
    """A database from a newer aseanbot, or a file that is no database: exit 2, one line."""
    newer, garbage = tmp_path / "newer.db", tmp_path / "garbage.db"
    connection = sqlite3.connect(newer)
    connection.execute("PRAGMA user_version = 99")
    connection.close()
    garbage.write_bytes(b"not a database, just some bytes that look nothing like one " * 4)
    api = FakeBotApi(token=TOKEN)
    await api.start()
    try:
        for path, reason in ((newer, "schema version 99"), (garbage, "not a database")):
            env = environment(
                tmp_path,
                TELEGRAM_BOT_TOKEN=TOKEN,
                TELEGRAM_API_BASE_URL=api.base_url,
                ASEANBOT_DB_PATH=str(path),
            )
            code, out, err = await run(tmp_path, BOT, command, env=env)
            assert code == 2, err
            [line] = err.strip().splitlines()
            assert line.startswith("Database error: ")
            assert reason in line
            assert "Traceback" not in out
    finally:
        await api.stop()


async def test_the_bot_polls_a_loopback_api_answers_and_stops_on_sigterm(tmp_path: Path) -> None:
    api = FakeBotApi(token=TOKEN)
    await api.start()
    env = environment(
        tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=api.base_url, LOG_LEVEL="DEBUG"
    )
    log_path = tmp_path / "bot.log"
    # A file, not a pipe: nobody reads a pipe while the bot runs, and a full one blocks it.
    log_file = log_path.open("wb")
    process = await asyncio.create_subprocess_exec(
        sys.executable, BOT, cwd=tmp_path, env=env, stdout=log_file, stderr=log_file
    )
    try:
        await api.wait_for_calls("setMyCommands", timeout=30)
        api.mark()
        api.user_message("/latest 3")
        reply = (await api.wait_for_messages(1, timeout=15))[0]
        assert "Latest 3" in reply.text
        api.user_message("/search RCEP")
        found = (await api.wait_for_messages(2, timeout=15))[1]
        assert "RCEP" in found.text
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)
        log_file.close()
        await api.stop()
    assert process.returncode == 0
    log = log_path.read_text(encoding="utf-8")
    assert "aseanbot is ready as @aseanbot_test" in log
    assert "Traceback" not in log
    # The token travels in every request URL; it must not reach the log even at DEBUG.
    assert TOKEN not in log
    assert TOKEN.split(":")[1] not in log


# --- Running it: webhook settings, the health endpoint, stop signals --------------------------
# (Helpers for bot subprocesses; tests/test_webhook.py uses them too.)

WEBHOOK_URL = "https://bot.example.test/telegram/hook"
WEBHOOK_SECRET = "Wh-secret_0123456789abcdefghijklmnopqrstuvwxyz"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BotProcess:
    """`bot.py run …` in a subprocess against a fake Bot API; its log goes to a file."""

    def __init__(self, tmp_path: Path, api: FakeBotApi, *args: str, **settings: str) -> None:
        self.args = args
        self.env = environment(
            tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=api.base_url, **settings
        )
        self.cwd = tmp_path
        self.log_path = tmp_path / "bot.log"
        self.process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> BotProcess:
        # A file, not a pipe: nobody reads a pipe while the bot runs, and a full one blocks it.
        with self.log_path.open("wb") as log_file:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, BOT, "run", *self.args, cwd=self.cwd, env=self.env,
                stdout=log_file, stderr=log_file,
            )  # fmt: skip
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    @property
    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def signal(self, number: int = signal.SIGTERM) -> None:
        assert self.process is not None
        self.process.send_signal(number)

    async def exit_code(self, timeout: float = 30) -> int:  # noqa: ASYNC109
        assert self.process is not None
        return await asyncio.wait_for(self.process.wait(), timeout)

    async def wait_for_log(self, text: str, timeout: float = 15) -> None:  # noqa: ASYNC109
        deadline = asyncio.get_running_loop().time() + timeout
        while text not in self.log:
            assert asyncio.get_running_loop().time() < deadline, f"{text!r} not logged:\n{self.log}"
            await asyncio.sleep(0.05)


async def get_health(
    port: int,
    *,
    until: object = None,
    timeout: float = 15,  # noqa: ASYNC109
) -> tuple[int, dict]:  # type: ignore[type-arg]
    """GET /healthz on 127.0.0.1:`port` (retrying while it does not listen yet).

    With `until` (a predicate on the JSON body), keep asking until it holds.
    """
    import httpx

    assert until is None or callable(until)

    deadline = asyncio.get_running_loop().time() + timeout
    async with httpx.AsyncClient(timeout=5) as client:
        while True:
            try:
                answer = await client.get(f"http://127.0.0.1:{port}/healthz")
                body = answer.json()
                if until is None or until(body):
                    return answer.status_code, body
            except httpx.TransportError:
                body = None
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"/healthz never answered as expected; last: {body}")
            await asyncio.sleep(0.05)


async def wait_until(condition: Callable[[], bool], timeout: float = 15) -> None:  # noqa: ASYNC109
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "the condition never held"
        await asyncio.sleep(0.02)


async def prepare_due_digest(db_path: Path, chat_id: int) -> None:
    """Data imported an hour ago, and one chat whose daily digest fell due two minutes ago."""
    import datetime as dt
    from dataclasses import replace

    from aseanbot.importing import sync_data_dir
    from aseanbot.scheduling import Schedule
    from aseanbot.store import Store
    from aseanbot.subscribing import new_subscription

    now = dt.datetime.now(dt.UTC)
    store = await Store.open(db_path)
    try:
        await sync_data_dir(store, DATA_DIR, now=now - dt.timedelta(hours=1))
        due = (now - dt.timedelta(minutes=2)).replace(second=0, microsecond=0)
        subscription = new_subscription(
            chat_id=chat_id, chat_type="private", thread_id=None, topics=("online-safety",),
            timezone="UTC", now=now,
        )  # fmt: skip
        await store.subscriptions.save(
            replace(
                subscription,
                schedule=Schedule("daily", due.time().replace(tzinfo=None), "UTC"),
                next_due_at=due,
                watermark=now - dt.timedelta(days=1),
            )
        )
    finally:
        await store.close()


async def delivery_state(db_path: Path, chat_id: int) -> str:
    """The state of the chat's one digest: its ledger row's, or "owed" (due, no row yet)."""
    from aseanbot.store import Store

    store = await Store.open(db_path)
    try:
        deliveries = await store.subscriptions.deliveries_for(chat_id)
        subscription = await store.subscriptions.get(chat_id)
    finally:
        await store.close()
    if deliveries:
        [delivery] = deliveries
        return delivery.state
    assert subscription is not None
    assert subscription.next_due_at is not None
    assert subscription.next_due_at <= dt.datetime.now(dt.UTC)
    return "owed"


async def test_new_settings_fail_with_one_line_naming_the_variable(tmp_path: Path) -> None:
    """Each webhook and health setting is checked at start; the secret is never echoed."""
    bad_secret = "not a valid secret!"
    webhook = {"ASEANBOT_WEBHOOK_URL": WEBHOOK_URL, "ASEANBOT_WEBHOOK_SECRET": WEBHOOK_SECRET}
    cases: list[tuple[tuple[str, ...], dict[str, str], str]] = [
        (("--webhook",), {}, "ASEANBOT_WEBHOOK_URL is not set"),
        (
            ("--webhook",),
            {"ASEANBOT_WEBHOOK_URL": WEBHOOK_URL},
            "ASEANBOT_WEBHOOK_SECRET is not set",
        ),
        ((), {"ASEANBOT_WEBHOOK_URL": "http://bot.example.test/hook"}, "ASEANBOT_WEBHOOK_URL"),
        ((), {"ASEANBOT_WEBHOOK_URL": "https://bot.example.test/a?b=c"}, "ASEANBOT_WEBHOOK_URL"),
        ((), {"ASEANBOT_WEBHOOK_SECRET": bad_secret}, "ASEANBOT_WEBHOOK_SECRET"),
        ((), {"ASEANBOT_WEBHOOK_SECRET": "x" * 257}, "ASEANBOT_WEBHOOK_SECRET"),
        ((), {"ASEANBOT_WEBHOOK_LISTEN": "not a host"}, "ASEANBOT_WEBHOOK_LISTEN"),
        ((), {"ASEANBOT_WEBHOOK_PORT": "70000"}, "ASEANBOT_WEBHOOK_PORT"),
        ((), {"ASEANBOT_HEALTH_PORT": "http"}, "ASEANBOT_HEALTH_PORT"),
        ((), {"ASEANBOT_HEALTH_LISTEN": "a b"}, "ASEANBOT_HEALTH_LISTEN"),
        (
            ("--webhook",),
            {**webhook, "ASEANBOT_WEBHOOK_PORT": "8443", "ASEANBOT_HEALTH_PORT": "8443"},
            "ASEANBOT_HEALTH_PORT must differ from ASEANBOT_WEBHOOK_PORT",
        ),
    ]

    async def attempt(args: tuple[str, ...], settings: dict[str, str]) -> tuple[int, str, str]:
        env = environment(tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, **settings)
        return await run(tmp_path, BOT, "run", *args, env=env)

    results = await asyncio.gather(*(attempt(args, settings) for args, settings, _ in cases))
    for (args, settings, expected), (code, out, err) in zip(cases, results, strict=True):
        assert code == 2, (args, settings, err)
        assert expected in err, (expected, err)
        assert len(err.strip().splitlines()) == 1, err
        assert "Traceback" not in err + out
        for secret in (bad_secret, "x" * 257, WEBHOOK_SECRET):
            assert secret not in err + out


async def test_sigterm_lets_a_digest_in_flight_finish_and_healthz_reports_it(
    tmp_path: Path,
) -> None:
    """Polling with ASEANBOT_HEALTH_PORT: /healthz shows the digest queue; SIGTERM mid-send
    waits for the send, settles the ledger row and exits 0."""
    chat_id = 424242
    db_path = tmp_path / "var" / "cli.db"
    await prepare_due_digest(db_path, chat_id)
    api = FakeBotApi(token=TOKEN)
    await api.start()
    api.delay = 1.5  # every send takes this long: the signal comes while one is in flight
    health_port = free_port()
    try:
        async with BotProcess(tmp_path, api, ASEANBOT_HEALTH_PORT=str(health_port)) as bot:
            status, body = await get_health(
                health_port,
                until=lambda b: b["status"] == "ok" and b["counters"]["digest_queue_depth"] == 1,
            )
            assert status == 200
            assert (body["status"], body["store"], body["scheduler"]) == ("ok", True, True)
            assert body["last_telegram_ok_at"] is not None  # getMe, setMyCommands
            assert body["counters"]["digest_lag_seconds"] >= 60  # due two minutes ago
            assert not api.calls("sendMessage"), "the digest was sent before the signal"
            # Queued is not yet sent: the signal must come while the fake holds the send.
            await wait_until(lambda: api.sends_in_flight == 1)
            bot.signal(signal.SIGTERM)
            assert await bot.exit_code() == 0
            log = bot.log
    finally:
        await api.stop()
    assert [m.chat_id for m in api.sent] == [chat_id]
    assert await delivery_state(db_path, chat_id) == "sent"
    assert "SIGTERM: stopping" in log
    assert "Traceback" not in log


async def test_a_second_sigterm_while_stopping_exits_at_once(tmp_path: Path) -> None:
    """A slow shutdown (a digest send that takes 20 s) is cut short by a second SIGTERM: exit
    1 at once, and the digest stays pending in the ledger for the next start."""
    chat_id = 434343
    db_path = tmp_path / "var" / "cli.db"
    await prepare_due_digest(db_path, chat_id)
    api = FakeBotApi(token=TOKEN)
    await api.start()
    api.delay = 20.0
    try:
        async with BotProcess(tmp_path, api) as bot:
            # Both signals must come while the send is held: the bot's HTTP client gives up
            # on it after 5 s, and the shutdown is then quick.
            await wait_until(lambda: api.sends_in_flight == 1)
            bot.signal(signal.SIGTERM)
            await bot.wait_for_log("SIGTERM: stopping")
            started = asyncio.get_running_loop().time()
            bot.signal(signal.SIGTERM)
            assert await bot.exit_code(timeout=10) == 1
            assert asyncio.get_running_loop().time() - started < 5
            log = bot.log
    finally:
        await api.stop()
    assert log.count("SIGTERM while stopping: exiting now") == 1
    assert not api.sent
    assert await delivery_state(db_path, chat_id) == "owed"


async def test_a_second_signal_after_the_loop_closed_still_exits_with_1(tmp_path: Path) -> None:
    """PTB closes its loop at the end of a stop, which restores the default handlers; a second
    signal in the last moments of teardown must still mean "exit now" (1), not death by -15."""
    script = """
import asyncio, os, signal, sys, time
from aseanbot.cli import StopSignals
loop = asyncio.new_event_loop()
stop_signals = StopSignals(loop)
stop_signals.install()
loop.close()
stop_signals.outlive_loop()
try:
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)
except SystemExit:
    print("first: stopping", flush=True)
os.kill(os.getpid(), signal.SIGTERM)
time.sleep(5)
print("second signal ignored", flush=True)
"""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, cwd=ROOT,
        env=environment(tmp_path, PYTHONPATH=str(ROOT / "src")),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    output, errors = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 1, errors.decode()
    assert output.decode().splitlines() == ["first: stopping"]
    assert "SIGTERM while stopping: exiting now" in errors.decode()


async def test_a_health_port_already_taken_fails_with_one_line(tmp_path: Path) -> None:
    import socket

    api = FakeBotApi(token=TOKEN)
    await api.start()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        try:
            async with BotProcess(tmp_path, api, ASEANBOT_HEALTH_PORT=str(port)) as bot:
                assert await bot.exit_code() == 1
                log = bot.log
        finally:
            await api.stop()
    [error] = [line for line in log.splitlines() if " ERROR " in line]
    assert f"cannot serve /healthz on 127.0.0.1:{port}" in error
    assert "ASEANBOT_HEALTH_PORT" in error
    assert "Traceback" not in log
