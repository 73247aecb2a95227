"""The command line as an operator uses it: real subprocesses, exit codes and output."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
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
