"""Tests of the fake Bot API server, mostly through a real PTB Bot so the wire format is real."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import time
import warnings
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllGroupChats,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, InvalidToken, RetryAfter
from telegram.ext import Application, ApplicationBuilder, CommandHandler, ContextTypes

from tests.fake_bot_api import (
    FakeBotApi,
    TelegramHtmlError,
    parse_telegram_html,
    utf16_len,
)

CHAT = 1001


@pytest.fixture
async def bot(fake_api: FakeBotApi) -> AsyncIterator[Bot]:
    tg_bot = Bot(fake_api.token, base_url=fake_api.base_url, base_file_url=fake_api.base_file_url)
    await tg_bot.initialize()
    yield tg_bot
    await tg_bot.shutdown()


def keyboard(*buttons: InlineKeyboardButton) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([list(buttons)])


def retry_seconds(error: RetryAfter) -> float:
    """Read retry_after whether PTB gives int or timedelta (PTB_TIMEDELTA), without a warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


# --------------------------------------------------------------------------- parse_telegram_html


@pytest.mark.parametrize(
    ("html", "plain", "entities"),
    [
        ("plain text", "plain text", []),
        (
            "<b>bold <i>both</i></b> after",
            "bold both after",
            [
                {"type": "bold", "offset": 0, "length": 9},
                {"type": "italic", "offset": 5, "length": 4},
            ],
        ),
        (
            "<strong>s</strong><em>e</em>",
            "se",
            [
                {"type": "bold", "offset": 0, "length": 1},
                {"type": "italic", "offset": 1, "length": 1},
            ],
        ),
        (
            "<u>u</u><ins>i</ins>",
            "ui",
            [
                {"type": "underline", "offset": 0, "length": 1},
                {"type": "underline", "offset": 1, "length": 1},
            ],
        ),
        (
            "<s>a</s><strike>b</strike><del>c</del>",
            "abc",
            [
                {"type": "strikethrough", "offset": 0, "length": 1},
                {"type": "strikethrough", "offset": 1, "length": 1},
                {"type": "strikethrough", "offset": 2, "length": 1},
            ],
        ),
        (
            '<span class="tg-spoiler">x</span><tg-spoiler>y</tg-spoiler>',
            "xy",
            [
                {"type": "spoiler", "offset": 0, "length": 1},
                {"type": "spoiler", "offset": 1, "length": 1},
            ],
        ),
        ("<span class=tg-spoiler>x</span>", "x", [{"type": "spoiler", "offset": 0, "length": 1}]),
        # Offsets count UTF-16 units: the emoji before the link is two of them.
        (
            '😀 <a href="https://asean.org">ASEAN</a>',
            "😀 ASEAN",
            [{"type": "text_link", "offset": 3, "length": 5, "url": "https://asean.org/"}],
        ),
        (
            "<a href='https://asean.org/a?b=1&amp;c=2'>q</a>",
            "q",
            [{"type": "text_link", "offset": 0, "length": 1, "url": "https://asean.org/a?b=1&c=2"}],
        ),
        ('<a href="javascript:alert(1)">x</a>', "x", []),
        ("<code>x &lt; y</code>", "x < y", [{"type": "code", "offset": 0, "length": 5}]),
        (
            '<pre><code class="language-python">x = 1</code></pre>',
            "x = 1",
            [{"type": "pre", "offset": 0, "length": 5, "language": "python"}],
        ),
        ("<pre><b>x</b></pre>", "x", [{"type": "pre", "offset": 0, "length": 1}]),
        ("<blockquote>q</blockquote>", "q", [{"type": "blockquote", "offset": 0, "length": 1}]),
        (
            "<blockquote expandable>q</blockquote>",
            "q",
            [{"type": "expandable_blockquote", "offset": 0, "length": 1}],
        ),
        (
            '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
            "👍",
            [
                {
                    "type": "custom_emoji",
                    "offset": 0,
                    "length": 2,
                    "custom_emoji_id": "5368324170671202286",
                }
            ],
        ),
        ("&lt;&gt;&amp;&quot;&#65;&#x42;", '<>&"AB', []),
        ("AT&T R&D", "AT&T R&D", []),
        ("<B>x</b>", "x", [{"type": "bold", "offset": 0, "length": 1}]),
        ("  <b>x</b> \n", "x", [{"type": "bold", "offset": 0, "length": 1}]),
        ("<b></b>x", "x", []),
        ("<b>x</>", "x", [{"type": "bold", "offset": 0, "length": 1}]),
    ],
)
def test_parse_telegram_html_gives_telegrams_text_and_entities(
    html: str, plain: str, entities: list[dict[str, Any]]
) -> None:
    """Valid HTML parses to Telegram's plain text and UTF-16 entities."""
    assert parse_telegram_html(html) == (plain, entities)


