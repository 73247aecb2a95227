"""Fuzz the running bot: random updates through the real Application and the fake Bot API.

Hypothesis draws updates of every kind Telegram can deliver (commands with random arguments,
free text full of HTML, FTS5 syntax and odd Unicode, edits, channel posts, media and service
messages, chat member changes, forged and mutated button presses, inline queries with odd
offsets) in private chats, groups, supergroups and channels, from users, the operator or no
one, and pushes each one through the real Application. After every update the bot must have
raised and logged no error, sent only what Telegram accepts, answered every button press and
inline query exactly once, and answered every new text message in a private chat and every
command addressed to it.

The default run (300 examples, some 1,200 updates) takes about 10 s on two cores. Longer:

    ASEANBOT_FUZZ_EXAMPLES=5000 python -m pytest tests/test_fuzz.py
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram import Update

from aseanbot.app import build_application
from aseanbot.config import load_settings
from aseanbot.delivery.limiter import TelegramRateLimiter
from aseanbot.handlers import ADMIN_COMMANDS, CHANNEL_COMMANDS, COMMANDS
from aseanbot.handlers.throttle import THROTTLE_LIMIT
from aseanbot.i18n import t_plain
from aseanbot.services import Services
from tests.e2e.harness import TOKEN, running
from tests.fake_bot_api import (
    ApiCall,
    FakeBotApi,
    SentMessage,
    bot_command_entities,
    parse_telegram_html,
    utf16_len,
)

JSONDict = dict[str, Any]

EXAMPLES = int(os.environ.get("ASEANBOT_FUZZ_EXAMPLES", "300"))
DATA_DIR = Path(__file__).resolve().parents[1] / "data"
BOT_USERNAME = "aseanbot_test"
OPERATOR = 4242  # the one id in ASEANBOT_ADMIN_IDS
SENTINEL = "/zz_end_of_fuzz_step"
# A fresh private chat per step: a sentinel user of its own is never throttled.
SENTINEL_CHATS = 900_000_000
SUPERGROUP_BASE = -1_000_000_000_000  # ids below this are supergroups and channels
# The fake senders Telegram puts in `from` for messages sent on behalf of a chat.
GROUP_ANONYMOUS_BOT = {
    "id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot",
}  # fmt: skip
CHANNEL_BOT = {"id": 136817688, "is_bot": True, "first_name": "Channel", "username": "Channel_Bot"}
APOLOGY = t_plain("error.internal")
STEP_TIMEOUT = 15.0
# An edit of a page onto itself (a double tap) is refused by Telegram with this, and the bot
# handles it on purpose (handlers/replies.py): the one non-200 answer a correct bot gets.
TOLERATED_ERRORS = {"editMessageText": ("message is not modified",)}

# --------------------------------------------------------------------------- vocabulary

FTS_TOKENS = (
    '"', '""', "'", "OR", "AND", "NOT", "NEAR(", "NEAR(a b, 3)", "NEAR", ")", "(", "*", "^",
    ":", "-", "+", "title:", "{", "}", ",", "a*", '"open', "or", "not", "near(", "*trade",
)  # fmt: skip
HTML_TOKENS = (
    "<b>", "</b>", '<a href="x">', "</a>", "&amp;", "&lt;", "&nbsp;", "&#0;", "&#x110000;",
    "&", "<", ">", "<br>", "<tg-spoiler>", "<script>", "&#55296;", "</", "<!--",
)  # fmt: skip
ODD_TOKENS = (
    "\x00", "\u200f", "\u200e", "\u202e", "\u2066", "\u200d", "\ufeff", "\u00a0", "\u3000",
    "\n", "\r\n", "\t", "\x1c", "\u2028", "🇹🇭", "👍🏽", "👨‍👩‍👧", "𝕬", "é", "é", "ß", "İ",
    "ﷺ", "\U0010ffff", "ٱلْ", "ไทย", "Việt",
)  # fmt: skip
# Digits Python's str.isdigit() accepts besides 0-9 (some int() refuses): a trap for parsers.
NUMBER_TOKENS = (
    "0", "1", "5", "20", "21", "-1", "007", "99999999999999999999999", "1e3", "²", "١٢٣", "𝟙",
    "٣", "⁵", "①", "१०", " 3 ",
)  # fmt: skip
TIMES = ("7:30am", "07:30", "24:00", "7:60", "12pm", "0:00", "23:59", "noon", "7.30", "٧:٣٠")
ZONES = (
    "Asia/Bangkok", "Manila", "UTC+7", "UTC-12:30", "utc+14", "Etc/GMT+5", "UTC+99",
    "Europe/Nowhere", "../etc/passwd", "GMT", "+07:00", "Asia/Ho_Chi_Minh",
)  # fmt: skip
FREQUENCIES = ("daily", "weekly", "off", "weekly mon", "weekly Sunday", "weekly 7", "monthly")
SEPARATORS = (" ", "", "\n", "  ", "\t", " \u200f ", "\u3000")
CALLBACK_PREFIXES = (
    "o|", "l|", "s|", "m|", "st|", "ad|", "l|0|", "l|1|", "s|0|", "s|1|", "st|main|",
    "st|topic|", "st|country|", "st|time|", "st|zone|", "st|frequency|", "st|weekday|",
    "st|empty|", "st|subscribe|", "st|unsubscribe|", "st|close|", "ad|send|", "ad|cancel|",
    "l|²|", "s|²|", "l|9999|", "s|9999|", "l|10000|", "m|help", "", "x", "|",
)  # fmt: skip
CALLBACK_RESTS = (
    "k=event;t=trade", "k=update", "k=initiative;y=2025", "y=²", "c=TH;c=VN", "p=US", "t=",
    "k=event;;", "=", "main", "latest", "events", "help", "daily", "weekly", "mon", "07:00",
    "Asia/Bangkok", "yes", "no", "AAAAAAAAAAAA", "a|b|c",
)  # fmt: skip
UNKNOWN_COMMANDS = ("zz", "Start", "LATEST", "start_", "stat", "admin", "a" * 40, "_", "123")
ADDRESSEES = ("", "", "", f"@{BOT_USERNAME}", f"@{BOT_USERNAME.upper()}", "@otherbot", "@")


@dataclass(frozen=True)
class Vocabulary:
    """Real words from the bot's data, so that arguments are often almost right."""

    topics: tuple[str, ...]
    places: tuple[str, ...]  # country and partner codes, names and aliases
    item_ids: tuple[str, ...]

    def words_for(self, command: str) -> tuple[str, ...]:
        """The words `command` understands, and near misses of them."""
        ids = self.item_ids
        by_command: dict[str, tuple[str, ...]] = {
            "start": (
                *(f"event_{i}" for i in ids[:5]),
                *(f"sub_{word}" for word in self.topics),
                *("event_", "sub_", "event_../x", "sub_" + "x" * 70),
            ),
            "latest": NUMBER_TOKENS,
            "events": (*self.topics, *self.places, *NUMBER_TOKENS, "2025", "1899", "event"),
            "initiatives": (*self.topics, *self.places, "2024", "initiative"),
            "event": (*ids, *(i.upper() for i in ids[:3]), *(i[:-1] for i in ids[:3])),
            "initiative": (*ids, "no-such-id", "-x", "a" * 60),
            "search": (*FTS_TOKENS, *self.topics, *self.places),
            "subscribe": (*self.topics, "all", "trade,", "AI governance"),
            "time": TIMES,
            "timezone": ZONES,
            "frequency": FREQUENCIES,
        }
        return by_command.get(command, (*self.topics, *ids[:3]))


