"""AiohttpRequest against the fake Bot API: sends, uploads, PTB's error classes, timeouts, and
no token in any error text."""

from __future__ import annotations

import datetime as dtm
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import ExtBot

from aseanbot.app import build_application
from aseanbot.config import load_settings
from aseanbot.telegram_http import AiohttpRequest, _client_timeout, _proxy_from_environment
from tests.fake_bot_api import FakeBotApi

CHAT = 4242
SECRET = "AAEhBOweik6ad9r_QXMENQjcrGbqCr4K"  # a token's secret half, shaped like a real one


@pytest.fixture
async def bot(fake_api: FakeBotApi) -> AsyncIterator[ExtBot[Any]]:
    async with ExtBot(
        fake_api.token,
        base_url=fake_api.base_url,
        base_file_url=fake_api.base_file_url,
        request=AiohttpRequest(),
    ) as ext_bot:
        yield ext_bot


async def test_a_message_with_a_keyboard_reaches_the_api_and_comes_back_parsed(
    fake_api: FakeBotApi, bot: ExtBot[Any]
) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("More", callback_data="more:1")]])
    text = (
        "<b>Digest</b> für Việt Nam 🇻🇳 &amp; <a href='https://example.org/a?b=1&amp;c=2'>link</a>"
    )

    message = await bot.send_message(CHAT, text, parse_mode="HTML", reply_markup=keyboard)

    [sent] = fake_api.sent
    assert (sent.chat_id, sent.html, sent.parse_mode) == (CHAT, text, "HTML")
    assert sent.reply_markup == keyboard.to_dict()
    assert message.message_id == sent.message_id
    assert message.text == "Digest für Việt Nam 🇻🇳 & link"
    assert [entity.type for entity in message.entities] == ["bold", "text_link"]
    assert message.reply_markup == keyboard


async def test_a_file_upload_goes_as_multipart(fake_api: FakeBotApi, bot: ExtBot[Any]) -> None:
    message = await bot.send_document(
        CHAT,
        b"id,title\n1,RCEP\n",
        filename="export.csv",
        caption="<i>export</i>",
        parse_mode="HTML",
    )

    assert message.document is not None
    assert (message.document.file_name, message.document.file_size) == ("export.csv", 16)
    assert message.caption == "export"
    [call] = fake_api.calls("sendDocument")
    assert call.params["document"]["content"] == b"id,title\n1,RCEP\n"


@pytest.mark.parametrize(
    ("status", "description", "extra", "error_class"),
    [
        (400, "Bad Request: chat not found", {}, BadRequest),
        (403, "Forbidden: bot was blocked by the user", {}, Forbidden),
        (401, "Unauthorized", {}, InvalidToken),
        (429, "Too Many Requests: retry after 7", {"retry_after": 7}, RetryAfter),
        (400, "Bad Request: group chat was upgraded", {"migrate_to_chat_id": -100}, ChatMigrated),
        (500, "Internal Server Error", {}, NetworkError),
        (502, "Bad Gateway", {}, NetworkError),
    ],
)
async def test_api_errors_raise_the_classes_ptb_raises(
    fake_api: FakeBotApi,
    bot: ExtBot[Any],
    status: int,
    description: str,
    extra: dict[str, int],
    error_class: type[Exception],
) -> None:
    fake_api.fail_next("sendMessage", status=status, description=description, **extra)

    with pytest.raises(error_class) as raised:
        await bot.send_message(CHAT, "hello")

    if isinstance(raised.value, RetryAfter):
        assert raised.value.retry_after in (7, dtm.timedelta(seconds=7))
    elif isinstance(raised.value, ChatMigrated):
        assert raised.value.new_chat_id == -100
    else:
        # PTB drops the "Bad Request: " kind and capitalises the rest.
        assert description.split(": ")[-1].lower() in str(raised.value).lower()
    assert fake_api.sent == []