@pytest.mark.parametrize(
    ("html", "description"),
    [
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<br>", 'Unsupported start tag "br" at byte offset 0'),
        ("é <p>x</p>", 'Unsupported start tag "p" at byte offset 3'),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("x <b", "Unclosed start tag at byte offset 2"),
        ("<b>x</b", "Unclosed end tag at byte offset 4"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("<a href=https://x.org>x</a>", "Unexpected end of name token at byte offset 8"),
        ("<a =x>y</a>", 'Empty attribute name in the tag "a" at byte offset 0'),
        ('<tg-emoji emoji-id="abc">y</tg-emoji>', "Invalid custom emoji identifier specified"),
        ("a&nbsp;b", 'Unsupported HTML entity "&nbsp;" at byte offset 1'),
    ],
)
def test_parse_telegram_html_refuses_what_telegram_refuses(html: str, description: str) -> None:
    """Each kind of bad HTML raises with Telegram's description."""
    with pytest.raises(TelegramHtmlError) as caught:
        parse_telegram_html(html)
    assert caught.value.description == description


def test_unknown_entities_pass_literally_when_not_strict() -> None:
    """Telegram's own lenient handling of unknown entities is available on request."""
    assert parse_telegram_html("a&nbsp;b", strict_entities=False) == ("a&nbsp;b", [])


def test_utf16_len_counts_astral_characters_twice() -> None:
    assert utf16_len("a😀é") == 4


# --------------------------------------------------------------------------- through PTB


async def test_initialize_reads_the_bots_identity(bot: Bot, fake_api: FakeBotApi) -> None:
    """Bot.initialize() calls getMe and gets a bot that supports inline queries."""
    assert bot.username == "aseanbot_test"
    assert bot.id == fake_api.bot_id
    assert bot.bot.supports_inline_queries is True
    assert [call.status for call in fake_api.calls("getMe")] == [200]


async def test_send_message_parses_html_into_entities(bot: Bot, fake_api: FakeBotApi) -> None:
    """An HTML message comes back with the entities Telegram would store, and is recorded."""
    markup = keyboard(InlineKeyboardButton("More", callback_data="more:1"))
    message = await bot.send_message(
        CHAT,
        "<b>ASEAN</b> &amp; <i>partners</i>",
        parse_mode=ParseMode.HTML,
        reply_markup=markup,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )
    assert message.text == "ASEAN & partners"
    assert [(e.type, e.offset, e.length) for e in message.entities] == [
        ("bold", 0, 5),
        ("italic", 8, 8),
    ]
    assert message.reply_markup == markup
    sent = fake_api.sent[-1]
    assert (sent.chat_id, sent.message_id, sent.text) == (CHAT, message.message_id, message.text)
    assert sent.html == "<b>ASEAN</b> &amp; <i>partners</i>"
    assert sent.parse_mode == "HTML"
    assert sent.link_preview_options == {"is_disabled": True}
    assert sent.reply_markup == markup.to_dict()
    assert (sent.edited, sent.method) == (False, "sendMessage")


async def test_message_ids_increase_per_chat(bot: Bot) -> None:
    first = await bot.send_message(CHAT, "one")
    second = await bot.send_message(CHAT, "two")
    other = await bot.send_message(2002, "elsewhere")
    assert (first.message_id, second.message_id, other.message_id) == (1, 2, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "<b>unclosed",
            "Can't parse entities: can't find end tag corresponding to start tag \"b\"",
        ),
        ("1 < 2", 'Can\'t parse entities: unsupported start tag "" at byte offset 2'),
        ("<b></b>", "Message text is empty"),
        ("😀" * 2049, "Message is too long"),
    ],
)
async def test_bad_text_is_a_bad_request(
    bot: Bot, fake_api: FakeBotApi, text: str, message: str
) -> None:
    """Bad HTML, empty text and text over 4096 UTF-16 units raise BadRequest; nothing is sent."""
    with pytest.raises(BadRequest) as caught:
        await bot.send_message(CHAT, text, parse_mode=ParseMode.HTML)
    assert caught.value.message == message
    assert fake_api.requests[-1].status == 400
    assert fake_api.sent == []


