"""Callback data for inline buttons: small typed actions, encoded in at most 64 bytes.

Anything can arrive as callback data (old buttons, other clients, forged payloads), so decoding
is strict and raises CallbackDataError for whatever we did not write.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aseanbot.constants import CALLBACK_DATA_LIMIT
from aseanbot.models import ITEM_KINDS, ItemQuery

ITEM_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,57}$")
_CODE = re.compile(r"^[A-Za-z0-9-]{1,32}$")
_MAX_PAGE = 10_000
MENUS = ("latest", "topics", "countries", "events", "initiatives", "help")


class CallbackDataError(ValueError):
    """Callback data this bot did not produce (or no longer understands)."""


@dataclass(frozen=True, slots=True)
class OpenItem:
    item_id: str


@dataclass(frozen=True, slots=True)
class ListPage:
    query: ItemQuery
    page: int


@dataclass(frozen=True, slots=True)
class SearchPage:
    text: str
    page: int


@dataclass(frozen=True, slots=True)
class Menu:
    name: str


@dataclass(frozen=True, slots=True)
class SettingsAction:
    """A press in the /settings message (or a digest's footer): a screen, or a change on one.

    screen: main | topics | topic | countries | country | frequency | weekday | time | zone |
    empty | unsubscribe | subscribe | close; value: what the change sets or toggles.
    """

    screen: str
    value: str = ""


SETTINGS_SCREENS = (
    "main",
    "topics",
    "topic",
    "countries",
    "country",
    "frequency",
    "weekday",
    "time",
    "zone",
    "empty",
    "unsubscribe",
    "subscribe",
    "close",
)
_SETTINGS_VALUE = re.compile(r"^[A-Za-z0-9_:+/-]{0,48}$")


@dataclass(frozen=True, slots=True)
class AdminAction:
    """A press on an operator's message: send or cancel the broadcast draft `token`."""

    action: str
    token: str


ADMIN_ACTIONS = ("send", "cancel")
ADMIN_TOKEN = re.compile(r"[A-Za-z0-9_-]{8,24}")

CallbackAction = OpenItem | ListPage | SearchPage | Menu | SettingsAction | AdminAction

_QUERY_KEYS = {"k": "kind", "t": "topic", "c": "country", "p": "partner", "y": "year"}


def encode(action: CallbackAction) -> str | None:
    """Encode an action; None when it does not fit Telegram's 64-byte limit."""
    match action:
        case OpenItem(item_id):
            data = f"o|{item_id}"
        case ListPage(query, page):
            parts = [
                f"{key}={getattr(query, name)}"
                for key, name in _QUERY_KEYS.items()
                if getattr(query, name) is not None
            ]
            data = f"l|{page}|{';'.join(parts)}"
        case SearchPage(text, page):
            data = f"s|{page}|{text}"
        case Menu(name):
            data = f"m|{name}"
        case SettingsAction(screen, value):
            data = f"st|{screen}|{value}"
        case AdminAction(verb, token):
            data = f"ad|{verb}|{token}"
    if len(data.encode("utf-8")) > CALLBACK_DATA_LIMIT:
        return None
    return data


def decode(data: str | None) -> CallbackAction:
    """Decode callback data written by `encode`, or raise CallbackDataError."""
    if not data or len(data.encode("utf-8")) > CALLBACK_DATA_LIMIT:
        raise CallbackDataError("empty or oversized callback data")
    tag, _, rest = data.partition("|")
    if tag == "o" and ITEM_ID.match(rest):
        return OpenItem(rest)
    if tag == "m" and rest in MENUS:
        return Menu(rest)
    if tag == "st":
        screen, separator, value = rest.partition("|")
        if separator and screen in SETTINGS_SCREENS and _SETTINGS_VALUE.match(value):
            return SettingsAction(screen, value)
        raise CallbackDataError("bad settings action")
    if tag == "ad":
        action, separator, token = rest.partition("|")
        if separator and action in ADMIN_ACTIONS and ADMIN_TOKEN.fullmatch(token):
            return AdminAction(action, token)
        raise CallbackDataError("bad admin action")
    if tag in ("l", "s"):
        page_text, separator, payload = rest.partition("|")
        if not separator or not _is_number(page_text) or int(page_text) >= _MAX_PAGE:
            raise CallbackDataError("bad page")
        if tag == "s":
            if not payload.strip():
                raise CallbackDataError("empty search")
            return SearchPage(payload, int(page_text))
        return ListPage(_decode_query(payload), int(page_text))
    raise CallbackDataError("unknown callback data")


def _decode_query(payload: str) -> ItemQuery:
    values: dict[str, object] = {}
    for part in filter(None, payload.split(";")):
        key, separator, value = part.partition("=")
        name = _QUERY_KEYS.get(key)
        if not separator or name is None or name in values or not _CODE.match(value):
            raise CallbackDataError("bad list filter")
        if name == "year":
            if not _is_number(value):
                raise CallbackDataError("bad year")
            values[name] = int(value)
        elif name == "kind":
            if value not in ITEM_KINDS:
                raise CallbackDataError("bad kind")
            values[name] = value
        else:
            values[name] = value
    return ItemQuery(**values)  # type: ignore[arg-type]


def _is_number(text: str) -> bool:
    # ASCII digits only: str.isdigit() accepts "²", which int() refuses.
    return text.isascii() and text.isdigit()
