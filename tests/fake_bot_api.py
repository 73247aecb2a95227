"""A fake Telegram Bot API server on 127.0.0.1 for tests that drive the real PTB Application.

It speaks Telegram's wire format (form, multipart or JSON requests; ``{"ok": ...}`` answers
with real HTTP status codes), keeps the state a bot can observe (message ids per chat, stored
messages for edits and button presses, the update queue, commands per scope) and checks what
Telegram checks on the way in: HTML entities parsed by Telegram's rules, the 4096 UTF-16 unit
limit, inline keyboards, callback and inline query answers. With `enforce_rate_limits()` it
also answers 429 to sends over Telegram's flood limits, as Telegram does.

Run it by hand with ``python -m tests.fake_bot_api --port 8081 --token T``.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import dataclasses
import json
import logging
import re
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web

logger = logging.getLogger(__name__)

JSONDict = dict[str, Any]
_T = TypeVar("_T")

MESSAGE_LIMIT = 4096  # UTF-16 code units, counted after entity parsing
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64  # bytes
CALLBACK_ANSWER_LIMIT = 200
INLINE_RESULTS_LIMIT = 50
INLINE_RESULT_ID_LIMIT = 64  # bytes
COMMAND_DESCRIPTION_LIMIT = 256

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"


# --------------------------------------------------------------------------- recorded values


@dataclass(frozen=True, slots=True)
class ApiCall:
    """One request the fake answered (recorded when answered; `at` is its arrival time)."""

    method: str
    params: JSONDict
    at: float
    status: int
    error: str | None = None  # Telegram's description when status is not 200


@dataclass(frozen=True, slots=True)
class SentMessage:
    """A message text the bot successfully sent or edited, as Telegram stored it."""

    chat_id: int
    message_id: int
    text: str
    html: str
    parse_mode: str | None
    entities: list[JSONDict]
    reply_markup: JSONDict | None
    link_preview_options: JSONDict | None
    message_thread_id: int | None
    edited: bool
    method: str


# --------------------------------------------------------------------------- UTF-16


def utf16_len(text: str) -> int:
    """Return the length of `text` in UTF-16 code units, the unit of Telegram's offsets."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


# --------------------------------------------------------------------------- HTML parse mode


class TelegramHtmlError(ValueError):
    """Telegram refused the HTML; `description` is the text after "can't parse entities: "."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


# Telegram's own whitespace test in its HTML parser (it counts NUL as space too).
_HTML_SPACES = frozenset(" \t\r\n\v\0")
_ALLOWED_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler",
        "tg-emoji", "span", "pre", "code", "blockquote",
    }
)  # fmt: skip
_SIMPLE_TAG_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
# Telegram sorts entities by offset, then longer first, then by this priority (lower first).
_TYPE_PRIORITY = {
    "blockquote": 0,
    "expandable_blockquote": 0,
    "pre": 11,
    "code": 20,
    "text_link": 49,
    "text_mention": 49,
    "bot_command": 50,
    "bold": 90,
    "italic": 91,
    "underline": 92,
    "strikethrough": 93,
    "spoiler": 94,
    "custom_emoji": 99,
}
_TG_USER_LINK = re.compile(r"^tg://user\?id=(\d+)$", re.IGNORECASE)
_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*):")
_LINK_HOST = re.compile(r"^[A-Za-z0-9_~\-]+(\.[A-Za-z0-9_~\-]+)+(:\d+)?$|^localhost(:\d+)?$")


@dataclass(slots=True)
class _OpenTag:
    name: str
    argument: str
    utf16_offset: int
    text_index: int  # index into the decoded characters, for <a> without href
    entity_count: int  # entities closed before this tag opened


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _decode_html_entity(text: str, pos: int, *, strict: bool) -> tuple[str | None, int]:
    """Decode the character reference at text[pos] == "&"; return (char or None, next pos)."""
    n = len(text)
    end = pos + 1
    code = 0
    if end < n and text[end] == "#":
        end += 1
        if end < n and text[end] == "x":
            end += 1
            while end < n and text[end] in "0123456789abcdefABCDEF":
                code = code * 16 + int(text[end], 16)
                end += 1
                if code >= 0x10FFFF:
                    return None, pos
        else:
            while end < n and text[end].isascii() and text[end].isdigit():
                code = code * 10 + int(text[end])
                end += 1
                if code >= 0x10FFFF:
                    return None, pos
        if code == 0 or end - pos >= 10 or 0xD800 <= code <= 0xDFFF:
            return None, pos
    else:
        while end < n and text[end].isascii() and text[end].isalpha():
            end += 1
        name = text[pos + 1 : end]
        if name not in _NAMED_ENTITIES:
            # Telegram itself shows an unknown named entity literally; the fake refuses it by
            # default because a bot that emits "&nbsp;" shows users a literal "&nbsp;".
            if strict and name and end < n and text[end] == ";":
                raise TelegramHtmlError(
                    f'Unsupported HTML entity "&{name};" at byte offset {_byte_offset(text, pos)}'
                )
            return None, pos
        code = ord(_NAMED_ENTITIES[name])
    if end < n and text[end] == ";":
        end += 1
    return chr(code), end


def _check_link(url: str) -> str | None:
    """Normalise an <a href> like Telegram does, or return None when it makes no link."""
    url = url.strip()
    if not url:
        return None
    scheme_match = _URL_SCHEME.match(url)
    if scheme_match and url[scheme_match.end() : scheme_match.end() + 2] == "//":
        scheme = scheme_match.group(1).lower()
        rest = url[scheme_match.end() + 2 :]
    elif scheme_match and not url[scheme_match.end() :].split("/")[0].isdigit():
        return None  # mailto:, javascript: and other schemes without "//" make no link
    else:
        scheme, rest = "http", url
    if scheme in ("tg", "ton"):
        return f"{scheme}://{rest}" if rest else None
    if scheme not in ("http", "https"):
        return None
    split = re.search(r"[/?#]", rest)
    host = rest[: split.start()] if split else rest
    tail = rest[split.start() :] if split else ""
    if not _LINK_HOST.match(host):
        return None
    if not tail.startswith("/"):
        tail = "/" + tail
    return f"{scheme}://{host}{tail}"


def _close_tag(
    tag: _OpenTag, utf16_offset: int, decoded: list[str], entities: list[JSONDict]
) -> None:
    """Turn a closed tag into its entity (or none), applying Telegram's nesting rules."""
    length = utf16_offset - tag.utf16_offset
    nested = entities[tag.entity_count :]
    if tag.name in ("pre", "code"):
        # Nothing may be nested inside pre/code, except <code class="language-..."> that
        # spans the whole <pre>: the two merge into one pre entity with a language.
        del entities[tag.entity_count :]
        if tag.name == "pre" and len(nested) == 1:
            inner = nested[0]
            if inner["type"] == "code" and inner["length"] == length:
                pre: JSONDict = {"type": "pre", "offset": tag.utf16_offset, "length": length}
                if inner.get("_language"):
                    pre["language"] = inner["_language"]
                entities.append(pre)
                return
    if length <= 0:
        return
    entity: JSONDict = {"type": "", "offset": tag.utf16_offset, "length": length}
    if tag.name in _SIMPLE_TAG_TYPES:
        entity["type"] = _SIMPLE_TAG_TYPES[tag.name]
    elif tag.name == "tg-emoji":
        if not tag.argument.isdigit() or int(tag.argument) == 0:
            raise TelegramHtmlError("Invalid custom emoji identifier specified")
        entity.update(type="custom_emoji", custom_emoji_id=str(int(tag.argument)))
    elif tag.name == "a":
        url = tag.argument or "".join(decoded[tag.text_index :])
        mention = _TG_USER_LINK.match(url.strip())
        if mention:
            user = {"id": int(mention.group(1)), "is_bot": False, "first_name": "User"}
            entity.update(type="text_mention", user=user)
        else:
            link = _check_link(url)
            if link is None:
                return
            entity.update(type="text_link", url=link)
    elif tag.name == "pre":
        entity["type"] = "pre"
    elif tag.name == "code":
        entity["type"] = "code"
        if tag.argument:
            entity["_language"] = tag.argument
    elif tag.name == "blockquote":
        # Blockquotes can't be nested: the outer one wins.
        entities[tag.entity_count :] = [e for e in nested if not e["type"].endswith("blockquote")]
        entity["type"] = "expandable_blockquote" if tag.argument else "blockquote"
    entities.append(entity)


