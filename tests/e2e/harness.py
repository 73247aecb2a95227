"""Drive the real Application against the fake Bot API: say something, get the bot's replies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from telegram.ext import Application

from aseanbot.models import Subscription
from aseanbot.services import SERVICES_KEY
from aseanbot.subscribing import new_subscription
from tests.fake_bot_api import ApiCall, FakeBotApi, SentMessage

TOKEN = "123456:TEST-token-for-the-fake-bot-api"
SENTINEL = "/zz_end_of_exchange"


class FixedClock:
    """A clock a test sets by hand: `clock.now = …`; services call it for the time."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@asynccontextmanager
async def running(application: Application) -> AsyncIterator[None]:  # type: ignore[type-arg]
    """Start the Application as run_polling does, without taking over the event loop."""
    await application.initialize()
    if application.post_init:
        await application.post_init(application)
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0.0, timeout=1)
    await application.start()
    try:
        yield
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
        if application.post_shutdown:
            await application.post_shutdown(application)


@dataclass
class Exchange:
    """What the bot did in answer to one update."""

    messages: list[SentMessage]
    calls: list[ApiCall]

    @property
    def text(self) -> str:
        return "\n\n".join(m.text for m in self.messages)

    @property
    def html(self) -> str:
        return "\n\n".join(m.html for m in self.messages)

    def only(self) -> SentMessage:
        assert len(self.messages) == 1, [m.text[:80] for m in self.messages]
        return self.messages[0]

    def answered_callbacks(self) -> list[dict[str, Any]]:
        return [c.params for c in self.calls if c.method == "answerCallbackQuery"]


@dataclass
class BotHarness:
    application: Application  # type: ignore[type-arg]
    api: FakeBotApi
    errors: list[BaseException] = field(default_factory=list)

    async def say(
        self, text: str, *, chat_id: int = 1001, chat_type: str = "private", **kwargs: Any
    ) -> Exchange:
        """Send `text` as a user; return everything the bot sent before it handled a sentinel."""
        return await self._exchange(
            lambda: self.api.user_message(text, chat_id=chat_id, chat_type=chat_type, **kwargs),
            chat_id=chat_id,
            chat_type=chat_type,
        )

    async def press(self, data: str, *, message_id: int, chat_id: int = 1001) -> Exchange:
        """Press an inline button with `data` on the bot's message `message_id`."""
        return await self._exchange(
            lambda: self.api.callback_press(data, message_id=message_id, chat_id=chat_id),
            chat_id=chat_id,
            chat_type="private" if chat_id > 0 else "group",
        )

    async def press_button(self, message: SentMessage, label: str) -> Exchange:
        """Press the button labelled `label` on a message the bot sent."""
        data = button_data(message, label)
        return await self.press(data, message_id=message.message_id, chat_id=message.chat_id)

    async def inline(self, query: str, *, offset: str = "") -> dict[str, Any]:
        """Type an inline query; return the parameters of the bot's answerInlineQuery."""
        before = len(self.api.calls("answerInlineQuery"))
        self.api.inline_query(query, offset=offset)
        calls = await self.api.wait_for_calls("answerInlineQuery", before + 1)
        return calls[before].params

    async def _exchange(self, inject: Any, *, chat_id: int, chat_type: str) -> Exchange:
        # Updates are handled one at a time, in order: once the bot has answered a sentinel
        # command sent right after, everything it sent before that answer was for `inject`.
        self.api.mark()
        first_message = len(self.api.sent)
        first_call = len(self.api.requests)
        inject()
        sentinel = SENTINEL if chat_type == "private" else f"{SENTINEL}@{self.api.bot_username}"
        self.api.user_message(sentinel, chat_id=chat_id, chat_type=chat_type)
        while not any(SENTINEL in m.text for m in self.api.sent[first_message:]):
            await self.api.wait_for_messages(len(self.api.sent) - first_message + 1)
        sent = self.api.sent[first_message:]
        end = next(i for i, m in enumerate(sent) if SENTINEL in m.text)
        calls = self.api.requests[first_call:]
        assert not self.errors, f"handler raised: {self.errors!r}"
        return Exchange(sent[:end], calls)


def button_data(message: SentMessage, label: str) -> str:
    """The callback data of the button whose text is `label` (or starts with it)."""
    assert message.reply_markup, f"no keyboard on: {message.text[:80]}"
    for row in message.reply_markup["inline_keyboard"]:
        for button in row:
            if button["text"] == label or button["text"].startswith(label):
                return str(button["callback_data"])
    labels = [b["text"] for row in message.reply_markup["inline_keyboard"] for b in row]
    raise AssertionError(f"no button {label!r} among {labels}")


def button_labels(message: SentMessage) -> list[str]:
    if not message.reply_markup:
        return []
    return [b["text"] for row in message.reply_markup["inline_keyboard"] for b in row]


def entity_texts(message: SentMessage, kind: str) -> list[str]:
    """The text under each entity of `kind` (offsets are in UTF-16 units, as Telegram's)."""
    encoded = message.text.encode("utf-16-le")
    return [
        encoded[2 * e["offset"] : 2 * (e["offset"] + e["length"])].decode("utf-16-le")
        for e in message.entities
        if e["type"] == kind
    ]


async def save_subscription(
    bot: BotHarness,
    chat_id: int,
    *,
    now: datetime,
    chat_type: str = "private",
    thread_id: int | None = None,
    topics: tuple[str, ...] = (),
    timezone: str = "Asia/Jakarta",
    **changes: object,
) -> Subscription:
    """Store a subscription as /subscribe would make it at `now`, with `changes` applied."""
    subscription = new_subscription(
        chat_id=chat_id,
        chat_type=chat_type,
        thread_id=thread_id,
        topics=topics,
        timezone=timezone,
        now=now,
    )
    subscription = replace(subscription, **changes)  # type: ignore[arg-type]
    await bot.application.bot_data[SERVICES_KEY].opened_store.subscriptions.save(subscription)
    return subscription
