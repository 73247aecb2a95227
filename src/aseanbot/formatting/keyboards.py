"""Inline keyboards for every reply. Pure: values in, InlineKeyboardMarkup out."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from aseanbot.callbacks import CallbackAction, ListPage, Menu, OpenItem, SearchPage, encode
from aseanbot.catalog import Catalog
from aseanbot.formatting.html import truncate
from aseanbot.i18n import t_plain as t
from aseanbot.models import CountryCount, Item, ItemPage, ItemQuery, TopicCount

BUTTON_TEXT_LIMIT = 40


def _button(text: str, action: CallbackAction) -> InlineKeyboardButton | None:
    data = encode(action)
    if data is None:
        return None
    return InlineKeyboardButton(truncate(text, BUTTON_TEXT_LIMIT), callback_data=data)


def _rows(
    buttons: Sequence[InlineKeyboardButton | None], width: int
) -> list[list[InlineKeyboardButton]]:
    present = [b for b in buttons if b is not None]
    return [present[i : i + width] for i in range(0, len(present), width)]


def _markup(rows: list[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup | None:
    rows = [row for row in rows if row]
    return InlineKeyboardMarkup(rows) if rows else None


def start_keyboard() -> InlineKeyboardMarkup:
    rows = _rows(
        [
            _button(t("button.latest"), Menu("latest")),
            _button(t("button.topics"), Menu("topics")),
            _button(t("button.events"), Menu("events")),
            _button(t("button.initiatives"), Menu("initiatives")),
            _button(t("button.countries"), Menu("countries")),
            _button(t("button.help"), Menu("help")),
        ],
        2,
    )
    return InlineKeyboardMarkup(rows)


def open_buttons(items: Sequence[Item], first_number: int) -> list[list[InlineKeyboardButton]]:
    """A row of numbered buttons, one per listed item, that open its card."""
    return _rows(
        [
            _button(t("button.open", number=number), OpenItem(item.id))
            for number, item in enumerate(items, first_number)
        ],
        5,
    )


def latest_keyboard(items: Sequence[Item]) -> InlineKeyboardMarkup | None:
    return _markup(open_buttons(items, 1))


def list_keyboard(page: ItemPage, query: ItemQuery) -> InlineKeyboardMarkup | None:
    page_number = page.offset // page.limit
    rows = open_buttons(page.items, page.offset + 1)
    navigation = []
    if page_number > 0:
        navigation.append(_button(t("button.prev"), ListPage(query, page_number - 1)))
    if page.offset + len(page.items) < page.total:
        navigation.append(_button(t("button.next"), ListPage(query, page_number + 1)))
    rows += _rows(navigation, 2)
    return _markup(rows)


def search_keyboard(
    hits: Sequence[Item], text: str, *, offset: int, total: int, page_size: int
) -> InlineKeyboardMarkup | None:
    page_number = offset // page_size
    rows = open_buttons(hits, offset + 1)
    navigation = []
    if page_number > 0:
        navigation.append(_button(t("button.prev"), SearchPage(text, page_number - 1)))
    if offset + len(hits) < total:
        navigation.append(_button(t("button.next"), SearchPage(text, page_number + 1)))
    rows += _rows(navigation, 2)
    return _markup(rows)


def card_keyboard(item: Item, related: Sequence[Item], catalog: Catalog) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = [
        [
            InlineKeyboardButton(t("button.source"), url=item.sources[0]),
            InlineKeyboardButton(t("button.share"), switch_inline_query=item.id),
        ]
    ]
    rows += _rows([_button("→ " + r.title, OpenItem(r.id)) for r in related], 1)
    if item.topics:
        topic = item.topics[0]
        more = _button(
            t("button.more_topic", topic=catalog.topic_name(topic)),
            ListPage(ItemQuery(topic=topic), 0),
        )
        rows += _rows([more], 1)
    return InlineKeyboardMarkup(rows)


def topics_keyboard(counts: Sequence[TopicCount]) -> InlineKeyboardMarkup | None:
    return _markup(
        _rows(
            [
                _button(f"{c.topic.name} ({c.items})", ListPage(ItemQuery(topic=c.topic.slug), 0))
                for c in counts
            ],
            2,
        )
    )


def countries_keyboard(counts: Sequence[CountryCount]) -> InlineKeyboardMarkup | None:
    return _markup(
        _rows(
            [
                _button(
                    f"{c.country.name} ({c.items})", ListPage(ItemQuery(country=c.country.code), 0)
                )
                for c in counts
                if c.items
            ],
            2,
        )
    )
