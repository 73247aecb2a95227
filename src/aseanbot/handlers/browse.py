"""Browsing commands: /start, /help, /latest, /events, /initiatives, /topics, /countries, /about."""

from __future__ import annotations

from telegram import MessageEntity, Update
from telegram.constants import ChatType

from aseanbot.constants import LATEST_DEFAULT, LATEST_MAX, START_ITEM_PREFIX
from aseanbot.filters import FilterError, parse_item_filter
from aseanbot.handlers import views
from aseanbot.handlers.arguments import argument_text, is_ascii_number
from aseanbot.handlers.cards import send_item_card
from aseanbot.handlers.replies import reply_view
from aseanbot.handlers.subscriptions import START_SUBSCRIBE_PREFIX, subscribe_and_reply
from aseanbot.i18n import t
from aseanbot.services import AppContext


async def cmd_start(update: Update, context: AppContext) -> None:
    """Welcome the user, or follow a deep link: /start event_<id>, /start sub_<topic>."""
    payload = context.args[0] if context.args else ""
    if payload.startswith(START_ITEM_PREFIX):
        item_id = payload.removeprefix(START_ITEM_PREFIX)
        if await send_item_card(update, context, item_id, kind=None):
            return
    topic = payload.removeprefix(START_SUBSCRIBE_PREFIX)
    if payload.startswith(START_SUBSCRIBE_PREFIX) and context.services.catalog.topic(topic):
        await subscribe_and_reply(update, context, (topic,))
        return
    user = update.effective_user
    view = views.welcome_view(user.first_name if user else None)
    if payload.startswith(START_SUBSCRIBE_PREFIX):
        view.blocks.insert(0, t("subscribe.unknown_link"))
    elif payload and not payload.startswith(START_ITEM_PREFIX):
        view.blocks.insert(0, t("start.unknown_payload"))
    await reply_view(update, view)


async def cmd_help(update: Update, context: AppContext) -> None:
    """List every command with an example."""
    await reply_view(update, views.help_view(context.bot.username))


async def cmd_latest(update: Update, context: AppContext) -> None:
    """Show the newest items: /latest [n]."""
    text = argument_text(context)
    count = LATEST_DEFAULT
    if text:
        if not is_ascii_number(text) or not 1 <= int(text) <= LATEST_MAX:
            await reply_view(
                update, views.View([t("latest.bad_count", max=LATEST_MAX, value=text[:40])])
            )
            return
        count = int(text)
    await reply_view(update, await views.latest_view(context.services, count))


async def cmd_events(update: Update, context: AppContext) -> None:
    """List events, optionally filtered: /events [topic|country|partner|year …]."""
    await _send_list(update, context, kind="event")


async def cmd_initiatives(update: Update, context: AppContext) -> None:
    """List initiatives, optionally filtered like /events."""
    await _send_list(update, context, kind="initiative")


async def _send_list(update: Update, context: AppContext, *, kind: str) -> None:
    try:
        query = parse_item_filter(argument_text(context), context.services.catalog, kind=kind)
    except FilterError as error:
        params = dict(error.params)
        if "kind" in params:
            params["kind"] = t(f"filter.kind.{params['kind']}")
        await reply_view(update, views.View([t(error.key, **params)]))
        return
    await reply_view(update, await views.list_view(context.services, query, 0))


async def cmd_topics(update: Update, context: AppContext) -> None:
    """List topics with their item counts and a button for each."""
    await reply_view(update, await views.topics_view(context.services))


async def cmd_countries(update: Update, context: AppContext) -> None:
    """List member states with their item counts and a button for each."""
    await reply_view(update, await views.countries_view(context.services))


async def cmd_about(update: Update, context: AppContext) -> None:
    """Say what the bot is, where its data comes from, and how fresh it is."""
    await reply_view(update, await views.about_view(context.services))


async def cmd_unknown(update: Update, context: AppContext) -> None:
    """Point an unknown command at /help (in groups only when it was addressed to us)."""
    message = update.effective_message
    if message is None or not message.text:
        return
    # The command as Telegram marked it (not text.split(): "/zz@bot." ends at the entity).
    commands = message.parse_entities([MessageEntity.BOT_COMMAND])
    command = next(iter(commands.values()), message.text.split()[0])
    name, _, addressee = command.partition("@")
    if addressee and addressee.lower() != (context.bot.username or "").lower():
        return  # meant for another bot in the group
    if not addressee and message.chat.type != ChatType.PRIVATE:
        return  # in groups, unaddressed commands may belong to other bots
    await reply_view(update, views.View([t("help.pointer", command=name[:64])]))
