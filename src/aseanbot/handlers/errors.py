"""The one error handler: log the failure with its traceback, tell the user plainly."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from aseanbot.i18n import t, t_plain
from aseanbot.services import AppContext

logger = logging.getLogger(__name__)


async def on_error(update: object, context: AppContext) -> None:
    """Log an exception raised while handling an update and apologise to the user."""
    logger.error("Error while handling an update", exc_info=context.error)
    if not isinstance(update, Update):
        return
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(t_plain("error.internal"))
        elif update.effective_message is not None and update.effective_chat is not None:
            await update.effective_message.reply_text(t("error.internal"))
    except TelegramError:
        # Telegram itself is failing: the log line above already says what went wrong.
        logger.warning("Could not tell the user about the error", exc_info=True)