async def test_a_slow_answer_times_out_as_timed_out(fake_api: FakeBotApi) -> None:
    fake_api.delay = 0.3
    async with ExtBot(fake_api.token, base_url=fake_api.base_url, request=AiohttpRequest()) as b:
        with pytest.raises(TimedOut):
            await b.send_message(CHAT, "slow", read_timeout=0.02)
    assert fake_api.sends_in_flight == 1  # it reached the API, whose answer was too late


def _unused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:{port}/bot",  # nobody listens: connection refused
        "ftp://127.0.0.1/bot",  # aiohttp refuses the URL with the URL (so the token) as text
    ],
)
async def test_a_transport_failure_is_a_network_error_without_the_token(base_url: str) -> None:
    token = f"123456:{SECRET}"
    request = AiohttpRequest(connect_timeout=1.0)
    with pytest.raises(NetworkError) as raised:  # from getMe, as the bot starts
        async with ExtBot(token, base_url=base_url.format(port=_unused_port()), request=request):
            pass

    assert not isinstance(raised.value, TimedOut)
    shown = [str(raised.value), repr(raised.value)]
    cause = raised.value.__cause__
    assert cause is not None or raised.value.__suppress_context__
    if cause is not None:
        shown += [str(cause), repr(cause)]
    assert all(SECRET not in text for text in shown), shown


async def test_requests_need_initialize_and_stop_after_shutdown() -> None:
    request = AiohttpRequest()
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request("http://127.0.0.1:1/botx/getMe", "POST")
    await request.initialize()
    await request.shutdown()
    await request.shutdown()  # twice is harmless
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request("http://127.0.0.1:1/botx/getMe", "POST")


@pytest.mark.parametrize(
    ("timeouts", "expected"),
    [
        # read, write, connect, pool -> total, connect (pool wait + connect), sock_connect, read
        ((5.0, 5.0, 5.0, 1.0), (16.0, 6.0, 5.0, 5.0)),
        ((35.0, 5.0, 5.0, 1.0), (46.0, 6.0, 5.0, 35.0)),  # a long poll's read timeout
        ((None, 5.0, 5.0, 1.0), (None, 6.0, 5.0, None)),
        ((5.0, 5.0, 5.0, None), (None, None, 5.0, 5.0)),
    ],
)
def test_ptb_timeouts_map_to_aiohttp_timeouts(
    timeouts: tuple[float | None, ...], expected: tuple[float | None, ...]
) -> None:
    mapped = _client_timeout(*timeouts)
    assert (mapped.total, mapped.connect, mapped.sock_connect, mapped.sock_read) == expected


def test_proxies_come_from_the_environment_and_socks_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    assert _proxy_from_environment("https", "api.telegram.org") is None

    monkeypatch.setenv("ALL_PROXY", "http://proxy.internal:3128")
    assert _proxy_from_environment("https", "api.telegram.org") == "http://proxy.internal:3128"
    monkeypatch.setenv("HTTPS_PROXY", "http://tls-proxy.internal:3128")
    assert _proxy_from_environment("https", "api.telegram.org") == "http://tls-proxy.internal:3128"
    monkeypatch.setenv("NO_PROXY", "api.telegram.org")
    assert _proxy_from_environment("https", "api.telegram.org") is None

    with pytest.raises(ValueError, match="socks5"):
        AiohttpRequest(proxy="socks5://127.0.0.1:1080")


async def test_the_application_sends_through_the_aiohttp_client(tmp_path: Path) -> None:
    fake_api = FakeBotApi(token=f"123456:{SECRET}")
    await fake_api.start()
    settings = load_settings(
        {
            "TELEGRAM_BOT_TOKEN": fake_api.token,
            "TELEGRAM_API_BASE_URL": fake_api.base_url,
            "ASEANBOT_DB_PATH": str(tmp_path / "bot.db"),
        }
    )
    application = build_application(settings, rate_limited=False, with_updater=False)

    assert isinstance(application.bot.request, AiohttpRequest)
    try:
        async with application.bot:
            await application.bot.send_message(CHAT, "hello")
    finally:
        await fake_api.stop()
    assert [(m.chat_id, m.text) for m in fake_api.sent] == [(CHAT, "hello")]
