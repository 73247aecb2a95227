"""Who may change a chat's subscription: anyone in a private chat, only admins elsewhere.

Asked of Telegram on every update and never cached, because admins come and go.
"""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest, Forbidden

from aseanbot.i18n import t, t_plain
from aseanbot.services import AppContext

logger = logging.getLogger(__name__)

ADMIN_STATUSES = (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)


async def may_manage_subscription(update: Update, context: AppContext) -> bool:
    """Whether whoever sent this update may subscribe the chat or change its settings."""
    chat = update.effective_chat
    if chat is None:
        return False
    if chat.type == ChatType.PRIVATE:
        return True
    if update.callback_query is None:
        message = update.effective_message
        if chat.type == ChatType.CHANNEL:
            return True  # only a channel's admins can post in it
        if message is not None and message.sender_chat is not None:
            # An anonymous admin writes as the group itself; anyone else as another chat.
            return message.sender_chat.id == chat.id
    user = update.effective_user
    if user is None:
        return False
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
    except (BadRequest, Forbidden) as error:
        logger.info(
            "Could not check user %s in chat %s (%s); refusing", user.id, chat.id, error.message
        )
        return False
    return member.status in ADMIN_STATUSES


async def ensure_may_manage(update: Update, context: AppContext) -> bool:
    """True when the sender may change the subscription; otherwise tell them why not."""
    if await may_manage_subscription(update, context):
        return True
    query = update.callback_query
    if query is not None:
        await query.answer(t_plain("rights.admins_only"))
    elif update.effective_message is not None:
        await update.effective_message.reply_text(t("rights.admins_only"))
    return False