# --------------------------------------------------------------------------- steps

# Steps name chats and senders by role; each example gives the roles fresh ids, so the
# strategies are built once and a failing step reads the same in every example.
PRIVATE, OPERATOR_PRIVATE, GROUP, SUPERGROUP, CHANNEL = (
    "private", "operator_private", "group", "supergroup", "channel",
)  # fmt: skip
CHAT_ROLES = (PRIVATE, OPERATOR_PRIVATE, GROUP, SUPERGROUP, CHANNEL)
# Senders: the private chat's own user, a group member, the operator, or no one at all.
SELF, MEMBER, OPERATOR_SENDER, NOBODY = "self", "member", "operator", "nobody"


@dataclass(frozen=True)
class Say:
    """A text message (or an edit of the last one) in a chat."""

    chat: str
    text: str
    sender: str
    edited: bool = False
    shape: str = "plain"  # plain | reply | via_bot | anonymous_admin | sender_channel


@dataclass(frozen=True)
class Post:
    """A channel post (or an edit of the last one)."""

    text: str
    edited: bool = False


@dataclass(frozen=True)
class Service:
    """A message without text: media, or a service message about the chat."""

    chat: str
    kind: str
    sender: str
    caption: str = ""


@dataclass(frozen=True)
class MemberChange:
    """my_chat_member (the bot's own status), chat_member, a join request or a reaction."""

    chat: str
    kind: str
    old: str
    new: str
    sender: str


@dataclass(frozen=True)
class Press:
    """A press on a button of message `message_id`; None: a message sent in inline mode."""

    chat: str
    message_id: int | None
    data: str | None  # None: a game button, which carries no data
    sender: str


@dataclass(frozen=True)
class Inline:
    query: str
    offset: str
    sender: str


Step = Say | Post | Service | MemberChange | Press | Inline

SERVICE_KINDS = (
    "sticker", "photo", "dice", "location", "contact", "new_chat_members", "bot_added",
    "left_chat_member", "bot_left", "new_chat_title", "delete_chat_photo", "group_chat_created",
    "supergroup_chat_created", "migrate_to_chat_id", "migrate_from_chat_id", "pinned_message",
    "pinned_inaccessible", "message_auto_delete_timer_changed", "forum_topic_created",
    "video_chat_started",
)  # fmt: skip
MEMBER_KINDS = ("my_chat_member", "my_chat_member", "chat_member", "chat_join_request",
                "message_reaction")  # fmt: skip
MEMBER_STATUSES = ("member", "left", "kicked", "administrator", "creator", "restricted")


@dataclass(frozen=True)
class Chat:
    id: int
    type: str
    thread_id: int | None = None  # the forum topic of a forum supergroup


