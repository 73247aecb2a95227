"""The composition root: the one place that builds the Application and wires everything."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from telegram import BotCommand, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes, Defaults
from telegram.request import BaseRequest

from aseanbot.config import Settings
from aseanbot.handlers import register_handlers
from aseanbot.i18n import t_plain
from aseanbot.importing import sync_data_dir
from aseanbot.services import SERVICES_KEY, AppContext, Services, utc_now
from aseanbot.store import Store

logger = logging.getLogger(__name__)

# The command menu, in the order Telegram shows it.
MENU_COMMANDS = (
    "latest",
    "events",
    "initiatives",
    "search",
    "topics",
    "countries",
    "event",
    "initiative",
    "about",
    "help",
)


def build_application(
    settings: Settings,
    *,
    token: str | None = None,
    request: BaseRequest | None = None,
    clock: Callable[[], datetime] = utc_now,
    rate_limited: bool = True,
    with_updater: bool = True,
) -> Application:  # type: ignore[type-arg]
    """Build the bot: handlers, defaults, rate limiter and the store's lifecycle hooks.

    `token` overrides the settings' token (the console has none); `request` replaces the
    HTTP layer (the console answers the Bot API in-process).
    """
    builder = (
        ApplicationBuilder()
        .token(token or settings.require_token())
        .base_url(settings.api_base_url)
        .base_file_url(settings.api_file_base_url)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .context_types(ContextTypes(context=AppContext))
        .post_init(open_services)
        .post_shutdown(close_services)
    )
    if rate_limited:
        # Flood control: queue sends within Telegram's limits, retry once after a 429.
        rate_limiter = AIORateLimiter(max_retries=1)
        builder = builder.rate_limiter(rate_limiter)  # type: ignore[arg-type]  # PTB's generics
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    if not with_updater:
        builder = builder.updater(None)
    application = builder.build()
    application.bot_data[SERVICES_KEY] = Services(settings=settings, clock=clock)
    register_handlers(application)
    return application


async def open_services(application: Application) -> None:  # type: ignore[type-arg]
    """Open the store, import data/ if it changed, and register the command menu."""
    services: Services = application.bot_data[SERVICES_KEY]
    settings = services.settings
    services.store = await Store.open(settings.db_path)
    if settings.data_dir.is_dir():
        await sync_data_dir(services.store, settings.data_dir, now=services.clock())
    else:
        logger.warning(
            "Data folder %s does not exist; starting with what the store has", settings.data_dir
        )
    await services.refresh_catalog()
    await application.bot.set_my_commands(
        [BotCommand(name, t_plain(f"command.{name}")) for name in MENU_COMMANDS]
    )
    logger.info("aseanbot is ready as @%s", application.bot.username)


async def close_services(application: Application) -> None:  # type: ignore[type-arg]
    """Close the store (after the last update was handled)."""
    services: Services = application.bot_data[SERVICES_KEY]
    if services.store is not None:
        await services.store.close()
        services.store = None
