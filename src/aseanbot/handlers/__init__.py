"""Telegram handlers, one module per feature area; `register_handlers` wires them in order."""

from __future__ import annotations

from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from aseanbot.handlers import browse, buttons, cards, search
from aseanbot.handlers.errors import on_error

# Commands answer new messages only: replying again to an edited command would double replies.
_NEW_MESSAGES = filters.UpdateType.MESSAGE

COMMANDS = {
    "start": browse.cmd_start,
    "help": browse.cmd_help,
    "latest": browse.cmd_latest,
    "events": browse.cmd_events,
    "event": cards.cmd_event,
    "initiatives": browse.cmd_initiatives,
    "initiative": cards.cmd_initiative,
    "search": search.cmd_search,
    "topics": browse.cmd_topics,
    "countries": browse.cmd_countries,
    "about": browse.cmd_about,
}


def register_handlers(application: Application) -> None:  # type: ignore[type-arg]
    """Add every handler; order matters only where noted."""
    for name, callback in COMMANDS.items():
        application.add_handler(CommandHandler(name, callback, filters=_NEW_MESSAGES))
    application.add_handler(CallbackQueryHandler(buttons.cb_action))
    application.add_handler(InlineQueryHandler(search.inline_search))
    # After the commands: plain text in a private chat is a search ...
    application.add_handler(
        MessageHandler(
            filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE & _NEW_MESSAGES,
            search.msg_search,
        )
    )
    # ... and any command not matched above gets a pointer to /help.
    application.add_handler(MessageHandler(filters.COMMAND & _NEW_MESSAGES, browse.cmd_unknown))
    application.add_error_handler(on_error)