def _parse_start_tag(text: str, begin: int) -> tuple[str, str, int]:
    """Parse the start tag at text[begin] == "<"; return (name, argument, index after ">")."""
    n = len(text)
    i = begin + 1
    while i < n and text[i] not in _HTML_SPACES and text[i] != ">":
        i += 1
    if i >= n:
        raise TelegramHtmlError(f"Unclosed start tag at byte offset {_byte_offset(text, begin)}")
    name = text[begin + 1 : i].lower()
    at = _byte_offset(text, begin)
    if name not in _ALLOWED_TAGS:
        raise TelegramHtmlError(f'Unsupported start tag "{name}" at byte offset {at}')
    argument = ""
    while i < n and text[i] != ">":
        while i < n and text[i] in _HTML_SPACES:
            i += 1
        if i >= n:
            raise TelegramHtmlError(f'Unclosed start tag "{name}" at byte offset {at}')
        if text[i] == ">":
            break
        attr_begin = i
        while i < n and text[i] not in _HTML_SPACES and text[i] not in "=>/\"'":
            i += 1
        attribute = text[attr_begin:i]
        if not attribute:
            raise TelegramHtmlError(f'Empty attribute name in the tag "{name}" at byte offset {at}')
        while i < n and text[i] in _HTML_SPACES:
            i += 1
        if i >= n:
            raise TelegramHtmlError(f'Unclosed start tag "{name}" at byte offset {at}')
        if text[i] != "=":
            if name == "blockquote" and attribute == "expandable":
                argument = "1"
            continue
        i += 1
        while i < n and text[i] in _HTML_SPACES:
            i += 1
        if i >= n:
            raise TelegramHtmlError(f'Unclosed start tag "{name}" at byte offset {at}')
        if text[i] not in "\"'":
            # An unquoted value is an HTML name token: letters, digits, periods, hyphens.
            token_begin = i
            while i < n and text[i].isascii() and (text[i].isalnum() or text[i] in ".-"):
                i += 1
            value = text[token_begin:i].lower()
            if i < n and text[i] not in _HTML_SPACES and text[i] != ">":
                raise TelegramHtmlError(
                    f"Unexpected end of name token at byte offset {_byte_offset(text, token_begin)}"
                )
        else:
            quote = text[i]
            i += 1
            chars: list[str] = []
            while i < n and text[i] != quote:
                if text[i] == "&":
                    decoded, i_after = _decode_html_entity(text, i, strict=True)
                    if decoded is not None:
                        chars.append(decoded)
                        i = i_after
                        continue
                chars.append(text[i])
                i += 1
            if i < n:
                i += 1
            value = "".join(chars)
        if i >= n:
            raise TelegramHtmlError(f"Unclosed start tag at byte offset {at}")
        if name == "a" and attribute == "href":
            argument = value
        elif name == "code" and attribute == "class" and value.startswith("language-"):
            argument = value.removeprefix("language-")
        elif name == "span" and attribute == "class" and value.startswith("tg-"):
            argument = value.removeprefix("tg-")
        elif name == "tg-emoji" and attribute == "emoji-id":
            argument = value
        elif name == "blockquote" and attribute == "expandable":
            argument = "1"
    if name == "span" and argument != "spoiler":
        raise TelegramHtmlError(f'Tag "span" must have class "tg-spoiler" at byte offset {at}')
    return name, argument, i + 1


def _trim(text: str, entities: Iterable[JSONDict]) -> tuple[str, list[JSONDict]]:
    """Strip surrounding whitespace as Telegram does, moving and clipping the entities."""
    stripped = text.strip()
    if not stripped:
        return "", []
    shift = utf16_len(text[: len(text) - len(text.lstrip())])
    total = utf16_len(stripped)
    result = []
    for entity in entities:
        start = max(0, entity["offset"] - shift)
        end = min(total, entity["offset"] + entity["length"] - shift)
        if end > start:
            result.append({**entity, "offset": start, "length": end - start})
    result.sort(key=lambda e: (e["offset"], -e["length"], _TYPE_PRIORITY.get(e["type"], 50)))
    return stripped, result


