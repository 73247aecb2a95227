"""Note every user the bot hears from, for the user count in /stats."""

from __future__ import annotations

import logging
import sqlite3

from telegram import Update

from aseanbot.services import AppContext

logger = logging.getLogger(__name__)


async def record_user(update: Update, context: AppContext) -> None:
    """Record the update's user as seen now; a failure here is logged, never shown."""
    user = update.effective_user
    if user is None:  # channel posts, and updates about the bot itself
        return
    services = context.services
    try:
        await services.opened_store.stats.record_user(user.id, now=services.clock())
    except sqlite3.Error:
        # Counting users must never cost a user their answer.
        logger.warning("Could not record user %s as seen", user.id, exc_info=True)