@dataclass
class Example:
    """The chats of one hypothesis example, with fresh ids so no state leaks between them."""

    chats: dict[str, Chat]
    member: int  # a group member who is not the operator
    # Real buttons the bot sent in these chats: (chat role, message id, callback data).
    buttons: list[tuple[str, int, str]] = field(default_factory=list)

    def sender_id(self, chat: str, sender: str) -> int | None:
        if sender == NOBODY:
            return None
        if sender == SELF and self.chats[chat].type == "private":
            return self.chats[chat].id
        return OPERATOR if sender == OPERATOR_SENDER else self.member

    def role_of(self, chat_id: int) -> str | None:
        return next((role for role, chat in self.chats.items() if chat.id == chat_id), None)


def new_example(n: int, *, forum: bool) -> Example:
    """Example number `n`: its chats and member get ids no other example has."""
    chats = {
        PRIVATE: Chat(10_000_000 + n, "private"),
        OPERATOR_PRIVATE: Chat(OPERATOR, "private"),
        GROUP: Chat(-(20_000_000 + n), "group"),
        SUPERGROUP: Chat(SUPERGROUP_BASE - 30_000_000 - n, "supergroup", 7 if forum else None),
        CHANNEL: Chat(SUPERGROUP_BASE - 40_000_000 - n, "channel"),
    }
    return Example(chats, member=50_000_000 + n)


# --------------------------------------------------------------------------- strategies

_CHARS = st.characters(codec="utf-8")  # Telegram delivers UTF-8: no lone surrogates


def within_64_bytes(data: str) -> str:
    while len(data.encode()) > 64:
        data = data[:-1]
    return data