def parse_telegram_html(text: str, *, strict_entities: bool = True) -> tuple[str, list[JSONDict]]:
    """Parse text as Telegram's HTML parse mode does; return (plain_text, entities).

    The plain text is stripped of surrounding whitespace and entity offsets are in UTF-16
    code units, as in the Message Telegram returns. Raises TelegramHtmlError with Telegram's
    description. With `strict_entities` (the default) an unknown named entity such as
    "&nbsp;" is refused; Telegram would show it literally.
    """
    n = len(text)
    decoded: list[str] = []
    entities: list[JSONDict] = []
    stack: list[_OpenTag] = []
    utf16_offset = 0
    i = 0
    while i < n:
        char = text[i]
        if char == "&":
            entity_char, i_after = _decode_html_entity(text, i, strict=strict_entities)
            if entity_char is not None:
                decoded.append(entity_char)
                utf16_offset += utf16_len(entity_char)
                i = i_after
                continue
        if char != "<":
            decoded.append(char)
            utf16_offset += 2 if ord(char) > 0xFFFF else 1
            i += 1
            continue
        begin = i
        if i + 1 < n and text[i + 1] == "/":
            at = _byte_offset(text, begin)
            if not stack:
                raise TelegramHtmlError(f"Unexpected end tag at byte offset {at}")
            i += 1
            while i < n and text[i] not in _HTML_SPACES and text[i] != ">":
                i += 1
            end_name = text[begin + 2 : i]
            while i < n and text[i] in _HTML_SPACES:
                i += 1
            if i >= n or text[i] != ">":
                raise TelegramHtmlError(f"Unclosed end tag at byte offset {at}")
            tag = stack[-1]
            if end_name and end_name != tag.name:
                raise TelegramHtmlError(
                    f'Unmatched end tag at byte offset {at}, expected "</{tag.name}>", '
                    f'found "</{end_name}>"'
                )
            stack.pop()
            _close_tag(tag, utf16_offset, decoded, entities)
            i += 1
            continue
        name, argument, i = _parse_start_tag(text, begin)
        stack.append(_OpenTag(name, argument, utf16_offset, len(decoded), len(entities)))
    if stack:
        raise TelegramHtmlError(
            f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"'
        )
    public = [{k: v for k, v in e.items() if not k.startswith("_")} for e in entities]
    return _trim("".join(decoded), public)


# --------------------------------------------------------------------------- request checks


class _ApiError(Exception):
    """An error answer: HTTP status, Telegram's description and optional parameters."""

    def __init__(self, status: int, description: str, parameters: JSONDict | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def _bad(description: str) -> _ApiError:
    return _ApiError(400, f"Bad Request: {description}")


_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_BUTTON_URL = re.compile(r"^(https?|tg)://\S+$", re.IGNORECASE)
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
_BOT_COMMAND = re.compile(
    r"(?<![A-Za-z0-9_/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_/<>@])"
)


def _check_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise _bad('can\'t parse inline keyboard button: Field "text" must be of type String')
    if not button["text"].strip():
        raise _bad("BUTTON_TEXT_INVALID")
    actions = [key for key in _BUTTON_ACTIONS if key in button]
    if not actions:
        raise _bad(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if len(actions) > 1:
        raise _bad("can't parse inline keyboard button: exactly one optional field must be used")
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode()) <= CALLBACK_DATA_LIMIT:
            raise _bad("BUTTON_DATA_INVALID")
    if "url" in button and not (
        isinstance(button["url"], str) and _BUTTON_URL.match(button["url"].strip())
    ):
        raise _bad("BUTTON_URL_INVALID")


def _check_reply_markup(markup: Any) -> JSONDict | None:
    """Validate reply_markup; return the inline keyboard a Message would carry, if any."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise _bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return None  # reply keyboards are accepted but never echoed back in a Message
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    for row in rows:
        for button in row:
            _check_button(button)
    return markup if any(rows) else None


def _render_text(
    text: Any, parse_mode: Any, entities: Any, *, limit: int, too_long: str
) -> tuple[str, list[JSONDict]]:
    """Parse a text parameter as Telegram would; return (plain text, entities)."""
    if text is None or text == "":
        raise _bad("message text is empty")
    text = str(text)
    mode = str(parse_mode or "").lower()
    if mode == "html":
        try:
            plain, parsed = parse_telegram_html(text)
        except TelegramHtmlError as exc:
            raise _bad(f"can't parse entities: {exc.description}") from exc
    elif mode in ("markdown", "markdownv2"):
        logger.warning("fake Bot API does not parse %s; keeping the text as sent", parse_mode)
        plain, parsed = _trim(text, [])
    elif mode == "":
        plain, parsed = _trim(text, entities if isinstance(entities, list) else [])
    else:
        raise _bad("unsupported parse_mode")
    if not plain:
        raise _bad("message text is empty")
    if utf16_len(plain) > limit:
        raise _bad(too_long)
    return plain, parsed


def bot_command_entities(text: str) -> list[JSONDict]:
    """Return the bot_command entities Telegram adds to a user's text."""
    return [
        {
            "type": "bot_command",
            "offset": utf16_len(text[: match.start()]),
            "length": utf16_len(match.group()),
        }
        for match in _BOT_COMMAND.finditer(text)
    ]


# --------------------------------------------------------------------------- the server

# Parameters PTB sends as plain strings; every other form value is JSON-decoded when it can be.
_STRING_PARAMS = frozenset(
    {
        "text", "caption", "query", "parse_mode", "callback_query_id", "inline_query_id",
        "inline_message_id", "url", "language_code", "next_offset", "action", "description",
        "short_description", "name", "title", "secret_token", "ip_address", "emoji",
        "business_connection_id", "message_effect_id", "switch_pm_text", "switch_pm_parameter",
    }
)  # fmt: skip
# Methods slowed by `delay`; those with a chat_id also fail for blocked chats.
_SEND_METHODS = frozenset(
    {
        "sendmessage", "editmessagetext", "editmessagereplymarkup", "senddocument",
        "sendphoto", "sendchataction", "deletemessage", "copymessage", "forwardmessage",
        "answercallbackquery", "answerinlinequery",
    }
)  # fmt: skip
_ADMIN_RIGHTS = (
    "can_manage_chat", "can_delete_messages", "can_manage_video_chats", "can_restrict_members",
    "can_promote_members", "can_change_info", "can_invite_users", "can_post_stories",
    "can_edit_stories", "can_delete_stories", "can_pin_messages",
)  # fmt: skip
_SUPERGROUP_IDS_BELOW = -1_000_000_000_000
_CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
        "upload_document", "choose_sticker", "find_location", "record_video_note",
        "upload_video_note",
    }
)  # fmt: skip


@dataclass(slots=True)
class _Fault:
    method: str
    status: int
    description: str
    times: int
    parameters: JSONDict | None
    chat_id: int | None


Handler = Callable[[JSONDict], Awaitable[Any]]

# Arrivals are kept this long past their window, for calls answered a little out of order.
_FLOOD_SLACK = 10.0
# Sends that Telegram's flood control counts, besides send* (but chat actions) and editMessage*.
_FLOOD_OTHER_METHODS = frozenset(
    {"copymessage", "copymessages", "forwardmessage", "forwardmessages"}
)


def _counts_for_flood(method: str) -> bool:
    name = method.lower()
    if name == "sendchataction":
        return False
    return name.startswith(("send", "editmessage")) or name in _FLOOD_OTHER_METHODS


