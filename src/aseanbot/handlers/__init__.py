"""Telegram handlers, one module per feature area; `register_handlers` wires them in order."""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from aseanbot.handlers import (
    activity,
    admin,
    browse,
    buttons,
    cards,
    search,
    settings,
    subscriptions,
    throttle,
)
from aseanbot.handlers.errors import on_error
from aseanbot.metrics import count_update

# Commands answer new messages only: replying again to an edited command would double replies.
_NEW_MESSAGES = filters.UpdateType.MESSAGE
# Subscription commands work in channels too, where only the channel's admins can post.
_NEW_MESSAGES_OR_POSTS = filters.UpdateType.MESSAGE | filters.UpdateType.CHANNEL_POST

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
    "subscribe": subscriptions.cmd_subscribe,
    "unsubscribe": subscriptions.cmd_unsubscribe,
    "settings": settings.cmd_settings,
    "digest": subscriptions.cmd_digest,
    "time": subscriptions.cmd_time,
    "timezone": subscriptions.cmd_timezone,
    "frequency": subscriptions.cmd_frequency,
}
# Operators only (ASEANBOT_ADMIN_IDS): never in the command menu or /help, and to anyone
# else each answers exactly as an unknown command does.
ADMIN_COMMANDS = {
    "stats": admin.cmd_stats,
    "broadcast": admin.cmd_broadcast,
    "reload": admin.cmd_reload,
    "ingest": admin.cmd_ingest,
}
CHANNEL_COMMANDS = frozenset(
    {"subscribe", "unsubscribe", "settings", "digest", "time", "timezone", "frequency"}
)


def register_handlers(application: Application) -> None:  # type: ignore[type-arg]
    """Add every handler; order matters only where noted."""
    # First of all: a user sending too fast is slowed down, and nothing else runs for it.
    application.add_handler(TypeHandler(Update, throttle.throttle_user), group=-10)
    # Count each update that gets past the throttle, for /healthz (a counter, nothing more).
    application.add_handler(TypeHandler(Update, count_update), group=-2)
    # Before everything, in its own group: note who was seen (for /stats). It never stops
    # the update from reaching the handlers below; awaited (one upsert), so the console,
    # which handles updates without a running Application, counts users too.
    application.add_handler(TypeHandler(Update, activity.record_user), group=-1)
    for name, callback in COMMANDS.items():
        updates = _NEW_MESSAGES_OR_POSTS if name in CHANNEL_COMMANDS else _NEW_MESSAGES
        application.add_handler(CommandHandler(name, callback, filters=updates))
    for name, callback in ADMIN_COMMANDS.items():
        application.add_handler(CommandHandler(name, callback, filters=_NEW_MESSAGES))
    application.add_handler(CallbackQueryHandler(buttons.cb_action))
    application.add_handler(InlineQueryHandler(search.inline_search))
    # The bot removed from a chat, or blocked by a user: that chat's digest stops.
    application.add_handler(
        ChatMemberHandler(subscriptions.on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER)
    )
    application.add_handler(
        MessageHandler(filters.StatusUpdate.MIGRATE, subscriptions.on_chat_migrated)
    )
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
