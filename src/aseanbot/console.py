"""Console mode: the real Application and handlers, talking to an in-process Bot API.

`python bot.py console` needs no token and no network. What the bot sends is drawn in the
terminal; what the user types becomes a Telegram update; buttons are numbered choices.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.request import BaseRequest, RequestData

from aseanbot.config import Settings
from aseanbot.formatting.terminal import Choice, html_to_terminal, keyboard_choices, render_choices
from aseanbot.i18n import t_plain

CONSOLE_TOKEN = "1:console-mode-has-no-token"
BOT_USERNAME = "aseanbot"
USER = {"id": 1001, "is_bot": False, "first_name": "You", "language_code": "en"}
CHAT = {"id": 1001, "type": "private", "first_name": "You"}
QUIT_WORDS = {"quit", "exit", "/quit", "/exit", ":q"}


@dataclass
class ConsoleBotApi(BaseRequest):
    """Answers the Bot API methods the bot uses, in process, and shows messages on `write`."""

    write: Callable[[str], None]
    color: bool = False
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    choices: list[Choice] = field(default_factory=list)
    # True while the prompt waits for input: a message then is a scheduled digest, and the
    # prompt is shown again after it.
    waiting_for_input: bool = False
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

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
        api_method = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data else {}
        result = self._answer(api_method, dict(params))
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def _answer(self, api_method: str, params: dict[str, Any]) -> Any:
        if api_method == "getMe":
            return {
                "id": 1,
                "is_bot": True,
                "first_name": "aseanbot",
                "username": BOT_USERNAME,
                "supports_inline_queries": True,
            }
        if api_method in ("sendMessage", "editMessageText"):
            return self._show(params, edited=api_method == "editMessageText")
        if api_method == "answerCallbackQuery":
            if params.get("text"):
                self.write(f"  ({params['text']})\n")
            return True
        # setMyCommands, answerInlineQuery, sendChatAction …: nothing to show.
        return True

    def _show(self, params: dict[str, Any], *, edited: bool) -> dict[str, Any]:
        message_id = int(params["message_id"]) if edited else next(self._message_ids)
        markup = params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        self.choices = keyboard_choices(markup)
        text = html_to_terminal(str(params.get("text", "")), color=self.color)
        rule = "─" * 60
        self.write(f"\n{rule}\n{text}\n")
        if self.choices:
            self.write("\n" + render_choices(self.choices, color=self.color) + "\n")
        if self.waiting_for_input:
            self.write("\n" + t_plain("console.prompt"))
        message = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": CHAT,
            "from": {"id": 1, "is_bot": True, "first_name": "aseanbot", "username": BOT_USERNAME},
            "text": str(params.get("text", "")),
        }
        if markup:
            message["reply_markup"] = markup
        self.messages[message_id] = message
        return message


class ConsoleSession:
    """Turns what the user types into updates for the Application."""

    def __init__(self, application: Any, api: ConsoleBotApi) -> None:
        self.application = application
        self.api = api
        self._update_ids = itertools.count(1)
        self._last_message_id: int | None = None

    async def handle_line(self, line: str) -> None:
        """Handle one line of input: a button number, a command, or words to search."""
        line = line.strip()
        if not line:
            return
        if line.isascii() and line.isdigit() and len(line) <= 3:
            await self._pick(int(line))
            return
        await self._send_text(line)

    async def _pick(self, number: int) -> None:
        choice = next((c for c in self.api.choices if c.number == number), None)
        if choice is not None:
            await self._press(choice)
        elif self.api.choices:
            last = len(self.api.choices)
            self.api.write(f"  ({t_plain('console.no_button', number=number, last=last)})\n")
        else:
            self.api.write(f"  ({t_plain('console.no_buttons')})\n")

    async def _press(self, choice: Choice) -> None:
        if choice.url:
            self.api.write(f"  ({t_plain('console.opens_url', url=choice.url)})\n")
            return
        if choice.inline_query is not None:
            share = t_plain("console.share", bot=BOT_USERNAME, query=choice.inline_query)
            self.api.write(f"  ({share})\n")
            return
        message = self.api.messages.get(self._last_message_id or 0) or {
            "message_id": 0,
            "date": int(time.time()),
            "chat": CHAT,
            "text": "",
        }
        await self._process(
            {
                "callback_query": {
                    "id": str(next(self._update_ids)),
                    "from": USER,
                    "chat_instance": "console",
                    "data": choice.callback_data,
                    "message": message,
                }
            }
        )

    async def _send_text(self, text: str) -> None:
        message: dict[str, Any] = {
            "message_id": 10_000 + next(self._update_ids),
            "date": int(time.time()),
            "chat": CHAT,
            "from": USER,
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [
                {
                    "type": "bot_command",
                    "offset": 0,
                    "length": len(command.encode("utf-16-le")) // 2,
                }
            ]
        await self._process({"message": message})

    async def _process(self, payload: dict[str, Any]) -> None:
        before = set(self.api.messages)
        payload["update_id"] = next(self._update_ids)
        update = Update.de_json(payload, self.application.bot)
        await self.application.process_update(update)
        new = set(self.api.messages) - before
        if new:
            self._last_message_id = max(new)
        elif self._last_message_id is not None and "callback_query" in payload:
            self._last_message_id = payload["callback_query"]["message"]["message_id"] or None


def _use_color(stream: Any) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)()) and "NO_COLOR" not in os.environ


async def run_console(settings: Settings) -> int:
    """Run the interactive console until the user quits; returns the exit status."""
    from aseanbot.app import build_application

    def write(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    api = ConsoleBotApi(write=write, color=_use_color(sys.stdout))
    application = build_application(
        settings, token=CONSOLE_TOKEN, request=api, rate_limited=False, with_updater=False
    )
    await application.initialize()
    if application.post_init:
        await application.post_init(application)
    # Starts the JobQueue: a digest comes at its minute here too (no updater: no polling).
    await application.start()
    session = ConsoleSession(application, api)
    write(t_plain("console.intro") + "\n")
    await session.handle_line("/start")
    try:
        while True:
            api.waiting_for_input = True
            try:
                line = await asyncio.to_thread(input, "\n" + t_plain("console.prompt"))
            except EOFError:
                write("\n")
                break
            finally:
                api.waiting_for_input = False
            if line.strip().lower() in QUIT_WORDS:
                break
            await session.handle_line(line)
    finally:
        await application.stop()
        await application.shutdown()
        if application.post_shutdown:
            await application.post_shutdown(application)
    return 0
