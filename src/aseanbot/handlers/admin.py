"""Operator commands: /stats, /broadcast, /reload, /ingest — for ASEANBOT_ADMIN_IDS only.

To anyone else they do not exist: a command gets exactly the unknown-command reply and a press
on an operator's button the stale-button answer. The check runs on every update, buttons too.
Long work (sending a broadcast, fetching feeds) runs as a task, so the bot keeps answering.
"""

from __future__ import annotations

import logging
import secrets

from telegram import Update
from telegram.error import BadRequest

from aseanbot.callbacks import AdminAction
from aseanbot.constants import MESSAGE_LIMIT
from aseanbot.delivery.broadcast import BroadcastSender
from aseanbot.feeds.ingest import ingest_feeds
from aseanbot.formatting.admin import (
    broadcast_keyboard,
    render_broadcast,
    render_broadcast_done,
    render_broadcast_preview,
    render_data_problems,
    render_ingest,
    render_reload,
    render_stats,
)
from aseanbot.formatting.html import utf16_len
from aseanbot.formatting.split import split_message
from aseanbot.handlers.browse import cmd_unknown
from aseanbot.handlers.replies import edit_view, reply_view
from aseanbot.handlers.subscriptions import thread_of
from aseanbot.handlers.views import View
from aseanbot.i18n import plural, t, t_plain
from aseanbot.importing import import_data_dir
from aseanbot.loader import DataError
from aseanbot.services import AppContext

logger = logging.getLogger(__name__)

# Broadcast texts waiting for Send or Cancel, by token, in the chat_data of the preview's chat.
# Held in memory only: after a restart an old preview's buttons are simply out of date.
DRAFTS_KEY = "broadcast_drafts"
MAX_DRAFTS = 5


def is_admin(update: Update, context: AppContext) -> bool:
    """Whether this update comes from one of the operators in ASEANBOT_ADMIN_IDS."""
    user = update.effective_user
    return user is not None and user.id in context.services.settings.admin_ids


async def _admin_or_unknown(update: Update, context: AppContext) -> bool:
    """True for an operator; anyone else gets the reply an unknown command gets."""
    if is_admin(update, context):
        return True
    await cmd_unknown(update, context)
    return False


async def cmd_stats(update: Update, context: AppContext) -> None:
    """Show users, subscriptions, recent digests, items by origin and feed health."""
    if not await _admin_or_unknown(update, context):
        return
    services = context.services
    stats = await services.opened_store.stats.collect(now=services.clock())
    await reply_view(update, View(render_stats(stats, services.catalog)))


async def cmd_broadcast(update: Update, context: AppContext) -> None:
    """Preview an announcement to every active subscription, with Send and Cancel buttons."""
    if not await _admin_or_unknown(update, context):
        return
    message = update.effective_message
    if message is None or message.text is None:
        return
    # The text as typed, line breaks included (context.args would join words with spaces).
    text = _text_after_command(message.text)
    if not text:
        await reply_view(update, View([t("broadcast.usage")]))
        return
    if utf16_len(text) > MESSAGE_LIMIT:
        await reply_view(
            update, View([t("broadcast.too_long", length=utf16_len(text), limit=MESSAGE_LIMIT)])
        )
        return
    recipients = await context.services.opened_store.subscriptions.count_active()
    if not recipients:
        await reply_view(update, View([t("broadcast.no_subscribers")]))
        return
    html = render_broadcast(text)
    token = secrets.token_urlsafe(9)
    drafts = _drafts(context)
    drafts[token] = html
    while len(drafts) > MAX_DRAFTS:
        del drafts[next(iter(drafts))]  # the oldest preview's buttons go out of date
    await reply_view(update, View([render_broadcast_preview(recipients)]))
    # The message itself exactly as subscribers will see it; the buttons are the only extra.
    await message.reply_text(html, reply_markup=broadcast_keyboard(token, recipients))