def as_delivered(text: str) -> str:
    """Trim like Telegram and cut to its 4096-unit limit; never empty (Telegram drops those)."""
    text = text.strip()
    while utf16_len(text) > 4096:
        text = text[: -max(1, (utf16_len(text) - 4096) // 2)]
    return text.strip() or "."


@dataclass(frozen=True)
class Strategies:
    """Every strategy of the fuzz, built once from the data's vocabulary."""

    vocabulary: Vocabulary
    buttons: Callable[[], list[tuple[str, int, str]]]  # the current example's real buttons

    def tokens(self, extra: tuple[str, ...] = ()) -> st.SearchStrategy[str]:
        words = self.vocabulary
        return st.one_of(
            st.sampled_from(FTS_TOKENS + HTML_TOKENS + ODD_TOKENS + NUMBER_TOKENS),
            st.sampled_from(words.topics + words.places + words.item_ids + extra),
            st.text(_CHARS, min_size=1, max_size=12),
        )

    def joined(self, parts: st.SearchStrategy[str], max_parts: int = 8) -> st.SearchStrategy[str]:
        return st.builds(
            lambda words, seps: "".join(w + s for w, s in zip(words, itertools.cycle(seps))),
            st.lists(parts, min_size=1, max_size=max_parts),
            st.lists(st.sampled_from(SEPARATORS), min_size=1, max_size=3),
        )

    def long_text(self) -> st.SearchStrategy[str]:
        """Texts near Telegram's 4096-unit limit: a token repeated."""
        return st.builds(
            lambda token, size, tail: (token * (size // len(token) + 1))[:size] + tail,
            self.tokens(),
            st.integers(3000, 4090),
            st.sampled_from(("", " trade", "\x00", "🇹🇭", "<b>", '"')),
        )

    def free_text(self, extra: tuple[str, ...] = ()) -> st.SearchStrategy[str]:
        return st.one_of(
            self.joined(self.tokens(extra)),
            st.text(_CHARS, min_size=1, max_size=80),
            self.long_text(),
        )

    def command(self) -> st.SearchStrategy[str]:
        """Every known command (and some unknown ones), addressed or not, with arguments."""
        names = (*COMMANDS, *ADMIN_COMMANDS, *UNKNOWN_COMMANDS)
        arguments = {
            name: st.one_of(
                self.joined(st.one_of(st.sampled_from(words), self.tokens(words)), 4),
                self.free_text(words),
            )
            for name in names
            for words in [self.vocabulary.words_for(name.lower())]
        }

        @st.composite
        def build(draw: st.DrawFn) -> str:
            name: str = draw(st.sampled_from(names))
            head: str = "/" + name + draw(st.sampled_from(ADDRESSEES))
            if draw(st.booleans()):
                return head
            separator: str = draw(st.sampled_from(SEPARATORS[:4]))
            return head + separator + draw(arguments[name])

        return build()

    def user_text(self) -> st.SearchStrategy[str]:
        """What a user may send: a command or free text, as Telegram delivers it."""
        command = self.command()
        return st.one_of(command, command, self.free_text()).map(as_delivered)

    def callback_data(self) -> st.SearchStrategy[str | None]:
        """Forged button data: known prefixes with random rests, within Telegram's 64 bytes."""
        rests = st.one_of(
            st.sampled_from(CALLBACK_RESTS + self.vocabulary.topics + self.vocabulary.item_ids),
            st.text(_CHARS, max_size=40),
            self.joined(self.tokens(), 3),
        )
        data = st.builds(
            lambda prefix, rest: within_64_bytes(prefix + rest),
            st.sampled_from(CALLBACK_PREFIXES),
            rests,
        )
        return st.one_of(data.filter(bool), st.none())

    def step(self) -> st.SearchStrategy[Step]:
        user_text = self.user_text()

        @st.composite
        def say(draw: st.DrawFn) -> Say:
            chat = draw(st.sampled_from((PRIVATE, PRIVATE, OPERATOR_PRIVATE, GROUP, SUPERGROUP)))
            text = draw(user_text)
            if chat in (PRIVATE, OPERATOR_PRIVATE):
                sender = draw(st.sampled_from((SELF, SELF, SELF, NOBODY)))
                shape = draw(st.sampled_from(("plain", "plain", "reply", "via_bot")))
            else:
                sender = draw(st.sampled_from((MEMBER, OPERATOR_SENDER, NOBODY)))
                shape = draw(
                    st.sampled_from(
                        ("plain", "plain", "reply", "via_bot", "anonymous_admin", "sender_channel")
                    )
                )
            return Say(chat, text, sender, edited=draw(st.integers(0, 5)) == 0, shape=shape)

        group_senders = st.sampled_from((MEMBER, OPERATOR_SENDER))

        @st.composite
        def forged_press(draw: st.DrawFn) -> Press:
            chat = draw(st.sampled_from((PRIVATE, OPERATOR_PRIVATE, GROUP, SUPERGROUP)))
            message_id = draw(st.one_of(st.integers(1, 60), st.none()))
            return Press(chat, message_id, draw(self.callback_data()), draw(group_senders))

        @st.composite
        def real_press(draw: st.DrawFn) -> Press:
            # The same draws whatever the bot has sent so far: hypothesis replays choice
            # sequences, and refuses a strategy whose shape depends on outside state.
            index = draw(st.integers(0, 1000))
            mutation = draw(st.sampled_from(("keep", "keep", "cut", "append", "renumber")))
            cut = draw(st.integers(0, 64))
            tail = draw(self.tokens())
            number = draw(st.sampled_from(NUMBER_TOKENS))
            sender = draw(group_senders)
            pool = self.buttons()
            if not pool:  # nothing to press yet: a stale menu button instead
                return Press(PRIVATE, cut + 1, within_64_bytes("m|" + tail), sender)
            chat, message_id, data = pool[-1 - index % len(pool)]  # shrinks to the newest
            mutated = {
                "keep": data,
                "cut": data[:cut],
                "append": within_64_bytes(data + tail),
                "renumber": within_64_bytes(data.replace("|0|", f"|{number}|", 1)),
            }[mutation]
            return Press(chat, message_id, mutated or None, sender)

        return st.one_of(
            say(),
            say(),
            say(),
            say(),
            st.builds(Post, user_text, st.booleans()),
            st.builds(
                Service,
                st.sampled_from(CHAT_ROLES),
                st.sampled_from(SERVICE_KINDS),
                st.sampled_from((MEMBER, OPERATOR_SENDER, NOBODY)),
                st.one_of(st.just(""), user_text.map(lambda text: text[:1024])),
            ),
            st.builds(
                MemberChange,
                st.sampled_from(CHAT_ROLES),
                st.sampled_from(MEMBER_KINDS),
                st.sampled_from(MEMBER_STATUSES),
                st.sampled_from(MEMBER_STATUSES),
                group_senders,
            ),
            forged_press(),
            st.builds(
                Inline,
                self.free_text().map(lambda text: text[:256]),
                st.one_of(
                    st.sampled_from(("", "", "10", "1000", "1001", *NUMBER_TOKENS)),
                    st.text(_CHARS, max_size=64),
                ),
                st.sampled_from((SELF, OPERATOR_SENDER)),
            ),
            real_press(),
            real_press(),
            real_press(),
        )


# --------------------------------------------------------------------------- expectations


@dataclass(frozen=True)
class Expect:
    """What a correct bot does for one update, besides raising and logging no error."""

    reply_in: int | None = None  # a chat that must get at least one message
    callback_answers: int = 0
    inline_answers: int = 0


def expectation(update: JSONDict) -> Expect:
    """Every press and inline query is answered once; a message that asks gets a reply.

    Asking: any new text in a private chat; a command addressed to this bot; in a group a
    known command without an addressee (operator commands only from the operator); in a
    channel a channel command. A command addressed to another bot is not for us.
    """
    if "callback_query" in update:
        return Expect(callback_answers=1)
    if "inline_query" in update:
        return Expect(inline_answers=1)
    message = update.get("message") or update.get("channel_post")
    if not message or "text" not in message:
        return Expect()
    chat, text, entities = message["chat"], message["text"], message.get("entities", [])
    is_command = bool(entities) and entities[0]["offset"] == 0
    name, _, addressee = (
        text[: entities[0]["length"]].partition("@") if is_command else ("", "", "")
    )
    name = name.removeprefix("/").lower()
    for_us = addressee.lower() == BOT_USERNAME.lower()
    if addressee and not for_us:
        return Expect()
    asks = False
    if chat["type"] == "private":
        asks = True
    elif chat["type"] == "channel":
        asks = is_command and name in CHANNEL_COMMANDS and "channel_post" in update
    elif is_command:
        from_operator = message.get("from", {}).get("id") == OPERATOR
        asks = for_us or name in COMMANDS or (name in ADMIN_COMMANDS and from_operator)
    return Expect(reply_in=chat["id"] if asks else None)


def check(
    expect: Expect,
    outcome: Outcome,
    errors: list[BaseException],
    logged: list[logging.LogRecord],
) -> None:
    """Everything the bot did for one update must be something a correct bot does."""
    assert not errors, f"a handler raised: {errors!r}"
    lines = [f"{r.name}: {r.getMessage()} {r.exc_info!r}" for r in logged]
    assert not lines, f"errors were logged: {lines}"
    for call in outcome.calls:
        tolerated = TOLERATED_ERRORS.get(call.method, ())
        assert call.status == 200 or any(text in str(call.error) for text in tolerated), (
            f"Telegram would refuse {call.method} ({call.status} {call.error}): "
            f"{_shown(call.params)}"
        )
        assert APOLOGY not in str(call.params.get("text", "")), f"an apology: {call.method}"
    for message in outcome.messages:
        if message.parse_mode == "HTML":
            plain, _ = parse_telegram_html(message.html)
            assert plain == message.text
        assert 0 < utf16_len(message.text) <= 4096
    methods = [call.method for call in outcome.calls]
    assert methods.count("answerCallbackQuery") == expect.callback_answers, methods
    assert methods.count("answerInlineQuery") == expect.inline_answers, methods
    if expect.reply_in is not None:
        replies = [m for m in outcome.messages if m.chat_id == expect.reply_in and not m.edited]
        assert replies, f"no reply in chat {expect.reply_in}"


def _shown(params: JSONDict) -> str:
    shown = {k: params[k] for k in ("chat_id", "text", "callback_query_id") if k in params}
    return repr(shown)[:600]


def _tasks() -> str:
    """Where every task on the loop waits: what a stalled bot is stuck on."""
    lines = []
    for task in asyncio.all_tasks():
        frames = task.get_stack(limit=8)
        where = " <- ".join(f"{f.f_code.co_name}:{f.f_lineno}" for f in reversed(frames))
        lines.append(f"  {task.get_name()}: {where}")
    return "\n".join(lines)


# --------------------------------------------------------------------------- the bot


class ErrorLog(logging.Handler):
    """Keeps every ERROR record: a handler's traceback, or the updater failing on an update."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class Outcome:
    """What the bot did for one step."""

    messages: list[SentMessage]
    calls: list[ApiCall]


class FuzzBot:
    """One Application and one fake Bot API for the whole run, on a loop of their own.

    Why this shape: hypothesis calls the test function once per example, and examples must be
    plain synchronous calls (an async test under @given fights pytest-asyncio over event
    loops, and a fresh bot per example would cost a second each). So the module fixture owns
    an asyncio.Runner whose loop holds the bot for the whole run, and each step is one
    `runner.run(...)`: inject the update, then a sentinel command, and wait for the
    sentinel's answer. Between steps the loop simply pauses; the long poll and the fake server
    resume where they were. The loop is never made the thread's current loop, so it cannot
    disturb pytest-asyncio's loops in other tests.
    """

    def __init__(self, runner: asyncio.Runner, work: Path) -> None:
        self.runner = runner
        self.work = work
        self.fake = FakeBotApi(token=TOKEN, bot_username=BOT_USERNAME)
        self.errors: list[BaseException] = []
        self.error_log = ErrorLog()
        self.example = new_example(0, forum=False)
        self.step_strategy: st.SearchStrategy[Step] = st.nothing()  # set by start()
        self.steps = 0
        self._examples = itertools.count(1)
        self._running = contextlib.AsyncExitStack()
        self._free_ids: dict[int, int] = {}
        self._last_message: dict[int, JSONDict] = {}

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Start the fake, then the bot on a private copy of data/, and learn its words."""
        await self.fake.start()
        self._running.push_async_callback(self.fake.stop)
        data_dir = self.work / "data"
        shutil.copytree(DATA_DIR, data_dir)
        # /ingest must never leave the machine: one enabled source, on a closed loopback port.
        (data_dir / "feeds.yaml").write_text(
            "feeds:\n  - name: loopback\n    url: http://127.0.0.1:9/feed.xml\n"
            "    enabled: true\n    topics: [digital-economy]\n",
            encoding="utf-8",
        )
        bot_settings = load_settings(
            {
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "TELEGRAM_API_BASE_URL": self.fake.base_url,
                "ASEANBOT_DB_PATH": str(self.work / "bot.db"),
                "ASEANBOT_DATA_DIR": str(data_dir),
                "ASEANBOT_ADMIN_IDS": str(OPERATOR),
            }
        )
        # The real limiter, without Telegram's pacing: thousands of updates in seconds.
        limiter = TelegramRateLimiter(
            overall_per_second=100_000, private_interval=0.001, group_per_minute=100_000
        )
        application = build_application(bot_settings, rate_limiter=limiter)

        async def record_error(update: object, context: Any) -> None:
            self.errors.append(context.error)

        application.add_error_handler(record_error)
        await self._running.enter_async_context(running(application))
        assert application.job_queue is not None
        for job in application.job_queue.jobs():
            job.schedule_removal()  # no digests or feed runs of their own during the fuzz
        services: Services = application.bot_data["services"]
        catalog = services.catalog
        items = await services.opened_store.latest_items(60)
        vocabulary = Vocabulary(
            topics=tuple(word for topic in catalog.topics for word in (topic.slug, topic.name)),
            places=tuple(
                word
                for place in (*catalog.countries, *catalog.partners)
                for word in (place.code, place.name, *place.aliases[:2])
            ),
            item_ids=tuple(item.id for item in items),
        )
        assert vocabulary.topics, "the data did not load"
        assert vocabulary.item_ids, "the data did not load"
        self.step_strategy = Strategies(vocabulary, lambda: self.example.buttons).step()

    async def stop(self) -> None:
        """Stop the bot, then the fake."""
        await self._running.aclose()

    def new_example(self, *, forum: bool, member_status: str, operator_status: str) -> None:
        """Fresh chats for the next steps, with the group users' standing in them."""
        self.example = new_example(next(self._examples), forum=forum)
        for role in (GROUP, SUPERGROUP):
            self.fake.chat_admins[self.example.chats[role].id] = {
                self.example.member: member_status,
                OPERATOR: operator_status,
            }

    # ----------------------------------------------------------------- running a step

    def run(self, step: Step) -> Outcome:
        """Push one update through the bot, wait until it is handled, check what it did."""
        return self.runner.run(self._run(step))

    async def _run(self, step: Step) -> Outcome:
        fake = self.fake
        self.steps += 1
        first_message, first_call = len(fake.sent), len(fake.requests)
        first_error, first_record = len(self.errors), len(self.error_log.records)
        expect = self._inject(step)
        # Updates are handled one at a time, in order: once the sentinel is answered, so is
        # everything before it.
        fake.mark()
        sentinel_chat = SENTINEL_CHATS + self.steps
        fake.user_message(SENTINEL, chat_id=sentinel_chat)
        try:
            await fake.wait_for_messages(1, chat_id=sentinel_chat, timeout=STEP_TIMEOUT)
        except AssertionError as stalled:
            raise AssertionError(f"the bot stalled on {step!r}:\n{_tasks()}") from stalled
        outcome = Outcome(fake.sent[first_message:], fake.requests[first_call:])
        self._remember_buttons(outcome.messages)
        errors = self.errors[first_error:]
        check(expect, outcome, errors, self.error_log.records[first_record:])
        return outcome

    def _remember_buttons(self, messages: list[SentMessage]) -> None:
        for message in messages:
            role = self.example.role_of(message.chat_id)
            if role is None or not message.reply_markup:
                continue
            for row in message.reply_markup["inline_keyboard"]:
                for button in row:
                    data = button.get("callback_data")
                    # Sending a real broadcast would write to every fuzzed subscription.
                    if data and not data.startswith("ad|send|"):
                        self.example.buttons.append((role, message.message_id, data))

    def _inject(self, step: Step) -> Expect:
        """Queue the update `step` describes; return what a correct bot then does."""
        match step:
            case Say():
                update = self._say(step)
            case Post():
                update = self._post(step)
            case Service():
                chat = self.example.chats[step.chat]
                kind = "channel_post" if chat.type == "channel" else "message"
                update = {kind: self._service(step)}
            case MemberChange():
                update = self._member_change(step)
            case Press():
                queued = self._press(step)
                if queued is None:
                    return Expect(callback_answers=1)
                update = queued
            case Inline(query, offset, sender):
                user = self.example.sender_id(PRIVATE, sender) or OPERATOR
                self.fake.inline_query(query, user_id=user, offset=offset)
                return Expect(inline_answers=1)
        # A malformed update would stall PTB's polling loop on it: refuse it here instead.
        Update.de_json({**update, "update_id": 0}, None)
        self.fake.inject_update(update)
        return expectation(update)

    # ----------------------------------------------------------------- building updates

    def _message_id(self, chat_id: int) -> int:
        """A message id that no message in the chat has (the bot's included)."""
        candidate = self._free_ids.get(chat_id, 0) + 1
        while self.fake.message(chat_id, candidate) is not None:
            candidate += 1
        self._free_ids[chat_id] = candidate
        return candidate

    def _chat(self, chat: Chat) -> JSONDict:
        if chat.type == "private":
            return {"id": chat.id, "type": "private", "first_name": "Ana"}
        result: JSONDict = {"id": chat.id, "type": chat.type, "title": f"Fuzz {chat.type}"}
        if chat.thread_id is not None:
            result["is_forum"] = True
        return result

    def _user(self, user_id: int) -> JSONDict:
        return {"id": user_id, "is_bot": False, "first_name": "Ana", "language_code": "en"}

    def _bot(self) -> JSONDict:
        fake = self.fake
        return {"id": fake.bot_id, "is_bot": True, "first_name": "Bot", "username": BOT_USERNAME}

    def _message(self, chat: Chat, sender: int | None) -> JSONDict:
        message: JSONDict = {
            "message_id": self._message_id(chat.id),
            "chat": self._chat(chat),
            "date": int(time.time()),
        }
        if sender is not None:
            message["from"] = self._user(sender)
        if chat.type == "channel":
            message["sender_chat"] = self._chat(chat)
        if chat.thread_id is not None:
            message.update(message_thread_id=chat.thread_id, is_topic_message=True)
        return message

    def _text_message(self, chat: Chat, sender: int | None, text: str) -> JSONDict:
        message = self._message(chat, sender)
        message["text"] = text
        entities = bot_command_entities(text)
        if entities:
            message["entities"] = entities
        return message

    def _new_or_edited(self, chat: Chat, message: JSONDict, edited: bool, kind: str) -> JSONDict:
        """A new message, or, when `edited` and the chat has one, an edit of the last one."""
        previous = self._last_message.get(chat.id)
        if edited and previous is not None:
            message.update(message_id=previous["message_id"], edit_date=int(time.time()))
            return {f"edited_{kind}": message}
        self._last_message[chat.id] = message
        return {kind: message}

    def _last_bot_message(self, chat: Chat) -> JSONDict | None:
        sent = [m for m in self.fake.sent[-200:] if m.chat_id == chat.id]
        found = self.fake.message(chat.id, sent[-1].message_id) if sent else None
        return (
            None if found is None else {k: v for k, v in found.items() if k != "reply_to_message"}
        )

    def _say(self, step: Say) -> JSONDict:
        chat = self.example.chats[step.chat]
        message = self._text_message(
            chat, self.example.sender_id(step.chat, step.sender), step.text
        )
        if step.shape == "anonymous_admin":
            message.update({"from": GROUP_ANONYMOUS_BOT, "sender_chat": self._chat(chat)})
        elif step.shape == "sender_channel":
            # A channel of its own per chat: one channel speaking often is throttled, rightly.
            channel = {"id": chat.id - 7, "type": "channel", "title": "Channel"}
            message.update({"from": CHANNEL_BOT, "sender_chat": channel})
        elif step.shape == "via_bot":
            message["via_bot"] = self._bot()
        elif step.shape == "reply" and (target := self._last_bot_message(chat)) is not None:
            message["reply_to_message"] = target
        return self._new_or_edited(chat, message, step.edited, "message")

    def _post(self, step: Post) -> JSONDict:
        chat = self.example.chats[CHANNEL]
        message = self._text_message(chat, None, step.text)
        return self._new_or_edited(chat, message, step.edited, "channel_post")

    def _service(self, step: Service) -> JSONDict:
        chat = self.example.chats[step.chat]
        sender = None if chat.type == "channel" else self.example.sender_id(step.chat, step.sender)
        message = self._message(chat, sender)
        other = self._user(60_000_000)
        file = {"file_id": "fuzz-file", "file_unique_id": "fuzz-unique"}
        inaccessible = {"chat": self._chat(chat), "message_id": 1, "date": 0}
        fields: dict[str, JSONDict] = {
            "sticker": {
                "sticker": {
                    **file, "width": 512, "height": 512, "is_animated": False,
                    "is_video": False, "type": "regular", "emoji": "👍",
                }
            },
            "photo": {"photo": [{**file, "width": 90, "height": 90}]},
            "dice": {"dice": {"emoji": "🎲", "value": 3}},
            "location": {"location": {"latitude": 13.75, "longitude": 100.5}},
            "contact": {"contact": {"phone_number": "+6620000000", "first_name": "Ana"}},
            "new_chat_members": {"new_chat_members": [other]},
            "bot_added": {"new_chat_members": [self._bot(), other]},
            "left_chat_member": {"left_chat_member": other},
            "bot_left": {"left_chat_member": self._bot()},
            "new_chat_title": {"new_chat_title": step.caption[:128] or "Title"},
            "delete_chat_photo": {"delete_chat_photo": True},
            "group_chat_created": {"group_chat_created": True},
            "supergroup_chat_created": {"supergroup_chat_created": True},
            "migrate_to_chat_id": {"migrate_to_chat_id": chat.id - 7_000_000_000_000},
            "migrate_from_chat_id": {"migrate_from_chat_id": -(abs(chat.id) % 1_000_000) - 1},
            "pinned_message": {"pinned_message": self._last_bot_message(chat) or inaccessible},
            "pinned_inaccessible": {"pinned_message": inaccessible},
            "message_auto_delete_timer_changed": {
                "message_auto_delete_timer_changed": {"message_auto_delete_time": 86400}
            },
            "forum_topic_created": {
                "forum_topic_created": {"name": "Topic", "icon_color": 7322096}
            },
            "video_chat_started": {"video_chat_started": {}},
        }  # fmt: skip
        message.update(fields[step.kind])
        if step.kind == "photo" and step.caption:
            message["caption"] = step.caption
            entities = bot_command_entities(step.caption)
            if entities:
                message["caption_entities"] = entities
        return message

    def _member(self, status: str, user: JSONDict) -> JSONDict:
        """A ChatMember of `status` with every field Telegram sends for it."""
        member: JSONDict = {"status": status, "user": user}
        if status == "kicked":
            member["until_date"] = 0
        elif status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(can_be_edited=False, is_anonymous=False)
            member.update(dict.fromkeys((
                "can_manage_chat", "can_delete_messages", "can_manage_video_chats",
                "can_restrict_members", "can_promote_members", "can_change_info",
                "can_invite_users", "can_post_stories", "can_edit_stories", "can_delete_stories",
            ), True))  # fmt: skip
        elif status == "restricted":
            member.update(is_member=True, until_date=0)
            member.update(dict.fromkeys((
                "can_change_info", "can_invite_users", "can_pin_messages", "can_send_messages",
                "can_send_polls", "can_send_other_messages", "can_add_web_page_previews",
                "can_manage_topics", "can_send_audios", "can_send_documents", "can_send_photos",
                "can_send_videos", "can_send_video_notes", "can_send_voice_notes",
                "can_edit_tag", "can_react_to_messages",
            ), False))  # fmt: skip
        return member

    def _member_change(self, step: MemberChange) -> JSONDict:
        chat, now = self._chat(self.example.chats[step.chat]), int(time.time())
        user = self._user(self.example.sender_id(step.chat, step.sender) or OPERATOR)
        if step.kind == "chat_join_request":
            return {
                "chat_join_request": {
                    "chat": chat, "from": user, "user_chat_id": user["id"], "date": now,
                }
            }  # fmt: skip
        if step.kind == "message_reaction":
            return {
                "message_reaction": {
                    "chat": chat, "message_id": 1, "user": user, "date": now,
                    "old_reaction": [], "new_reaction": [{"type": "emoji", "emoji": "👍"}],
                }
            }  # fmt: skip
        subject = self._bot() if step.kind == "my_chat_member" else self._user(60_000_001)
        return {
            step.kind: {
                "chat": chat,
                "from": user,
                "date": now,
                "old_chat_member": self._member(step.old, subject),
                "new_chat_member": self._member(step.new, subject),
            }
        }

    def _press(self, step: Press) -> JSONDict | None:
        """Queue a button press; None when the fake queued it itself."""
        chat = self.example.chats[step.chat]
        user = self.example.sender_id(step.chat, SELF if chat.type == "private" else step.sender)
        user = OPERATOR if user is None else user
        if step.message_id is not None and step.data is not None:
            message_id = step.message_id
            message = self.fake.message(chat.id, message_id)
            if message is not None and message.get("from", {}).get("id") != self.fake.bot_id:
                message_id = self._message_id(chat.id)  # only the bot's messages have buttons
            self.fake.callback_press(
                step.data, message_id=message_id, chat_id=chat.id, user_id=user
            )
            return None
        query_id = f"fuzz-{self.steps}"
        # A press on a game button (no data) or on a message sent in inline mode (no message):
        # the fake's callback_press makes neither, so the query is registered with it by hand.
        self.fake._callback_queries[query_id] = False
        query: JSONDict = {
            "id": query_id,
            "from": self._user(user),
            "chat_instance": str(abs(chat.id) * 7919 + 17),
        }
        if step.data is None:
            query["game_short_name"] = "fuzz"
        else:
            query["data"] = step.data
        if step.message_id is None:
            query["inline_message_id"] = "AgAAAFuzz"
        else:
            query["message"] = self.fake.message(chat.id, step.message_id) or {
                "message_id": step.message_id,
                "from": self._bot(),
                "chat": self._chat(chat),
                "date": int(time.time()) - 3 * 86400,
                "text": "(an older message)",
            }
        return {"callback_query": query}


# These two are run, but may go unanswered; every other check still holds for them.
# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def fuzz_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzBot]:
    root = logging.getLogger()
    with asyncio.Runner(loop_factory=asyncio.new_event_loop) as runner:
        bot = FuzzBot(runner, tmp_path_factory.mktemp("fuzz"))
        root.addHandler(bot.error_log)
        try:
            runner.run(bot.start())
            yield bot
        finally:
            runner.run(bot.stop())
            root.removeHandler(bot.error_log)


@pytest.fixture
def fuzz(fuzz_bot: FuzzBot) -> FuzzBot:
    """The shared bot, in fresh chats."""
    fuzz_bot.new_example(forum=False, member_status="member", operator_status="member")
    return fuzz_bot


# --------------------------------------------------------------------------- the fuzz test

STATUSES = ("member", "administrator", "creator", "left", "kicked")


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(data=st.data())
def test_random_updates_never_break_the_bot(fuzz: FuzzBot, data: st.DataObject) -> None:
    """Any update Telegram can deliver is handled without an error, refusal or silence."""
    fuzz.new_example(
        forum=data.draw(st.booleans(), label="forum"),
        member_status=data.draw(st.sampled_from(STATUSES), label="member status"),
        operator_status=data.draw(st.sampled_from(STATUSES), label="operator status"),
    )
    for _ in range(data.draw(st.integers(1, 6), label="steps")):
        step = data.draw(fuzz.step_strategy, label="step")
        fuzz.run(step)


# --------------------------------------------------------------------------- bugs it found (fixed)


def test_an_inline_query_with_a_superscript_offset_is_answered(fuzz: FuzzBot) -> None:
    step = Inline("trade", "²", SELF)
    fuzz.run(step)


def test_anonymous_admins_of_different_groups_are_not_throttled_together(
    fuzz_bot: FuzzBot,
) -> None:
    step = Say(SUPERGROUP, f"/help@{BOT_USERNAME}", MEMBER, shape="anonymous_admin")
    for _ in range(THROTTLE_LIMIT + 2):  # each in a group of its own
        fuzz_bot.new_example(forum=False, member_status="member", operator_status="member")
        fuzz_bot.run(step)


def test_latest_with_a_superscript_count_explains_the_count(fuzz: FuzzBot) -> None:
    step = Say(PRIVATE, "/latest ²", SELF)
    fuzz.run(step)


@pytest.mark.parametrize("data", ["l|²|", "s|①|trade"])
def test_a_forged_page_number_gets_the_stale_button_answer(fuzz: FuzzBot, data: str) -> None:
    step = Press(PRIVATE, 1, data, SELF)
    fuzz.run(step)


@pytest.mark.parametrize("text", [f"/zz@{BOT_USERNAME}.", f'/stats@{BOT_USERNAME}"'])
def test_an_unknown_command_addressed_to_the_bot_gets_the_help_pointer(
    fuzz: FuzzBot, text: str
) -> None:
    step = Say(PRIVATE, text, SELF)
    fuzz.run(step)
