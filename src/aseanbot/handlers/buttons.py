"""Inline-button presses: items, pages, menus, settings, and operators' broadcast previews."""

from __future__ import annotations

import logging

from telegram import Update

from aseanbot.callbacks import (
    AdminAction,
    CallbackDataError,
    ListPage,
    Menu,
    OpenItem,
    SearchPage,
    SettingsAction,
    decode,
)
from aseanbot.constants import LATEST_DEFAULT
from aseanbot.handlers import admin, settings, views
from aseanbot.handlers.cards import send_item_card
from aseanbot.handlers.replies import edit_view, reply_view
from aseanbot.i18n import t_plain
from aseanbot.models import ItemQuery
from aseanbot.services import AppContext

logger = logging.getLogger(__name__)


async def cb_action(update: Update, context: AppContext) -> None:
    """Dispatch a button press; stale or forged data gets a polite answer, never an error."""
    query = update.callback_query
    if query is None:
        return
    try:
        action = decode(query.data)
    except CallbackDataError:
        logger.info("Ignored unknown callback data from user %s", query.from_user.id)
        await query.answer(t_plain("callback.stale"))
        return
    services = context.services
    match action:
        case OpenItem(item_id):
            await query.answer()
            if not await send_item_card(update, context, item_id, kind=None):
                await reply_view(update, views.View([t_plain("callback.gone")]))
        case ListPage(item_query, page):
            if not _known_references(item_query, context):
                await query.answer(t_plain("callback.stale"))
                return
            await query.answer()
            await edit_view(update, await views.list_view(services, item_query, page))
        case SearchPage(text, page):
            await query.answer()
            await edit_view(update, await views.search_view(services, text, page))
        case Menu(name):
            await query.answer()
            await reply_view(update, await _menu_view(name, context))
        case SettingsAction():
            await settings.cb_settings(update, context, action)
        case AdminAction():
            await admin.cb_admin(update, context, action)


async def _menu_view(name: str, context: AppContext) -> views.View:
    services = context.services
    if name == "latest":
        return await views.latest_view(services, LATEST_DEFAULT)
    if name == "topics":
        return await views.topics_view(services)
    if name == "countries":
        return await views.countries_view(services)
    if name in ("events", "initiatives"):
        return await views.list_view(services, ItemQuery(kind=name.removesuffix("s")), 0)
    return views.help_view(context.bot.username)


def _known_references(item_query: ItemQuery, context: AppContext) -> bool:
    catalog = context.services.catalog
    return (
        (item_query.topic is None or catalog.topic(item_query.topic) is not None)
        and (item_query.country is None or catalog.country(item_query.country) is not None)
        and (item_query.partner is None or catalog.partner(item_query.partner) is not None)
    )
