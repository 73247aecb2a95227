"""Views: fetch what a reply needs from the store and render it (text blocks + keyboard).

Commands, buttons, inline mode and the console all show the same views, so a reply looks the
same however it was asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import InlineKeyboardMarkup

from aseanbot import __version__
from aseanbot.callbacks import SearchPage, encode
from aseanbot.constants import PAGE_SIZE, RELATED_LIMIT, SEARCH_PAGE_SIZE
from aseanbot.formatting import keyboards, render
from aseanbot.i18n import t
from aseanbot.models import Item, ItemQuery
from aseanbot.services import Services


@dataclass(frozen=True, slots=True)
class View:
    blocks: list[str]
    keyboard: InlineKeyboardMarkup | None = None


def welcome_view(first_name: str | None) -> View:
    return View(render.render_welcome(first_name), keyboards.start_keyboard())


def help_view(bot_username: str) -> View:
    return View(render.render_help(bot_username))


async def latest_view(services: Services, count: int) -> View:
    items = await services.opened_store.latest_items(count)
    if not items:
        return View(render.render_item_page_empty_store())
    return View(render.render_latest(items), keyboards.latest_keyboard(items))


async def list_view(services: Services, query: ItemQuery, page: int) -> View:
    page_data = await services.opened_store.query_items(
        query, offset=page * PAGE_SIZE, limit=PAGE_SIZE
    )
    if not page_data.items and page > 0 and page_data.total:
        # A page that no longer exists (the list shrank): show the last one instead.
        last_page = (page_data.total - 1) // PAGE_SIZE
        page_data = await services.opened_store.query_items(
            query, offset=last_page * PAGE_SIZE, limit=PAGE_SIZE
        )
    blocks = render.render_item_page(page_data, query, services.catalog)
    return View(blocks, keyboards.list_keyboard(page_data, query))


async def card_view(services: Services, item: Item) -> View:
    related = await services.opened_store.related_items(item, RELATED_LIMIT)
    return View(
        render.render_card(item, related, services.catalog),
        keyboards.card_keyboard(item, related, services.catalog),
    )


async def search_view(services: Services, text: str, page: int) -> View:
    offset = page * SEARCH_PAGE_SIZE
    store = services.opened_store
    result = await store.search_items(text, limit=SEARCH_PAGE_SIZE, offset=offset)
    if not result.hits and offset and result.total:
        offset = ((result.total - 1) // SEARCH_PAGE_SIZE) * SEARCH_PAGE_SIZE
        result = await store.search_items(text, limit=SEARCH_PAGE_SIZE, offset=offset)
    blocks = render.render_search(result, text, offset)
    terms = " ".join(result.terms)
    more = offset + len(result.hits) < result.total
    if more and encode(SearchPage(terms, page + 1)) is None:
        # Too long a query to carry in a button: say so instead of offering a dead "Next".
        blocks.append(t("search.refine", shown=offset + len(result.hits)))
    keyboard = keyboards.search_keyboard(
        [hit.item for hit in result.hits],
        terms,
        offset=offset,
        total=result.total,
        page_size=SEARCH_PAGE_SIZE,
    )
    return View(blocks, keyboard)


async def topics_view(services: Services) -> View:
    counts = await services.opened_store.topic_counts()
    return View(render.render_topics(counts), keyboards.topics_keyboard(counts))


async def countries_view(services: Services) -> View:
    counts = await services.opened_store.country_counts()
    return View(render.render_countries(counts), keyboards.countries_keyboard(counts))


async def about_view(services: Services) -> View:
    summary = await services.opened_store.summary()
    return View(render.render_about(summary, __version__))
