"""Search: /search <words>, plain text in private chats, and inline mode (@bot words)."""

from __future__ import annotations

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Update,
)

from aseanbot.constants import INLINE_PAGE_SIZE, SEARCH_TEXT_LIMIT
from aseanbot.formatting import render
from aseanbot.formatting.split import split_message
from aseanbot.handlers import views
from aseanbot.handlers.arguments import argument_text, is_ascii_number
from aseanbot.handlers.replies import reply_view
from aseanbot.i18n import t, t_plain
from aseanbot.models import Item
from aseanbot.services import AppContext

_MAX_INLINE_OFFSET = 1000


async def cmd_search(update: Update, context: AppContext) -> None:
    """Search every item: /search <words>."""
    text = argument_text(context)
    if not text:
        await reply_view(update, views.View([t("search.usage")]))
        return
    await _search(update, context, text)


async def msg_search(update: Update, context: AppContext) -> None:
    """Treat plain text in a private chat as a search."""
    message = update.effective_message
    if message is None or not message.text:
        return
    await _search(update, context, message.text[:SEARCH_TEXT_LIMIT])


async def _search(update: Update, context: AppContext, text: str) -> None:
    view = await views.search_view(context.services, text, 0)
    if not view.keyboard and _no_words(view):
        view = views.View([t("search.no_words")])
    await reply_view(update, view)


def _no_words(view: views.View) -> bool:
    # render_search shows “” as the query when the text held no searchable word.
    return len(view.blocks) == 1 and "“”" in view.blocks[0]


async def inline_search(update: Update, context: AppContext) -> None:
    """Answer @bot <words> with shareable item cards; no words → the latest items."""
    inline_query = update.inline_query
    if inline_query is None:
        return
    text = inline_query.query[:SEARCH_TEXT_LIMIT]
    offset = int(inline_query.offset) if is_ascii_number(inline_query.offset) else 0
    offset = min(offset, _MAX_INLINE_OFFSET)
    store = context.services.opened_store
    if text.strip():
        result = await store.search_items(text, limit=INLINE_PAGE_SIZE, offset=offset)
        items = [hit.item for hit in result.hits]
        total = result.total
    else:
        page = await store.latest_items(offset + INLINE_PAGE_SIZE)
        items = list(page[offset:])
        total = offset + len(items)  # no further pages of "latest" beyond this
    results = [await _article(context, item) for item in items]
    if not results and offset == 0:
        shown = text.strip()[:60]
        results = [
            InlineQueryResultArticle(
                id="nothing",
                title=t_plain("inline.nothing_title", query=shown),
                input_message_content=InputTextMessageContent(
                    t("inline.nothing_text", query=shown)
                ),
            )
        ]
    more = offset + len(items) < total
    await inline_query.answer(
        results,
        cache_time=60,
        is_personal=False,
        next_offset=str(offset + len(items)) if more else "",
    )


async def _article(context: AppContext, item: Item) -> InlineQueryResultArticle:
    view = await views.card_view(context.services, item)
    # An inline result is one message: the card's first part (cards rarely need a second).
    text = split_message(view.blocks)[0]
    return InlineQueryResultArticle(
        id=item.id,
        title=item.title[:200],
        description=render.render_inline_description(item),
        input_message_content=InputTextMessageContent(text),
        reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton(t_plain("button.source"), url=item.sources[0])]]
        ),
    )