@dataclass(frozen=True, slots=True)
class FloodLimit:
    """At most `count` accepted sends arriving in any rolling `period` seconds."""

    count: int
    period: float


def _fits(times: list[float], at: float, limit: FloodLimit) -> bool:
    """Return whether one more arrival at `at` keeps every rolling window within `limit`.

    `times` is sorted. The windows (end - period, end] that hold `at` end at `at` itself or at
    a later arrival less than a period after it (calls may be answered out of arrival order).
    """
    later = times[bisect.bisect_right(times, at) : bisect.bisect_left(times, at + limit.period)]
    for end in [at, *later]:
        inside = bisect.bisect_right(times, end) - bisect.bisect_right(times, end - limit.period)
        if inside + 1 > limit.count:
            return False
    return True


class _FloodControl:
    """Accepted send arrivals, overall and per chat, as Telegram's flood control counts them."""

    def __init__(
        self,
        *,
        overall: FloodLimit | None,
        private: FloodLimit | None,
        group: FloodLimit | None,
        retry_after: int,
    ) -> None:
        self.overall = overall
        self.private = private
        self.group = group
        self.retry_after = retry_after
        self._overall_times: list[float] = []
        self._chat_times: dict[int, list[float]] = {}

    def _windows(self, chat_id: int) -> list[tuple[list[float], FloodLimit]]:
        windows = []
        if self.overall is not None:
            windows.append((self._overall_times, self.overall))
        chat_limit = self.private if chat_id > 0 else self.group
        if chat_limit is not None:
            windows.append((self._chat_times.setdefault(chat_id, []), chat_limit))
        return windows

    def check(self, chat_id: int, at: float) -> None:
        """Raise Telegram's 429 if a send to `chat_id` arriving at `at` goes over a limit."""
        if not all(_fits(times, at, limit) for times, limit in self._windows(chat_id)):
            raise _ApiError(
                429,
                f"Too Many Requests: retry after {self.retry_after}",
                {"retry_after": self.retry_after},
            )

    def count(self, chat_id: int, at: float) -> None:
        """Count an accepted send to `chat_id` that arrived at `at`."""
        for times, limit in self._windows(chat_id):
            bisect.insort(times, at)
            del times[: bisect.bisect_left(times, times[-1] - limit.period - _FLOOD_SLACK)]