async def test_length_counts_utf16_units_after_parsing(bot: Bot, fake_api: FakeBotApi) -> None:
    """2048 emoji (4096 units) fit, 2100 (4200 units) do not; tags do not count."""
    await bot.send_message(CHAT, f"<b>{'😀' * 2048}</b>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="Message is too long"):
        await bot.send_message(CHAT, "😀" * 2100)
    assert fake_api.requests[-1].error == "Bad Request: message is too long"
    assert len(fake_api.sent) == 1


@pytest.mark.parametrize(
    ("button", "description"),
    [
        (InlineKeyboardButton("x", callback_data="d" * 65), "Bad Request: BUTTON_DATA_INVALID"),
        (InlineKeyboardButton("x", callback_data="é" * 33), "Bad Request: BUTTON_DATA_INVALID"),
        (InlineKeyboardButton("x", url="ftp://asean.org"), "Bad Request: BUTTON_URL_INVALID"),
        (
            InlineKeyboardButton("x"),
            "Bad Request: can't parse inline keyboard button: "
            "Text buttons are unallowed in the inline keyboard",
        ),
    ],
)
async def test_bad_inline_keyboard_is_a_bad_request(
    bot: Bot, fake_api: FakeBotApi, button: InlineKeyboardButton, description: str
) -> None:
    with pytest.raises(BadRequest):
        await bot.send_message(CHAT, "pick", reply_markup=keyboard(button))
    assert fake_api.requests[-1].error == description


async def test_64_byte_callback_data_is_accepted(bot: Bot) -> None:
    message = await bot.send_message(
        CHAT, "pick", reply_markup=keyboard(InlineKeyboardButton("x", callback_data="d" * 64))
    )
    assert message.reply_markup is not None


async def test_edit_message_text_checks_like_telegram(bot: Bot, fake_api: FakeBotApi) -> None:
    """Edits need an existing message and a change; a good edit is recorded as edited."""
    markup = keyboard(InlineKeyboardButton("Next", callback_data="p:2"))
    message = await bot.send_message(CHAT, "<b>page 1</b>", parse_mode="HTML", reply_markup=markup)
    with pytest.raises(BadRequest, match="Message is not modified"):
        await bot.edit_message_text(
            "<b>page 1</b>", CHAT, message.message_id, parse_mode="HTML", reply_markup=markup
        )
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await bot.edit_message_text("x", CHAT, 999)
    edited = await bot.edit_message_text("page 2", CHAT, message.message_id)
    assert isinstance(edited, type(message))
    assert edited.text == "page 2"
    assert edited.reply_markup is None  # an edit without reply_markup drops the keyboard
    assert edited.edit_date is not None
    assert [(m.text, m.edited, m.method) for m in fake_api.sent] == [
        ("page 1", False, "sendMessage"),
        ("page 2", True, "editMessageText"),
    ]


async def test_edit_reply_markup_and_delete(bot: Bot, fake_api: FakeBotApi) -> None:
    message = await bot.send_message(CHAT, "hi")
    markup = keyboard(InlineKeyboardButton("A", callback_data="a"))
    edited = await bot.edit_message_reply_markup(CHAT, message.message_id, reply_markup=markup)
    assert edited.reply_markup == markup
    assert fake_api.message(CHAT, message.message_id)["reply_markup"] == markup.to_dict()
    assert await bot.delete_message(CHAT, message.message_id) is True
    with pytest.raises(BadRequest, match="Message to delete not found"):
        await bot.delete_message(CHAT, message.message_id)


async def test_replies_carry_the_replied_message(bot: Bot, fake_api: FakeBotApi) -> None:
    """A reply to a user's message includes it; a reply to a missing message is refused."""
    fake_api.user_message("/digest", chat_id=-4001, chat_type="group", user_id=55)
    (update,) = await bot.get_updates(timeout=0)
    assert update.message is not None
    reply = await update.message.reply_text("Here it is", do_quote=True)
    assert reply.reply_to_message is not None
    assert reply.reply_to_message.text == "/digest"
    assert reply.message_id == update.message.message_id + 1
    with pytest.raises(BadRequest, match="Message to be replied not found"):
        await bot.send_message(-4001, "x", reply_to_message_id=999)


async def test_send_document_uploads_multipart(bot: Bot, fake_api: FakeBotApi) -> None:
    message = await bot.send_document(
        CHAT, b"id: x\n", filename="export.yaml", caption="<b>Export</b>", parse_mode="HTML"
    )
    assert message.document is not None
    assert message.document.file_name == "export.yaml"
    assert message.caption == "Export"
    assert fake_api.calls("sendDocument")[0].params["document"]["content"] == b"id: x\n"


async def test_chat_action_must_be_known(bot: Bot) -> None:
    assert await bot.send_chat_action(CHAT, "typing") is True
    with pytest.raises(BadRequest, match="Wrong parameter action"):
        await bot.send_chat_action(CHAT, "dancing")


# PTB itself warns while building RetryAfter unless PTB_TIMEDELTA is set.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_injected_429_raises_retry_after_once(bot: Bot, fake_api: FakeBotApi) -> None:
    """fail_next answers with 429 and retry_after; the following call goes through."""
    fake_api.fail_next(
        "sendMessage", status=429, description="Too Many Requests: retry after 3", retry_after=3
    )
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(CHAT, "x")
    assert retry_seconds(caught.value) == 3
    await bot.send_message(CHAT, "y")
    assert [(c.status, c.params["text"]) for c in fake_api.calls("sendMessage")] == [
        (429, "x"),
        (200, "y"),
    ]
    assert [m.text for m in fake_api.sent] == ["y"]


async def test_injected_fault_can_target_one_chat(bot: Bot, fake_api: FakeBotApi) -> None:
    fake_api.fail_next("sendMessage", status=400, description="Bad Request: boom", chat_id=7)
    await bot.send_message(CHAT, "not this chat")
    with pytest.raises(BadRequest, match="Boom"):
        await bot.send_message(7, "this one")


async def test_blocked_chat_raises_forbidden(bot: Bot, fake_api: FakeBotApi) -> None:
    fake_api.block_chat(CHAT)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(CHAT, "hello")
    with pytest.raises(Forbidden):
        await bot.send_chat_action(CHAT, "typing")
    await bot.send_message(2002, "other chats still work")
    assert [m.chat_id for m in fake_api.sent] == [2002]
    assert [c.status for c in fake_api.calls("sendMessage")] == [403, 200]


async def test_migration_raises_chat_migrated(bot: Bot, fake_api: FakeBotApi) -> None:
    fake_api.fail_next(
        "sendMessage",
        status=400,
        description="Bad Request: group chat was upgraded to a supergroup chat",
        migrate_to_chat_id=-1001234567890,
    )
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(-4001, "hi")
    assert caught.value.new_chat_id == -1001234567890


async def test_delay_slows_send_methods(bot: Bot, fake_api: FakeBotApi) -> None:
    fake_api.delay = 0.2
    started = time.monotonic()
    await bot.send_message(CHAT, "slow")
    assert time.monotonic() - started >= 0.2


async def test_get_updates_long_poll_wakes_on_an_update_and_honours_offset(
    bot: Bot, fake_api: FakeBotApi
) -> None:
    """A pending long poll returns as soon as an update arrives; the offset confirms it."""
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    update_id = fake_api.user_message("/start@aseanbot_test hi 😀 /help", chat_id=CHAT)
    updates = await asyncio.wait_for(poll, 3)
    assert time.monotonic() - started < 2
    assert [u.update_id for u in updates] == [update_id]
    message = updates[0].message
    assert message is not None
    assert message.text == "/start@aseanbot_test hi 😀 /help"
    assert message.from_user is not None
    assert message.from_user.id == CHAT
    assert [(e.type, e.offset, e.length) for e in message.entities] == [
        ("bot_command", 0, 20),
        ("bot_command", 27, 5),
    ]
    assert await bot.get_updates(offset=update_id, timeout=0) != []
    assert await bot.get_updates(offset=update_id + 1, timeout=0) == ()
    fake_api.user_message("again")
    assert len(await bot.get_updates(offset=update_id, timeout=0)) == 1  # confirmed stays gone


async def test_get_updates_answers_empty_after_its_timeout(bot: Bot) -> None:
    started = time.monotonic()
    assert await bot.get_updates(timeout=dtm.timedelta(seconds=0.3)) == ()
    assert 0.25 <= time.monotonic() - started < 2


async def test_stop_ends_a_pending_long_poll(bot: Bot, fake_api: FakeBotApi) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    await fake_api.stop()
    assert await asyncio.wait_for(poll, 3) == ()
    assert time.monotonic() - started < 2


async def test_callback_press_carries_the_stored_message(bot: Bot, fake_api: FakeBotApi) -> None:
    """A button press shows the bot's message; its query can be answered once."""
    markup = keyboard(InlineKeyboardButton("Next", callback_data="page:2"))
    sent = await bot.send_message(CHAT, "<b>page 1</b>", parse_mode="HTML", reply_markup=markup)
    update_id = fake_api.callback_press("page:2", message_id=sent.message_id, chat_id=CHAT)
    (update,) = await bot.get_updates(offset=update_id, timeout=0)
    query = update.callback_query
    assert query is not None
    assert query.data == "page:2"
    assert query.message.text == "page 1"
    assert query.message.reply_markup == markup
    with pytest.raises(BadRequest, match="Message_too_long"):
        await query.answer("x" * 201)
    assert await query.answer("ok") is True
    with pytest.raises(BadRequest, match="Query is too old"):
        await query.answer("twice")


async def test_callback_press_on_an_unknown_message_still_arrives(
    bot: Bot, fake_api: FakeBotApi
) -> None:
    update_id = fake_api.callback_press("old", message_id=77, chat_id=CHAT)
    (update,) = await bot.get_updates(offset=update_id, timeout=0)
    assert update.callback_query is not None
    assert update.callback_query.message.message_id == 77
    edited = await bot.edit_message_text("refreshed", CHAT, 77)
    assert edited.text == "refreshed"
    assert (await bot.send_message(CHAT, "next")).message_id == 78


async def test_answer_inline_query_validates_results(bot: Bot, fake_api: FakeBotApi) -> None:
    fake_api.inline_query("asean")
    (update,) = await bot.get_updates(timeout=0)
    assert update.inline_query is not None
    assert update.inline_query.query == "asean"

    def article(result_id: str, text: str) -> InlineQueryResultArticle:
        return InlineQueryResultArticle(
            result_id, "Title", InputTextMessageContent(text, parse_mode="HTML")
        )

    with pytest.raises(BadRequest, match="Result_id_duplicate"):
        await update.inline_query.answer([article("1", "a"), article("1", "b")])
    with pytest.raises(BadRequest, match="Can't parse entities"):
        await update.inline_query.answer([article("1", "<b>a")])
    with pytest.raises(BadRequest, match="Result_id_invalid"):
        await update.inline_query.answer([article("x" * 65, "a")])
    with pytest.raises(BadRequest, match="Results_too_much"):
        await update.inline_query.answer([article(str(i), "a") for i in range(51)])
    assert await update.inline_query.answer([article("1", "<b>ok</b>")]) is True
    results = fake_api.calls("answerInlineQuery")[-1].params["results"]
    assert results[0]["input_message_content"]["message_text"] == "<b>ok</b>"


async def test_commands_are_stored_per_scope_and_language(bot: Bot, fake_api: FakeBotApi) -> None:
    await bot.set_my_commands([BotCommand("start", "Start"), BotCommand("search", "Search")])
    await bot.set_my_commands(
        [BotCommand("digest", "Digest")], scope=BotCommandScopeAllGroupChats(), language_code="id"
    )
    assert [c.command for c in await bot.get_my_commands()] == ["start", "search"]
    groups = await bot.get_my_commands(scope=BotCommandScopeAllGroupChats(), language_code="id")
    assert [c.command for c in groups] == ["digest"]
    assert fake_api.my_commands({"type": "all_group_chats"}, "id") == [
        {"command": "digest", "description": "Digest"}
    ]
    await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (BotCommand("Start", "x"), "Bot_command_invalid"),
        (BotCommand("a" * 33, "x"), "Bot_command_invalid"),
        (BotCommand("start", ""), "Command description must be non-empty"),
        (BotCommand("start", "d" * 257), "Bot_command_description_invalid"),
    ],
)
async def test_bad_commands_are_refused(bot: Bot, command: BotCommand, message: str) -> None:
    with pytest.raises(BadRequest) as caught:
        await bot.set_my_commands([command])
    assert caught.value.message == message


