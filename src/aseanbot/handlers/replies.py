"""Sending and editing views: split to Telegram's limit, keyboard on the last message."""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.error import BadRequest

from aseanbot.formatting.split import split_message
from aseanbot.handlers.views import View

logger = logging.getLogger(__name__)


async def reply_view(update: Update, view: View) -> list[Message]:
    """Answer the update's message (or the message a button was on) with a view."""
    message = update.effective_message
    if message is None:
        return []
    parts = split_message(view.blocks)
    sent = []
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        sent.append(await message.reply_text(part, reply_markup=view.keyboard if last else None))
    return sent


async def edit_view(update: Update, view: View) -> None:
    """Replace a button's message with a view (pagination), or send it when it cannot be edited."""
    query = update.callback_query
    parts = split_message(view.blocks)
    if query is None or query.message is None or len(parts) != 1:
        await reply_view(update, view)
        return
    try:
        await query.edit_message_text(parts[0], reply_markup=view.keyboard)
    except BadRequest as error:
        text = error.message.lower()
        if "not modified" in text:
            return  # a double tap on the same page: nothing to change
        if "message to edit not found" in text or "can't be edited" in text:
            await reply_view(update, view)
            return
        raise