class FakeBotApi:
    """An in-process Telegram Bot API server bound to 127.0.0.1 on a free port."""

    def __init__(
        self,
        token: str = "123456:TEST-token",
        *,
        bot_username: str = "aseanbot_test",
        bot_id: int = 123456,
    ) -> None:
        self.token = token
        self.bot_username = bot_username
        self.bot_id = bot_id
        self.bot_first_name = "ASEAN Bot (test)"
        self.base_url = ""
        self.base_file_url = ""
        self.port = 0
        self.requests: list[ApiCall] = []
        self.sent: list[SentMessage] = []
        self.delay = 0.0
        self.sends_in_flight = 0  # sends that arrived and are held by `delay`
        # chat_id -> {user_id: "creator" | "administrator" | "member" | "left" | "kicked"}
        self.chat_admins: dict[int, dict[int, str]] = {}
        self.webhook_url = ""
        self._updates: list[JSONDict] = []
        self._next_update_id = 1
        self._next_message_id: dict[int, int] = {}
        self._messages: dict[tuple[int, int], JSONDict] = {}
        self._chats: dict[int, JSONDict] = {}
        self._users: dict[int, JSONDict] = {}
        self._usernames: dict[str, int] = {}
        self._callback_queries: dict[str, bool] = {}  # id -> answered
        self._inline_queries: dict[str, bool] = {}
        self._next_query_id = 1
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        self._faults: list[_Fault] = []
        self._blocked: dict[int, str] = {}
        self._flood: _FloodControl | None = None
        self.rejected_429 = 0  # every 429 answered: flood control's and injected ones
        self._mark = 0
        self._changed = asyncio.Event()
        self._stopping = False
        self._runner: web.AppRunner | None = None
        self._methods: dict[str, tuple[str, Handler]] = {}
        for name, handler in self._handlers().items():
            self._methods[name.lower()] = (name, handler)

    # ----------------------------------------------------------------- lifecycle

    async def start(self, port: int = 0) -> None:
        """Bind 127.0.0.1 (a free port unless one is given) and start answering."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_post("/_fake/message", self._manual_message)
        app.router.add_post("/_fake/callback", self._manual_callback)
        app.router.add_get("/_fake/sent", self._manual_sent)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        self.port = sock.getsockname()[1]
        # A short shutdown grace: a long poll still open at stop() is answered at once anyway.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        self._stopping = False
        self.base_url = f"http://127.0.0.1:{self.port}/bot"
        self.base_file_url = f"http://127.0.0.1:{self.port}/file/bot"

    async def stop(self) -> None:
        """End pending long polls and close the server; safe to call twice."""
        self._stopping = True
        self._notify()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    # ----------------------------------------------------------------- observing

    def calls(self, method: str) -> list[ApiCall]:
        """Return the answered calls of `method` (case-insensitive), oldest first."""
        wanted = method.lower()
        return [call for call in self.requests if call.method.lower() == wanted]

    def mark(self) -> None:
        """Make wait_for_messages count only messages sent from now on."""
        self._mark = len(self.sent)

    def message(self, chat_id: int, message_id: int) -> JSONDict | None:
        """Return the stored Message object (as Telegram would send it), if it exists."""
        return self._messages.get((chat_id, message_id))

    def my_commands(self, scope: JSONDict | None = None, language_code: str = "") -> list[JSONDict]:
        """Return the commands set for a scope and language (default scope, no language)."""
        return list(self._commands.get((_scope_key(scope), language_code), []))

    async def wait_for_calls(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - the fixture API tests were written against
    ) -> list[ApiCall]:
        """Wait until at least `count` calls of `method` were answered; return them all."""
        found = await self._wait(lambda: self.calls(method), count, timeout)
        if found is None:
            raise AssertionError(
                f"expected {count} {method} call(s) within {timeout}s, "
                f"got {len(self.calls(method))}\n{self._recent_calls()}"
            )
        return found

    async def wait_for_messages(
        self,
        count: int = 1,
        *,
        chat_id: int | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - the fixture API tests were written against
    ) -> list[SentMessage]:
        """Wait until `count` messages (sends and edits) went out since mark(); return them."""

        def since_mark() -> list[SentMessage]:
            new = self.sent[self._mark :]
            return [m for m in new if chat_id is None or m.chat_id == chat_id]

        found = await self._wait(since_mark, count, timeout)
        if found is None:
            where = "" if chat_id is None else f" to chat {chat_id}"
            raise AssertionError(
                f"expected {count} message(s){where} within {timeout}s, "
                f"got {len(since_mark())}\n{self._recent_calls()}"
            )
        return found

    async def _wait(
        self, collect: Callable[[], list[_T]], count: int, seconds: float
    ) -> list[_T] | None:
        deadline = asyncio.get_running_loop().time() + seconds
        while True:
            changed = self._changed
            found = collect()
            if len(found) >= count:
                return found
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return None
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    def _recent_calls(self, last: int = 15) -> str:
        lines = [f"last {min(last, len(self.requests))} of {len(self.requests)} call(s):"]
        for call in self.requests[-last:]:
            shown = {k: v for k, v in call.params.items() if k in ("chat_id", "text", "data")}
            text = f"  {call.method} -> {call.status} {shown}"
            lines.append(text if call.error is None else f"{text} ({call.error})")
        return "\n".join(lines)

    def _notify(self) -> None:
        # Waiters hold the old event; setting it wakes them, the new one serves later waits.
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    # ----------------------------------------------------------------- injecting updates

    def inject_update(self, update: JSONDict) -> int:
        """Queue an update for getUpdates; return the update_id it was given."""
        update_id = self._next_update_id
        self._next_update_id += 1
        message = update.get("message") or update.get("channel_post")
        if isinstance(message, dict) and "chat" in message and "message_id" in message:
            # Remember it so the bot can reply to it, and keep later ids in that chat larger.
            chat_id, message_id = message["chat"]["id"], message["message_id"]
            self._messages.setdefault((chat_id, message_id), message)
            next_id = max(self._next_message_id.get(chat_id, 1), message_id + 1)
            self._next_message_id[chat_id] = next_id
        self._updates.append({**update, "update_id": update_id})
        self._notify()
        return update_id

    def user_message(
        self,
        text: str,
        *,
        chat_id: int = 1001,
        user_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Ana",
        message_thread_id: int | None = None,
    ) -> int:
        """Queue a text message from a user, with the bot_command entities Telegram adds."""
        if user_id is None:
            user_id = chat_id if chat_type == "private" else 1001
        user = {"id": user_id, "is_bot": False, "first_name": first_name, "language_code": "en"}
        self._users[user_id] = user
        if chat_type == "private":
            chat: JSONDict = {"id": chat_id, "type": "private", "first_name": first_name}
        else:
            chat = {"id": chat_id, "type": chat_type, "title": f"Test {chat_type} {chat_id}"}
            if message_thread_id is not None:
                chat["is_forum"] = True
        self._chats[chat_id] = chat
        message: JSONDict = {
            "message_id": self._new_message_id(chat_id),
            "from": user,
            "chat": chat,
            "date": int(time.time()),
            "text": text,
        }
        entities = bot_command_entities(text)
        if entities:
            message["entities"] = entities
        if message_thread_id is not None:
            message["message_thread_id"] = message_thread_id
            message["is_topic_message"] = True
        self._messages[(chat_id, message["message_id"])] = message
        return self.inject_update({"message": message})

    def callback_press(
        self, data: str, *, message_id: int, chat_id: int = 1001, user_id: int | None = None
    ) -> int:
        """Queue a press on an inline button of the bot's message `message_id`.

        An unknown message id still gives an update: the fake then stores a stand-in bot
        message with that id (as for a message sent before the fake started).
        """
        if user_id is None:
            user_id = chat_id if chat_id > 0 else 1001
        message = self._messages.get((chat_id, message_id))
        if message is None:
            message = {
                "message_id": message_id,
                "from": self._bot_user(),
                "chat": self._chat(chat_id),
                "date": int(time.time()) - 3 * 86400,
                "text": "(an older message)",
            }
            self._messages[(chat_id, message_id)] = message
            self._next_message_id[chat_id] = max(
                self._next_message_id.get(chat_id, 1), message_id + 1
            )
        query_id = self._new_query_id()
        self._callback_queries[query_id] = False
        return self.inject_update(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self._user(user_id),
                    "message": message,
                    "chat_instance": str(abs(chat_id) * 7919 + 17),
                    "data": data,
                }
            }
        )

    def inline_query(self, query: str, *, user_id: int = 1001, offset: str = "") -> int:
        """Queue an inline query typed by a user."""
        query_id = self._new_query_id()
        self._inline_queries[query_id] = False
        return self.inject_update(
            {
                "inline_query": {
                    "id": query_id,
                    "from": self._user(user_id),
                    "query": query,
                    "offset": offset,
                    "chat_type": "sender",
                }
            }
        )

    # ----------------------------------------------------------------- fault injection

    def fail_next(
        self,
        method: str,
        *,
        status: int,
        description: str,
        times: int = 1,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        chat_id: int | None = None,
    ) -> None:
        """Answer the next `times` calls of `method` (to `chat_id` if given) with an error."""
        parameters: JSONDict = {}
        if retry_after is not None:
            parameters["retry_after"] = retry_after
        if migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = migrate_to_chat_id
        self._faults.append(
            _Fault(method.lower(), status, description, times, parameters or None, chat_id)
        )

    def block_chat(
        self, chat_id: int, description: str = "Forbidden: bot was blocked by the user"
    ) -> None:
        """Answer every send to `chat_id` with 403 and `description` until unblock_chat."""
        self._blocked[chat_id] = description

    def unblock_chat(self, chat_id: int) -> None:
        """Let sends to `chat_id` through again."""
        self._blocked.pop(chat_id, None)

    # ----------------------------------------------------------------- flood control

    def enforce_rate_limits(
        self,
        *,
        overall_per_second: int | None = 30,
        private_per_second: int | None = 1,
        group_per_minute: int | None = 20,
        retry_after: int = 1,
        group_window: float = 60.0,
    ) -> None:
        """Answer 429 to sends over Telegram's flood limits from now on (None lifts a limit).

        Accepted sends (send*, editMessage*, copyMessage, forwardMessage) are counted by
        arrival time: a send that would make more than `overall_per_second` in any rolling
        second, `private_per_second` to one private chat in a second, or `group_per_minute`
        to one group or channel in `group_window` seconds is answered 429 with `retry_after`
        and not counted. Counting starts afresh on each call.
        """
        self._flood = _FloodControl(
            overall=None if overall_per_second is None else FloodLimit(overall_per_second, 1.0),
            private=None if private_per_second is None else FloodLimit(private_per_second, 1.0),
            group=None if group_per_minute is None else FloodLimit(group_per_minute, group_window),
            retry_after=retry_after,
        )

    def disable_rate_limits(self) -> None:
        """Stop answering 429 for flood limits (the default)."""
        self._flood = None

    def _check_flood(self, method: str, params: JSONDict, at: float) -> int | None:
        """Answer 429 to a send over the flood limits; return the chat it counts for, if any."""
        if self._flood is None or not _counts_for_flood(method):
            return None
        if params.get("chat_id") in (None, ""):
            return None  # an inline message edit, or a call its handler refuses
        try:
            chat_id = self._resolve_chat(params.get("chat_id"))
        except _ApiError:
            return None  # the method's handler refuses the chat itself
        self._flood.check(chat_id, at)
        return chat_id

    def _count_flood(self, chat_id: int | None, at: float) -> None:
        if self._flood is not None and chat_id is not None:
            self._flood.count(chat_id, at)

    def _check_faults(self, method: str, params: JSONDict) -> None:
        chat_id = _as_int(params.get("chat_id"))
        for fault in self._faults:
            if fault.method == method and fault.chat_id in (None, chat_id) and fault.times > 0:
                fault.times -= 1
                self._faults = [f for f in self._faults if f.times > 0]
                raise _ApiError(fault.status, fault.description, fault.parameters)
        if method in _SEND_METHODS and chat_id is not None and chat_id in self._blocked:
            raise _ApiError(403, self._blocked[chat_id])

    # ----------------------------------------------------------------- HTTP

    async def _handle(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        method = request.match_info["method"]
        status, body = 200, {}
        params: JSONDict = {}
        try:
            params = await _read_params(request)
            if request.match_info["token"] != self.token:
                raise _ApiError(401, "Unauthorized")
            known = self._methods.get(method.lower())
            if known is None:
                raise _ApiError(404, "Not Found")
            method, handler = known
            if self.delay > 0 and method.lower() in _SEND_METHODS:
                self.sends_in_flight += 1
                try:
                    await asyncio.sleep(self.delay)
                finally:
                    self.sends_in_flight -= 1
            flood_chat = self._check_flood(method, params, arrived)
            self._check_faults(method.lower(), params)
            body = {"ok": True, "result": await handler(params)}
            # Send handlers never await, so no other send is admitted between check and count.
            self._count_flood(flood_chat, arrived)
        except _ApiError as exc:
            status = exc.status
            body = {"ok": False, "error_code": exc.status, "description": exc.description}
            if exc.parameters:
                body["parameters"] = exc.parameters
        except Exception:
            # A bug in the fake: answer 500 and record it, so the test's listing shows it.
            logger.exception("fake Bot API failed on %s", method)
            status = 500
            body = {"ok": False, "error_code": 500, "description": "Internal Server Error"}
        error = None if status == 200 else body["description"]
        if status == 429:
            self.rejected_429 += 1
        self.requests.append(ApiCall(method, params, arrived, status, error))
        logger.info(
            "%s chat=%s text=%.60r -> %d%s",
            method,
            params.get("chat_id", "-"),
            params.get("text", ""),
            status,
            "" if error is None else f" {error}",
        )
        self._notify()
        return web.json_response(body, status=status)

    async def _manual_message(self, request: web.Request) -> web.Response:
        payload = await request.json()
        update_id = self.user_message(
            str(payload["text"]), chat_id=int(payload.get("chat_id", 1001))
        )
        return web.json_response({"update_id": update_id})

    async def _manual_callback(self, request: web.Request) -> web.Response:
        payload = await request.json()
        update_id = self.callback_press(
            str(payload["data"]),
            message_id=int(payload["message_id"]),
            chat_id=int(payload.get("chat_id", 1001)),
        )
        return web.json_response({"update_id": update_id})

    async def _manual_sent(self, request: web.Request) -> web.Response:
        return web.json_response([dataclasses.asdict(m) for m in self.sent])

    # ----------------------------------------------------------------- objects

    def _bot_user(self) -> JSONDict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def _user(self, user_id: int) -> JSONDict:
        return self._users.setdefault(
            user_id, {"id": user_id, "is_bot": False, "first_name": "Ana", "language_code": "en"}
        )

    def _chat(self, chat_id: int) -> JSONDict:
        if chat_id in self._chats:
            return self._chats[chat_id]
        if chat_id > 0:
            first_name = self._users.get(chat_id, {}).get("first_name", "Ana")
            return {"id": chat_id, "type": "private", "first_name": first_name}
        kind = "supergroup" if chat_id < _SUPERGROUP_IDS_BELOW else "group"
        return {"id": chat_id, "type": kind, "title": f"Test {kind} {chat_id}"}

    def _resolve_chat(self, value: Any) -> int:
        if value is None or value == "":
            raise _bad("chat_id is empty")
        number = _as_int(value)
        if number is not None:
            return number
        if isinstance(value, str) and value.startswith("@") and len(value) > 1:
            if value not in self._usernames:
                chat_id = _SUPERGROUP_IDS_BELOW - 1 - len(self._usernames)
                self._usernames[value] = chat_id
                self._chats[chat_id] = {"id": chat_id, "type": "channel", "title": value[1:]}
            return self._usernames[value]
        raise _bad("chat not found")

    def _new_message_id(self, chat_id: int) -> int:
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _new_query_id(self) -> str:
        query_id = str(4_000_000_000_000_000 + self._next_query_id)
        self._next_query_id += 1
        return query_id

    def _member(self, chat_id: int, user_id: int) -> JSONDict:
        status = self.chat_admins.get(chat_id, {}).get(user_id)
        if status is None:
            status = "creator" if chat_id == user_id else "member"
        user = self._bot_user() if user_id == self.bot_id else self._user(user_id)
        member: JSONDict = {"status": status, "user": user}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(can_be_edited=False, is_anonymous=False)
            member.update(dict.fromkeys(_ADMIN_RIGHTS, True))
        elif status == "kicked":
            member["until_date"] = 0
        return member

    # ----------------------------------------------------------------- methods

    def _handlers(self) -> dict[str, Handler]:
        return {
            "getMe": self._get_me,
            "logOut": self._true,
            "close": self._true,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setMyDescription": self._true,
            "setMyShortDescription": self._true,
            "setChatMenuButton": self._true,
            "sendMessage": self._send_message,
            "sendDocument": self._send_document,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "sendChatAction": self._send_chat_action,
            "answerCallbackQuery": self._answer_callback_query,
            "answerInlineQuery": self._answer_inline_query,
            "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getChatAdministrators": self._get_chat_administrators,
        }

    async def _true(self, params: JSONDict) -> bool:
        return True

    async def _get_me(self, params: JSONDict) -> JSONDict:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": True,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        if self.webhook_url:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = _as_int(params.get("offset")) or 0
        limit = min(max(_as_int(params.get("limit")) or 100, 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        allowed = params.get("allowed_updates") or None
        # A positive offset confirms (forgets) every update before it; a negative one keeps
        # only the last -offset updates.
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            changed = self._changed
            batch = [
                u for u in self._updates if allowed is None or any(kind in u for kind in allowed)
            ][:limit]
            remaining = deadline - asyncio.get_running_loop().time()
            if batch or self._stopping or remaining <= 0:
                return batch
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    async def _set_webhook(self, params: JSONDict) -> bool:
        self.webhook_url = str(params.get("url") or "")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _delete_webhook(self, params: JSONDict) -> bool:
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, params: JSONDict) -> JSONDict:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    async def _set_my_commands(self, params: JSONDict) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or "command" not in command:
                raise _bad("can't parse BotCommand: Can't find field \"command\"")
            if "description" not in command:
                raise _bad("can't parse BotCommand: Can't find field \"description\"")
            if not _COMMAND_NAME.match(str(command["command"])):
                raise _bad("BOT_COMMAND_INVALID")
            description = str(command["description"])
            if not description.strip():
                raise _bad("command description must be non-empty")
            if len(description) > COMMAND_DESCRIPTION_LIMIT:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        key = (_scope_key(params.get("scope")), str(params.get("language_code") or ""))
        self._commands[key] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    async def _get_my_commands(self, params: JSONDict) -> list[JSONDict]:
        return self.my_commands(params.get("scope"), str(params.get("language_code") or ""))

    async def _delete_my_commands(self, params: JSONDict) -> bool:
        key = (_scope_key(params.get("scope")), str(params.get("language_code") or ""))
        self._commands.pop(key, None)
        return True

    async def _send_message(self, params: JSONDict) -> JSONDict:
        chat_id = self._resolve_chat(params.get("chat_id"))
        plain, entities, markup = check_message(params)
        thread_id = _as_int(params.get("message_thread_id"))
        preview = params.get("link_preview_options")
        preview = preview if isinstance(preview, dict) else None
        message: JSONDict = {
            "message_id": self._new_message_id(chat_id),
            "from": self._bot_user(),
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            "text": plain,
        }
        if thread_id is not None:
            message.update(message_thread_id=thread_id, is_topic_message=True)
        reply_to = self._reply_target(chat_id, params)
        _set_optional(
            message,
            reply_to_message=reply_to,
            entities=entities,
            reply_markup=markup,
            link_preview_options=preview,
        )
        self._messages[(chat_id, message["message_id"])] = message
        self._record_sent(message, params, "sendMessage", edited=False)
        return message

    async def _send_document(self, params: JSONDict) -> JSONDict:
        chat_id = self._resolve_chat(params.get("chat_id"))
        document = params.get("document")
        if document is None or document == "":
            raise _bad("there is no document in the request")
        caption, entities = "", list[JSONDict]()
        if params.get("caption"):
            caption, entities = _render_text(
                params["caption"],
                params.get("parse_mode"),
                params.get("caption_entities"),
                limit=CAPTION_LIMIT,
                too_long="message caption is too long",
            )
        markup = _check_reply_markup(params.get("reply_markup"))
        message_id = self._new_message_id(chat_id)
        file_info: JSONDict = {
            "file_id": f"fake-document-{chat_id}-{message_id}",
            "file_unique_id": f"fake-unique-{chat_id}-{message_id}",
        }
        if isinstance(document, dict):
            file_info.update(file_name=document["filename"], file_size=document["size"])
            if document.get("content_type"):
                file_info["mime_type"] = document["content_type"]
        message: JSONDict = {
            "message_id": message_id,
            "from": self._bot_user(),
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            "document": file_info,
        }
        _set_optional(message, caption=caption, caption_entities=entities, reply_markup=markup)
        self._messages[(chat_id, message_id)] = message
        return message

    def _reply_target(self, chat_id: int, params: JSONDict) -> JSONDict | None:
        """Return the message a send replies to, refusing a missing one like Telegram."""
        reply = params.get("reply_parameters")
        if not isinstance(reply, dict):
            legacy = _as_int(params.get("reply_to_message_id"))
            reply = {"message_id": legacy} if legacy is not None else None
        if reply is None:
            return None
        target_chat = self._resolve_chat(reply.get("chat_id", chat_id))
        target = self._messages.get((target_chat, _as_int(reply.get("message_id")) or 0))
        if target is None and not reply.get("allow_sending_without_reply"):
            raise _bad("message to be replied not found")
        # Telegram does not nest replies: the replied-to message comes without its own.
        return (
            None if target is None else {k: v for k, v in target.items() if k != "reply_to_message"}
        )

    def _message_to_edit(self, params: JSONDict) -> tuple[int, JSONDict] | None:
        """Find the message an edit targets; None for inline messages."""
        if params.get("inline_message_id"):
            return None
        chat_id = self._resolve_chat(params.get("chat_id"))
        message_id = _as_int(params.get("message_id"))
        if message_id is None:
            raise _bad("message identifier is not specified")
        message = self._messages.get((chat_id, message_id))
        if message is None:
            raise _bad("message to edit not found")
        if message["from"]["id"] != self.bot_id:
            raise _bad("message can't be edited")
        return chat_id, message

    async def _edit_message_text(self, params: JSONDict) -> JSONDict | bool:
        target = self._message_to_edit(params)
        # Like Telegram, an edit without reply_markup removes the inline keyboard.
        plain, entities, markup = check_message(params)
        if target is None:
            return True
        chat_id, old = target
        if "text" not in old:
            raise _bad("there is no text in the message to edit")
        if (
            old["text"] == plain
            and old.get("entities", []) == entities
            and old.get("reply_markup") == markup
        ):
            raise _bad(NOT_MODIFIED[len("Bad Request: ") :])
        preview = params.get("link_preview_options")
        message = {
            k: v for k, v in old.items() if k not in ("entities", "reply_markup", "edit_date")
        }
        message.update(text=plain, edit_date=int(time.time()))
        _set_optional(
            message,
            entities=entities,
            reply_markup=markup,
            link_preview_options=preview if isinstance(preview, dict) else None,
        )
        self._messages[(chat_id, message["message_id"])] = message
        self._record_sent(message, params, "editMessageText", edited=True)
        return message

    async def _edit_message_reply_markup(self, params: JSONDict) -> JSONDict | bool:
        target = self._message_to_edit(params)
        markup = _check_reply_markup(params.get("reply_markup"))
        if target is None:
            return True
        chat_id, old = target
        if old.get("reply_markup") == markup:
            raise _bad(NOT_MODIFIED[len("Bad Request: ") :])
        message = {k: v for k, v in old.items() if k != "reply_markup"}
        message["edit_date"] = int(time.time())
        _set_optional(message, reply_markup=markup)
        self._messages[(chat_id, message["message_id"])] = message
        return message

    async def _delete_message(self, params: JSONDict) -> bool:
        chat_id = self._resolve_chat(params.get("chat_id"))
        message_id = _as_int(params.get("message_id"))
        if self._messages.pop((chat_id, message_id or 0), None) is None:
            raise _bad("message to delete not found")
        return True

    async def _send_chat_action(self, params: JSONDict) -> bool:
        self._resolve_chat(params.get("chat_id"))
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    async def _answer_callback_query(self, params: JSONDict) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if self._callback_queries.get(query_id, True):
            raise _bad(QUERY_INVALID[len("Bad Request: ") :])
        if utf16_len(str(params.get("text") or "")) > CALLBACK_ANSWER_LIMIT:
            raise _bad("MESSAGE_TOO_LONG")
        self._callback_queries[query_id] = True
        return True

    async def _answer_inline_query(self, params: JSONDict) -> bool:
        query_id = str(params.get("inline_query_id") or "")
        if self._inline_queries.get(query_id, True):
            raise _bad(QUERY_INVALID[len("Bad Request: ") :])
        results = params.get("results")
        if not isinstance(results, list):
            raise _bad("can't parse inline query results JSON object")
        if len(results) > INLINE_RESULTS_LIMIT:
            raise _bad("RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for result in results:
            _check_inline_result(result, seen)
        if len(str(params.get("next_offset") or "").encode()) > 64:
            raise _bad("NEXT_OFFSET_INVALID")
        self._inline_queries[query_id] = True
        return True

    async def _get_chat(self, params: JSONDict) -> JSONDict:
        chat_id = self._resolve_chat(params.get("chat_id"))
        gifts = dict.fromkeys(
            (
                "unlimited_gifts",
                "limited_gifts",
                "unique_gifts",
                "premium_subscription",
                "gifts_from_channels",
            ),
            False,
        )
        return {
            **self._chat(chat_id),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": gifts,
        }

    async def _get_chat_member(self, params: JSONDict) -> JSONDict:
        chat_id = self._resolve_chat(params.get("chat_id"))
        user_id = _as_int(params.get("user_id"))
        if user_id is None:
            raise _bad("user_id is empty")
        return self._member(chat_id, user_id)

    async def _get_chat_administrators(self, params: JSONDict) -> list[JSONDict]:
        chat_id = self._resolve_chat(params.get("chat_id"))
        if self._chat(chat_id)["type"] == "private":
            raise _bad("there are no administrators in the private chat")
        return [
            self._member(chat_id, user_id)
            for user_id, status in self.chat_admins.get(chat_id, {}).items()
            if status in ("creator", "administrator")
        ]

    def _record_sent(
        self, message: JSONDict, params: JSONDict, method: str, *, edited: bool
    ) -> None:
        parse_mode = params.get("parse_mode")
        self.sent.append(
            SentMessage(
                chat_id=message["chat"]["id"],
                message_id=message["message_id"],
                text=message["text"],
                html=str(params.get("text")),
                parse_mode=str(parse_mode) if parse_mode else None,
                entities=list(message.get("entities", [])),
                reply_markup=message.get("reply_markup"),
                link_preview_options=message.get("link_preview_options"),
                message_thread_id=message.get("message_thread_id"),
                edited=edited,
                method=method,
            )
        )


def _check_inline_result(result: Any, seen: set[str]) -> None:
    if not isinstance(result, dict) or "type" not in result:
        raise _bad("can't parse inline query result: Can't find field \"type\"")
    if "id" not in result:
        raise _bad("can't parse inline query result: Can't find field \"id\"")
    result_id = str(result["id"])
    if not 1 <= len(result_id.encode()) <= INLINE_RESULT_ID_LIMIT:
        raise _bad("RESULT_ID_INVALID")
    if result_id in seen:
        raise _bad("RESULT_ID_DUPLICATE")
    seen.add(result_id)
    _check_reply_markup(result.get("reply_markup"))
    if result["type"] != "article":
        return
    if not result.get("title"):
        raise _bad("can't parse inline query result: Can't find field \"title\"")
    content = result.get("input_message_content")
    if not isinstance(content, dict):
        raise _bad("can't parse inline query result: Can't find field \"input_message_content\"")
    if "message_text" in content:
        _render_text(
            content.get("message_text"),
            content.get("parse_mode"),
            content.get("entities"),
            limit=MESSAGE_LIMIT,
            too_long="message is too long",
        )


# --------------------------------------------------------------------------- helpers


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    return None


def _scope_key(scope: Any) -> str:
    return json.dumps(scope or {"type": "default"}, sort_keys=True)


def _set_optional(message: JSONDict, **fields: Any) -> None:
    """Add the fields that have a value; Telegram omits empty ones."""
    message.update({key: value for key, value in fields.items() if value})


def _decode_form_value(name: str, value: str) -> Any:
    if name in _STRING_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


async def _read_params(request: web.Request) -> JSONDict:
    """Collect parameters from the query string and a form, multipart or JSON body."""
    params: JSONDict = {k: _decode_form_value(k, v) for k, v in request.query.items()}
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError as exc:
            raise _bad("can't parse JSON encoded request") from exc
        if isinstance(body, dict):
            params.update(body)
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        for name, value in form.items():
            if isinstance(value, web.FileField):
                content = value.file.read()
                params[name] = {
                    "filename": value.filename,
                    "content_type": value.content_type,
                    "size": len(content),
                    "content": content,
                }
            else:
                params[name] = _decode_form_value(name, str(value))
    return params


def check_message(params: JSONDict) -> tuple[str, list[JSONDict], JSONDict | None]:
    """Check a sendMessage's text, parse mode and keyboard as Telegram does.

    Returns the plain text, its entities and the keyboard; raises _ApiError (400) otherwise.
    """
    plain, entities = _render_text(
        params.get("text"),
        params.get("parse_mode"),
        params.get("entities"),
        limit=MESSAGE_LIMIT,
        too_long="message is too long",
    )
    return plain, entities, _check_reply_markup(params.get("reply_markup"))


# --------------------------------------------------------------------------- standalone


async def _serve(port: int, token: str) -> None:
    fake = FakeBotApi(token)
    await fake.start(port=port)
    logger.info("fake Bot API at %s<token> (files %s)", fake.base_url, fake.base_file_url)
    logger.info("POST /_fake/message {text, chat_id} injects a message; GET /_fake/sent lists")
    try:
        await asyncio.Event().wait()
    finally:
        await fake.stop()


def main(argv: list[str] | None = None) -> None:
    """Run the fake server until interrupted."""
    parser = argparse.ArgumentParser(description="Fake Telegram Bot API for manual trials")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123456:TEST-token")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.port, args.token))


if __name__ == "__main__":
    main()
