"""The composition root: the one place that builds the Application and wires everything."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from telegram import BotCommand, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults
from telegram.request import BaseRequest

from aseanbot.config import Settings
from aseanbot.delivery.broadcast import DEFAULT_CONCURRENCY as BROADCAST_CONCURRENCY
from aseanbot.delivery.broadcast import BroadcastSender
from aseanbot.delivery.digests import DEFAULT_CONCURRENCY as DIGEST_CONCURRENCY
from aseanbot.delivery.digests import DigestSender
from aseanbot.delivery.limiter import TelegramRateLimiter
from aseanbot.delivery.pass_lock import lock_path_for
from aseanbot.handlers import register_handlers
from aseanbot.health import HealthReport, HealthServer, collect_health, scheduler_running
from aseanbot.i18n import t_plain
from aseanbot.importing import sync_data_dir
from aseanbot.jobs import (
    CHECKPOINT_TICK_SECONDS,
    DIGEST_TICK_SECONDS,
    FEED_TICK_SECONDS,
    job_checkpoint_store,
    job_ingest_feeds,
    job_send_due_digests,
)
from aseanbot.metrics import MeteredRateLimiter, MeteredUpdatesRequest
from aseanbot.services import SERVICES_KEY, AppContext, Services, utc_now
from aseanbot.store import Store
from aseanbot.telegram_http import AiohttpRequest

logger = logging.getLogger(__name__)

# Connections for sends: DigestSender's and BroadcastSender's sends in flight, with room for
# the command replies that go out meanwhile (a full pool makes a send wait, then time out).
SEND_POOL_SIZE = DIGEST_CONCURRENCY + BROADCAST_CONCURRENCY + 32

# The digest job's name: /healthz checks that it is scheduled.
DIGEST_JOB_NAME = "send-due-digests"
CHECKPOINT_JOB_NAME = "checkpoint-store"

# The command menu, in the order Telegram shows it.
MENU_COMMANDS = (
    "latest",
    "events",
    "initiatives",
    "search",
    "topics",
    "countries",
    "subscribe",
    "digest",
    "settings",
    "time",
    "timezone",
    "frequency",
    "unsubscribe",
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
    rate_limiter: TelegramRateLimiter | None = None,
    with_updater: bool = True,
) -> Application:  # type: ignore[type-arg]
    """Build the bot: handlers, defaults, rate limiter and the store's lifecycle hooks.

    `token` overrides the settings' token (the console has none); `request` replaces the
    HTTP layer (the console answers the Bot API in-process); `rate_limiter` replaces the
    default flood control (tests relax its per-chat pacing).
    """
    services = Services(settings=settings, clock=clock)
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
        # Flood control for every request: Telegram's overall, per-chat and per-group limits,
        # command replies ahead of digests, and one shared pause after a 429.
        # (PTB types the builder for rate limiters without arguments; ours takes a dict.)
        # The metered wrapper only counts (messages sent and failed, 429s, Telegram reached).
        limiter = MeteredRateLimiter(rate_limiter or TelegramRateLimiter(), services.metrics)
        builder = builder.rate_limiter(limiter)  # type: ignore[arg-type]
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    else:
        # Sends go through aiohttp, not PTB's httpx client: a fraction of its CPU per request,
        # which is what a paid broadcast's rate is made of. The pool holds every send in flight
        # at once: a digest pass's, a broadcast's and the command replies beside them.
        builder = builder.request(AiohttpRequest(connection_pool_size=SEND_POOL_SIZE))
        # getUpdates bypasses the rate limiter: its own client notes that Telegram answered.
        # (Pool size 1, as PTB's default for it.)
        builder = builder.get_updates_request(
            MeteredUpdatesRequest(services.metrics, connection_pool_size=1)
        )
    if not with_updater:
        builder = builder.updater(None)
    application = builder.build()
    application.bot_data[SERVICES_KEY] = services
    register_handlers(application)
    return application


async def open_services(application: Application) -> None:  # type: ignore[type-arg]
    """post_init: open the store and data, register the command menu, start the digest job.

    Then the health endpoint, if ASEANBOT_HEALTH_PORT asks for it.
    """
    await start_services(application)
    await application.bot.set_my_commands(
        [BotCommand(name, t_plain(f"command.{name}")) for name in MENU_COMMANDS]
    )
    if application.job_queue is not None:
        # The first tick comes right after start, so digests missed while down go out now.
        application.job_queue.run_repeating(
            job_send_due_digests,
            interval=DIGEST_TICK_SECONDS,
            first=1,
            name=DIGEST_JOB_NAME,
            job_kwargs={"misfire_grace_time": DIGEST_TICK_SECONDS},
        )
        application.job_queue.run_repeating(
            job_ingest_feeds,
            interval=FEED_TICK_SECONDS,
            first=30,
            name="ingest-feeds",
            job_kwargs={"misfire_grace_time": FEED_TICK_SECONDS},
        )
        application.job_queue.run_repeating(
            job_checkpoint_store,
            interval=CHECKPOINT_TICK_SECONDS,
            first=CHECKPOINT_TICK_SECONDS,
            name=CHECKPOINT_JOB_NAME,
        )
    await _resume_broadcasts(application)
    await _start_health_server(application)
    logger.info("aseanbot is ready as @%s", application.bot.username)


async def _start_health_server(application: Application) -> None:  # type: ignore[type-arg]
    services: Services = application.bot_data[SERVICES_KEY]
    settings = services.settings
    if settings.health_port is None:
        return

    async def check() -> HealthReport:
        scheduler_ok = scheduler_running(application.job_queue, DIGEST_JOB_NAME)
        return await collect_health(services, scheduler_ok=scheduler_ok)

    server = HealthServer(check, listen=settings.health_listen, port=settings.health_port)
    try:
        await server.start()
    except OSError as error:
        # Said here, where it is known which setting the address came from.
        raise OSError(
            error.errno,
            f"cannot serve /healthz on {settings.health_listen}:{settings.health_port} "
            f"(ASEANBOT_HEALTH_LISTEN, ASEANBOT_HEALTH_PORT): {error.strerror}",
        ) from None
    services.health_server = server


async def _resume_broadcasts(application: Application) -> None:  # type: ignore[type-arg]
    """Finish broadcasts a restart interrupted: their ledger says who is still pending."""
    services: Services = application.bot_data[SERVICES_KEY]
    store = services.opened_store
    sender = BroadcastSender(application.bot, store, clock=lambda: services.clock())
    for broadcast_id in await store.broadcasts.unfinished():
        logger.info("Resuming broadcast %d after a restart", broadcast_id)
        application.create_task(sender.send(broadcast_id), name=f"broadcast-{broadcast_id}")


async def start_services(application: Application) -> None:  # type: ignore[type-arg]
    """Open the store, import data/ if it changed, load the catalog, set up digests."""
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
    services.digests = DigestSender(
        application.bot,
        services.store,
        # Read at call time: the catalog is replaced after imports, the clock in tests.
        catalog=lambda: services.catalog,
        clock=lambda: services.clock(),
        grace=settings.digest_grace,
        lock_path=lock_path_for(settings.db_path),
    )


async def close_services(application: Application) -> None:  # type: ignore[type-arg]
    """Stop the health endpoint and close the store (after the last update was handled)."""
    services: Services = application.bot_data[SERVICES_KEY]
    if services.health_server is not None:
        await services.health_server.stop()
        services.health_server = None
    if services.store is not None:
        await services.store.close()
        services.store = None