async def test_chat_members_and_administrators(bot: Bot, fake_api: FakeBotApi) -> None:
    fake_api.chat_admins[-4001] = {7: "creator", 8: "administrator", 9: "kicked"}
    assert (await bot.get_chat_member(-4001, 8)).status == "administrator"
    assert (await bot.get_chat_member(-4001, 9)).status == "kicked"
    assert (await bot.get_chat_member(-4001, 10)).status == "member"
    assert (await bot.get_chat_member(CHAT, CHAT)).status == "creator"
    admins = await bot.get_chat_administrators(-4001)
    assert sorted(m.user.id for m in admins) == [7, 8]
    with pytest.raises(BadRequest, match="There are no administrators in the private chat"):
        await bot.get_chat_administrators(CHAT)
    chat = await bot.get_chat(-1001234567890)
    assert chat.type == "supergroup"


async def test_webhook_blocks_get_updates_until_deleted(bot: Bot) -> None:
    assert await bot.set_webhook("https://example.org/hook") is True
    assert (await bot.get_webhook_info()).url == "https://example.org/hook"
    with pytest.raises(Exception, match="webhook is active"):
        await bot.get_updates(timeout=0)
    assert await bot.delete_webhook() is True
    assert await bot.get_updates(timeout=0) == ()


async def test_wrong_token_raises_invalid_token(fake_api: FakeBotApi) -> None:
    wrong = Bot("999:wrong", base_url=fake_api.base_url)
    with pytest.raises(InvalidToken):
        await wrong.initialize()
    assert fake_api.requests[-1].status == 401