async def cb_admin(update: Update, context: AppContext, action: AdminAction) -> None:
    """Send or cancel a broadcast preview."""
    query = update.callback_query
    if query is None:
        return
    if not is_admin(update, context):
        await query.answer(t_plain("callback.stale"))
        return
    # Taken out before anything is awaited: a second press finds nothing and sends nothing.
    html = _drafts(context).pop(action.token, None)
    if html is None:
        await query.answer(t_plain("broadcast.gone"))
        return
    await query.answer()
    if action.action == "cancel":
        await edit_view(update, View([t("broadcast.cancelled")]))
        return
    services = context.services
    broadcast_id, recipients = await services.opened_store.broadcasts.create(
        html, created_by=query.from_user.id, now=services.clock()
    )
    logger.info(
        "Operator %s confirmed broadcast %d to %d chats",
        query.from_user.id,
        broadcast_id,
        recipients,
    )
    try:
        # The preview keeps its text and loses its buttons.
        await query.edit_message_reply_markup(reply_markup=None)
    except BadRequest as error:
        logger.info("Could not remove the broadcast preview's buttons: %s", error.message)
    await reply_view(update, View([t("broadcast.sending", count=plural(recipients, "chat"))]))
    context.application.create_task(
        _send_broadcast(update, context, broadcast_id),
        update=update,
        name=f"broadcast-{broadcast_id}",
    )


async def _send_broadcast(update: Update, context: AppContext, broadcast_id: int) -> None:
    services = context.services
    # The clock is read at call time: tests replace it.
    sender = BroadcastSender(context.bot, services.opened_store, clock=lambda: services.clock())
    report = await sender.send(broadcast_id)
    blocks = render_broadcast_done(
        sent=report.sent,
        failed=report.failed,
        deactivated=report.deactivated,
        skipped=report.skipped,
    )
    chat = update.effective_chat
    if chat is None:
        return
    message = update.callback_query.message if update.callback_query else None
    for part in split_message(blocks):
        await context.bot.send_message(chat.id, part, message_thread_id=thread_of(message))


async def cmd_reload(update: Update, context: AppContext) -> None:
    """Import data/ again and say what changed; invalid data changes nothing."""
    if not await _admin_or_unknown(update, context):
        return
    services = context.services
    data_dir = services.settings.data_dir
    try:
        report = await import_data_dir(services.opened_store, data_dir, now=services.clock())
    except DataError as error:
        blocks = render_data_problems("reload.invalid", str(error), path=str(data_dir))
        await reply_view(update, View(blocks))
        return
    await services.refresh_catalog()
    logger.info(
        "Operator reloaded %s: %d added, %d updated",
        data_dir,
        len(report.added),
        len(report.updated),
    )
    await reply_view(update, View(render_reload(report, str(data_dir))))


async def cmd_ingest(update: Update, context: AppContext) -> None:
    """Fetch every enabled feed now and report what each source gave."""
    if not await _admin_or_unknown(update, context):
        return
    await reply_view(update, View([t("ingest.started")]))
    context.application.create_task(_ingest_and_report(update, context), update=update)


async def _ingest_and_report(update: Update, context: AppContext) -> None:
    try:
        report = await ingest_feeds(context.services, force=True)
    except DataError as error:
        blocks = render_data_problems("ingest.invalid", str(error))
    else:
        blocks = render_ingest(report)
    await reply_view(update, View(blocks))


def _text_after_command(text: str) -> str:
    """What follows '/command' (or '/command@bot'), line breaks kept, outer spaces trimmed."""
    parts = text.split(maxsplit=1)
    return parts[1].strip() if len(parts) == 2 else ""


def _drafts(context: AppContext) -> dict[str, str]:
    chat_data = context.chat_data
    if chat_data is None:  # an update without a chat: nothing to keep
        return {}
    drafts: dict[str, str] = chat_data.setdefault(DRAFTS_KEY, {})
    return drafts
