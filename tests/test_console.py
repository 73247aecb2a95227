"""Console mode: the real handlers answer typed lines, and buttons are numbered choices."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from aseanbot.app import build_application
from aseanbot.config import load_settings
from aseanbot.console import CONSOLE_TOKEN, ConsoleBotApi, ConsoleSession
from aseanbot.formatting.terminal import html_to_terminal, keyboard_choices, render_choices

DATA_DIR = Path(__file__).resolve().parents[1] / "data"


class Screen:
    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def take(self) -> str:
        text = "".join(self.parts)
        self.parts.clear()
        return text


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[tuple[ConsoleSession, Screen]]:
    settings = load_settings(
        {"ASEANBOT_DB_PATH": str(tmp_path / "console.db"), "ASEANBOT_DATA_DIR": str(DATA_DIR)}
    )
    screen = Screen()
    api = ConsoleBotApi(write=screen.write, color=False)
    application = build_application(
        settings, token=CONSOLE_TOKEN, request=api, rate_limited=False, with_updater=False
    )
    await application.initialize()
    await application.post_init(application)
    try:
        yield ConsoleSession(application, api), screen
    finally:
        await application.shutdown()
        await application.post_shutdown(application)


def test_html_becomes_plain_text_with_links_spelled_out() -> None:
    html = '<b>Bold</b> &amp; <a href="https://e.org/x">link</a> <code>/x</code>'
    assert html_to_terminal(html, color=False) == "Bold & link <https://e.org/x> /x"


def test_html_becomes_ansi_styles_in_colour() -> None:
    rendered = html_to_terminal("<b>B</b>", color=True)
    assert "\x1b[1m" in rendered
    assert rendered.endswith("\x1b[0m")


def test_buttons_are_numbered_across_rows() -> None:
    markup = {
        "inline_keyboard": [
            [{"text": "1", "callback_data": "o|a"}, {"text": "2", "callback_data": "o|b"}],
            [{"text": "Next ▶", "callback_data": "l|1|"}],
            [{"text": "Source", "url": "https://e.org"}],
        ]
    }
    choices = keyboard_choices(markup)
    assert [c.number for c in choices] == [1, 2, 3, 4]
    assert choices[2].callback_data == "l|1|"
    assert "[4] Source <https://e.org>" in render_choices(choices, color=False)


async def test_a_typed_command_is_answered_by_the_real_handlers(
    console: tuple[ConsoleSession, Screen],
) -> None:
    session, screen = console
    await session.handle_line("/latest 2")
    shown = screen.take()
    assert "Latest 2" in shown
    assert "[1] 1" in shown
    assert "[2] 2" in shown


async def test_picking_a_number_presses_that_button(console: tuple[ConsoleSession, Screen]) -> None:
    session, screen = console
    await session.handle_line("/events thailand 2025")
    listing = screen.take()
    assert "5th-adgmin-bangkok-2025" in listing
    await session.handle_line("2")  # the second item's button opens its card
    card = screen.take()
    assert "Sources" in card
    assert "Bangkok, Thailand" in card


async def test_words_are_searched_and_a_missing_button_is_explained(
    console: tuple[ConsoleSession, Screen],
) -> None:
    session, screen = console
    await session.handle_line("bangkok declaration")
    assert "results for “bangkok declaration”" in screen.take()
    await session.handle_line("42")
    assert "no button [42] here" in screen.take()