async def test_wait_for_messages_counts_from_the_mark(bot: Bot, fake_api: FakeBotApi) -> None:
    await bot.send_message(CHAT, "before")
    fake_api.mark()
    await bot.send_message(2002, "other chat")
    await bot.send_message(CHAT, "after")
    found = await fake_api.wait_for_messages(1, chat_id=CHAT, timeout=1)
    assert [m.text for m in found] == ["after"]
    with pytest.raises(AssertionError, match=r"expected 3 message\(s\)[\s\S]*sendMessage -> 200"):
        await fake_api.wait_for_messages(3, timeout=0.1)


# --------------------------------------------------------------------------- raw wire format


async def test_raw_wire_format(fake_api: FakeBotApi) -> None:
    """Status codes, JSON bodies, GET query params and JSON requests work as on Telegram."""
    base = f"{fake_api.base_url}{fake_api.token}"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{fake_api.base_url}nope/getMe") as response:
            assert response.status == 401
            assert await response.json() == {
                "ok": False,
                "error_code": 401,
                "description": "Unauthorized",
            }
        async with http.get(f"{base}/fooBar") as response:
            assert response.status == 404
            assert (await response.json())["description"] == "Not Found"
        async with http.get(f"{base}/GETME") as response:
            body = await response.json()
            assert body["ok"] is True
            assert body["result"]["username"] == "aseanbot_test"
        async with http.get(f"{base}/sendMessage", params={"chat_id": "5", "text": "123"}) as r:
            assert (await r.json())["result"]["text"] == "123"
        markup = {"inline_keyboard": [[{"text": "a", "callback_data": "b"}]]}
        payload = {"chat_id": 5, "text": "json body", "reply_markup": markup}
        async with http.post(f"{base}/sendMessage", json=payload) as response:
            assert (await response.json())["result"]["reply_markup"] == markup
        form = {"chat_id": "5", "text": "form", "reply_markup": json.dumps(markup)}
        async with http.post(f"{base}/sendMessage", data=form) as response:
            assert response.status == 200
    assert [m.text for m in fake_api.sent] == ["123", "json body", "form"]
    assert fake_api.sent[2].reply_markup == markup
    assert fake_api.calls("sendmessage")[0].params == {"chat_id": 5, "text": "123"}


