"""Secrets never reach a log line, whether in the message, its arguments or a traceback."""

from __future__ import annotations

import logging

import pytest

from aseanbot.log_redaction import REDACTED, RedactSecrets

TOKEN = "123456:AAEhBOweik6ad9r_QXMENQjcrGbqCr4K-ab"


def record(msg: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc else None
    return logging.LogRecord("t", logging.INFO, __file__, 1, msg, args, exc_info)


@pytest.mark.parametrize(
    ("msg", "args"),
    [
        ("url http://127.0.0.1/bot%s/getMe", (TOKEN,)),
        (f"inline {TOKEN}", ()),
        ("half %s", (TOKEN.split(":")[1],)),
    ],
)
def test_the_token_is_replaced_wherever_it_appears(msg: str, args: tuple[object, ...]) -> None:
    entry = record(msg, *args)
    assert RedactSecrets([TOKEN]).filter(entry)
    assert TOKEN.split(":")[1] not in entry.getMessage()
    assert REDACTED in entry.getMessage()


def test_a_traceback_is_redacted_too() -> None:
    try:
        raise RuntimeError(f"failed calling /bot{TOKEN}/getMe")
    except RuntimeError as error:
        entry = record("boom", exc=error)
    RedactSecrets([TOKEN]).filter(entry)
    formatted = logging.Formatter().format(entry)
    assert TOKEN not in formatted
    assert "failed calling" in formatted


def test_lines_without_secrets_are_untouched() -> None:
    entry = record("plain %s", "text")
    RedactSecrets([TOKEN, None]).filter(entry)
    assert entry.getMessage() == "plain text"
    assert entry.args == ("text",)