async def test_manual_routes_inject_and_list(fake_api: FakeBotApi) -> None:
    root = fake_api.base_url.removesuffix("/bot")
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{root}/_fake/message", json={"text": "/start"}) as response:
            update_id = (await response.json())["update_id"]
        async with http.get(f"{root}/_fake/sent") as response:
            assert await response.json() == []
    assert update_id == 1


# --------------------------------------------------------------------------- a real Application


async def test_a_real_application_polls_and_replies(fake_api: FakeBotApi) -> None:
    """PTB's Application, pointed at the fake, receives /start and its reply is recorded."""

    async def cmd_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_html("<b>Welcome</b> to ASEAN news")

    app: Application[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder()
        .token(fake_api.token)
        .base_url(fake_api.base_url)
        .base_file_url(fake_api.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", cmd_start))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=dtm.timedelta(seconds=1))
        fake_api.user_message("/start", chat_id=CHAT)
        (reply,) = await fake_api.wait_for_messages(1, chat_id=CHAT)
        await app.updater.stop()
        await app.stop()
    assert reply.text == "Welcome to ASEAN news"
    assert reply.entities == [{"type": "bold", "offset": 0, "length": 7}]
    assert fake_api.calls("deleteWebhook")


# --------------------------------------------------------------------------- flood control


def flood_statuses(fake_api: FakeBotApi) -> list[tuple[int, int]]:
    return [(int(c.params["chat_id"]), c.status) for c in fake_api.calls("sendMessage")]


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_flood_control_refuses_sends_over_the_overall_limit(
    bot: Bot, fake_api: FakeBotApi
) -> None:
    """The fourth send within a second, to four different chats, is answered 429."""
    fake_api.enforce_rate_limits(overall_per_second=3, retry_after=2)
    for chat_id in (1, 2, 3):
        await bot.send_message(chat_id, "ok")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(4, "one too many")
    assert retry_seconds(caught.value) == 2
    assert fake_api.rejected_429 == 1
    assert [m.chat_id for m in fake_api.sent] == [1, 2, 3]
    assert flood_statuses(fake_api)[-1] == (4, 429)
    assert fake_api.calls("sendMessage")[-1].error == "Too Many Requests: retry after 2"


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_flood_control_limits_each_private_chat_to_one_a_second(
    bot: Bot, fake_api: FakeBotApi
) -> None:
    fake_api.enforce_rate_limits()
    await bot.send_message(CHAT, "first")
    with pytest.raises(RetryAfter):
        await bot.send_message(CHAT, "second, too soon")
    await bot.send_message(2002, "another chat is fine")
    assert flood_statuses(fake_api) == [(CHAT, 200), (CHAT, 429), (2002, 200)]


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_flood_control_limits_each_group_and_channel_per_window(
    bot: Bot, fake_api: FakeBotApi
) -> None:
    fake_api.enforce_rate_limits(group_per_minute=2, group_window=0.2)
    for chat in (-4001, "@asean_channel"):
        await bot.send_message(chat, "one")
        await bot.send_message(chat, "two")
        with pytest.raises(RetryAfter):
            await bot.send_message(chat, "three")
    await asyncio.sleep(0.25)
    await bot.send_message(-4001, "three, later")
    assert [m.text for m in fake_api.sent if m.chat_id == -4001] == ["one", "two", "three, later"]
    assert fake_api.rejected_429 == 2


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_flood_control_does_not_count_refused_sends(bot: Bot, fake_api: FakeBotApi) -> None:
    fake_api.enforce_rate_limits(group_per_minute=1, group_window=0.3)
    await bot.send_message(-4001, "one")
    await asyncio.sleep(0.15)
    with pytest.raises(RetryAfter):
        await bot.send_message(-4001, "refused")
    await asyncio.sleep(0.17)
    # 0.32 s after "one" and 0.17 s after the refusal: only a counted refusal would block it.
    await bot.send_message(-4001, "two")
    assert [m.text for m in fake_api.sent] == ["one", "two"]


async def test_flood_control_counts_only_message_sends(bot: Bot, fake_api: FakeBotApi) -> None:
    fake_api.enforce_rate_limits(overall_per_second=1)
    for _ in range(3):
        await bot.get_me()
        await bot.send_chat_action(CHAT, "typing")
    await bot.send_message(CHAT, "the only message this second")
    assert fake_api.rejected_429 == 0


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_flood_control_counts_edits_and_can_be_turned_off(
    bot: Bot, fake_api: FakeBotApi
) -> None:
    fake_api.enforce_rate_limits(overall_per_second=1, private_per_second=None)
    message = await bot.send_message(CHAT, "draft")
    with pytest.raises(RetryAfter):
        await bot.edit_message_text("final", chat_id=CHAT, message_id=message.message_id)
    fake_api.disable_rate_limits()
    await bot.edit_message_text("final", chat_id=CHAT, message_id=message.message_id)
    await bot.send_message(CHAT, "and more")
    assert [(m.text, m.edited) for m in fake_api.sent] == [
        ("draft", False),
        ("final", True),
        ("and more", False),
    ]


async def test_flood_control_answers_telegrams_429_on_the_wire(fake_api: FakeBotApi) -> None:
    fake_api.enforce_rate_limits(overall_per_second=1, retry_after=5)
    url = f"{fake_api.base_url}{fake_api.token}/sendMessage"
    async with aiohttp.ClientSession() as http:
        async with http.post(url, json={"chat_id": 5, "text": "a"}) as response:
            assert response.status == 200
        async with http.post(url, json={"chat_id": 6, "text": "b"}) as response:
            assert response.status == 429
            assert await response.json() == {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 5",
                "parameters": {"retry_after": 5},
            }


async def test_flood_control_counts_concurrent_sends_by_arrival(fake_api: FakeBotApi) -> None:
    """Sends checked after `delay`, all arriving together: only the limit gets through."""
    fake_api.enforce_rate_limits(overall_per_second=2, private_per_second=None)
    fake_api.delay = 0.1
    url = f"{fake_api.base_url}{fake_api.token}/sendMessage"
    async with aiohttp.ClientSession() as http:

        async def send(chat_id: int) -> int:
            async with http.post(url, json={"chat_id": chat_id, "text": "x"}) as response:
                return response.status

        statuses = await asyncio.gather(*(send(chat_id) for chat_id in range(1, 6)))
    assert sorted(statuses) == [200, 200, 429, 429, 429]
    arrivals = sorted(c.at for c in fake_api.calls("sendMessage") if c.status == 200)
    assert arrivals[-1] - arrivals[0] < 1.0
