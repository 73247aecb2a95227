"""Command line: `python bot.py [run [--webhook]|console|import PATH|…]`."""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from dotenv import load_dotenv

from aseanbot import __version__
from aseanbot.config import ConfigError, Settings, WebhookSettings, load_settings
from aseanbot.loader import DataError
from aseanbot.log_redaction import install_redaction
from aseanbot.models import Item
from aseanbot.store.migrations import StoreOpenError

if TYPE_CHECKING:
    from telegram.ext import Application

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2  # bad settings, bad data or a bad command line: the operator must fix something

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"

# The updates the handlers answer; Telegram sends no other kinds (polling or webhook).
ALLOWED_UPDATES = ["message", "channel_post", "callback_query", "inline_query", "my_chat_member"]
# The first stops the bot gracefully, a second one while it stops exits at once.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# Errors binding a listening socket; PTB's webhook server raises them as they are.
_SOCKET_ERRORS = frozenset({errno.EADDRINUSE, errno.EADDRNOTAVAIL})
# Below this many characters a webhook secret is easy to guess (it may be 1 to 256).
SHORT_SECRET = 16


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bot.py",
        description="aseanbot — a Telegram bot for ASEAN regional affairs.",
        epilog="Settings come from the environment and .env; see README.md.",
    )
    parser.add_argument("--version", action="version", version=f"aseanbot {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    run_parser = commands.add_parser("run", help="poll Telegram and answer users (the default)")
    run_parser.add_argument(
        "--webhook",
        action="store_true",
        help="receive updates on a webhook instead of polling (ASEANBOT_WEBHOOK_* settings)",
    )
    commands.add_parser("console", help="try the bot in this terminal: no token, no network")
    commands.add_parser(
        "send-digests",
        help="send the digests due now, once, and exit (for cron or a systemd timer)",
    )
    ingest_parser = commands.add_parser(
        "ingest", help="fetch the enabled feed sources now (or one, with --source)"
    )
    ingest_parser.add_argument(
        "--source", metavar="NAME", help="only this source, even if disabled"
    )
    export_parser = commands.add_parser(
        "export", help="write every item as records, in the format import reads"
    )
    export_parser.add_argument(
        "--format",
        choices=("yaml", "json"),
        help="yaml (the default, or json when PATH ends in .json)",
    )
    export_parser.add_argument(
        "path", nargs="?", type=Path, help="the file to write; standard output without it"
    )
    commands.add_parser("stats", help="print the numbers /stats shows: users, digests, feeds")
    import_parser = commands.add_parser("import", help="load a data file or folder into the store")
    import_parser.add_argument("path", type=Path, help="a .yaml file or a folder of them")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit status."""
    args = build_parser().parse_args(argv)
    command = args.command or "run"
    # PTB 22: RetryAfter.retry_after as a timedelta now, as it will be in the next major.
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    load_dotenv(Path.cwd() / ".env", override=False)
    try:
        settings = load_settings()
        # Only the long-running bot logs its INFO lines: one-shot commands print a summary.
        _configure_logging(settings.log_level, quiet=command != "run")
        install_redaction([settings.token, settings.webhook_secret])
        if command == "run":
            settings.require_token()
            # `bot.py` alone runs polling: its args have no --webhook.
            webhook = settings.require_webhook() if getattr(args, "webhook", False) else None
            return _run(settings, webhook)
        if command == "send-digests":
            settings.require_token()
            return asyncio.run(_send_digests(settings))
        if command == "ingest":
            return asyncio.run(_ingest(settings, args.source))
        if command == "export":
            return _export(settings, args.format, args.path)
        if command == "stats":
            return asyncio.run(_stats(settings))
        if command == "console":
            from aseanbot.console import run_console

            return asyncio.run(run_console(settings))
        if not args.path.exists():
            print(f"Import error: {args.path} does not exist", file=sys.stderr)
            return EXIT_USAGE
        return asyncio.run(_import(settings, args.path))
    except ConfigError as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except DataError as error:
        print(f"Data error:\n{error}", file=sys.stderr)
        return EXIT_USAGE
    except StoreOpenError as error:
        print(f"Database error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_OK


def _configure_logging(level: int, *, quiet: bool) -> None:
    # Quiet commands (the console, one-shot commands) show warnings only, unless DEBUG is asked.
    if quiet and level > logging.DEBUG:
        level = logging.WARNING
    logging.basicConfig(format=LOG_FORMAT, level=level)
    # httpx logs every request URL at INFO, and those URLs contain the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    # One line per SQL call or socket event drowns the bot's own DEBUG lines.
    logging.getLogger("aiosqlite").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("telegram.ext").addFilter(_no_traceback_for_failed_start)


def _no_traceback_for_failed_start(record: logging.LogRecord) -> bool:
    """Keep PTB's "could not start" line but drop its traceback: `_run` says why in one."""
    if record.getMessage().startswith("Network Retry Loop (Bootstrap"):
        record.exc_info = None
        record.exc_text = None
    return True


def _run(settings: Settings, webhook: WebhookSettings | None) -> int:
    """Run the bot until a stop signal: polling, or a webhook server when `webhook` is given."""
    # Imported here so `--help` and `import` stay quick: the bot pulls in all of PTB.
    from telegram.error import TelegramError

    from aseanbot.app import build_application

    application = build_application(settings)
    # PTB runs on the current event loop: ours, so the stop signals are ours to handle.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    from aseanbot.services import SERVICES_KEY

    services = application.bot_data[SERVICES_KEY]

    def stop_digests() -> None:
        # A digest pass stops starting new sends; those in flight finish, the rest stay pending.
        if services.digests is not None:
            services.digests.request_stop()

    stop_signals = StopSignals(loop, on_first=stop_digests)
    stop_signals.install()
    try:
        if webhook is None:
            logger.info(
                "Starting aseanbot %s (polling %s)", __version__, _safe_host(settings.api_base_url)
            )
            application.run_polling(
                allowed_updates=ALLOWED_UPDATES, stop_signals=None, close_loop=False
            )
        else:
            _run_webhook(application, webhook)
    except (OSError, TelegramError) as error:
        # A port already taken, a folder it may not write, Telegram not reachable at start,
        # a wrong token: one line, no traceback.
        where = ""
        if webhook is not None and getattr(error, "errno", None) in _SOCKET_ERRORS:
            where = f" (the webhook server on {webhook.listen}:{webhook.port})"
        logger.error("aseanbot could not start: %s%s", _start_error(error), where)
        return EXIT_FAILURE
    finally:
        # PTB shuts the bot's send client down only after a start that succeeded.
        loop.run_until_complete(application.bot.request.shutdown())
        loop.close()
        stop_signals.outlive_loop()
    return EXIT_OK


def _start_error(error: Exception) -> str:
    """What went wrong at start, for one line (the token is redacted from every log line)."""
    from telegram.error import InvalidToken

    if isinstance(error, InvalidToken):
        return "Telegram rejected the bot token: check TELEGRAM_BOT_TOKEN with @BotFather"
    return str(error)


def _run_webhook(application: Application, webhook: WebhookSettings) -> None:  # type: ignore[type-arg]
    if len(webhook.secret) < SHORT_SECRET:
        logger.warning(
            "ASEANBOT_WEBHOOK_SECRET is short: use %d or more random characters", SHORT_SECRET
        )
    logger.info(
        "Starting aseanbot %s (webhook for %s, listening on %s:%d)",
        __version__,
        urlsplit(webhook.url).netloc,
        webhook.listen,
        webhook.port,
    )
    # PTB's tornado server: it calls setWebhook with the secret and answers 403, without
    # looking at the body, to a POST whose X-Telegram-Bot-Api-Secret-Token is missing or wrong.
    application.run_webhook(
        listen=webhook.listen,
        port=webhook.port,
        url_path=webhook.url_path,
        webhook_url=webhook.url,
        secret_token=webhook.secret,
        allowed_updates=ALLOWED_UPDATES,
        stop_signals=None,
        close_loop=False,  # _run closes it, after the send client
    )


class StopSignals:
    """SIGTERM or SIGINT stops the bot gracefully; a second one while it stops exits at once.

    The first does what PTB's own handler does (SystemExit inside run_polling/run_webhook,
    which then stop taking updates, let handlers and running jobs — a digest pass — finish,
    and run post_shutdown). PTB's handler would take a second signal the same way, in the
    middle of that shutdown; here it ends the process with status 1 instead. Whatever a
    digest pass had not confirmed stays pending in the ledger and is sent at the next start.
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, *, on_first: Callable[[], object] | None = None
    ) -> None:
        self._loop = loop
        self._on_first = on_first
        self._stopping = False

    def install(self) -> None:
        try:
            for stop_signal in STOP_SIGNALS:
                self._loop.add_signal_handler(stop_signal, self._on_signal, stop_signal)
        except NotImplementedError:  # Windows' event loops: Ctrl-C still stops the bot
            logger.debug("Stop signals are left to Python's default handling here")

    def outlive_loop(self) -> None:
        """Keep the second signal's meaning after PTB closes the loop.

        Closing the loop restores the default handlers, which would let a signal that comes
        during the last moments of teardown kill the process (-15) instead of exiting with 1.
        """
        for stop_signal in STOP_SIGNALS:
            signal.signal(stop_signal, self._on_plain_signal)

    def _on_plain_signal(self, number: int, _frame: object) -> None:
        self._on_signal(signal.Signals(number))

    def _on_signal(self, received: signal.Signals) -> None:
        if self._stopping:
            logger.warning(
                "%s while stopping: exiting now; unsent digests are sent at the next start",
                received.name,
            )
            os._exit(EXIT_FAILURE)
        self._stopping = True
        if self._on_first is not None:
            self._on_first()
        logger.info(
            "%s: stopping after the updates and digests in hand (again to force)", received.name
        )
        raise SystemExit(EXIT_OK)


def _safe_host(url: str) -> str:
    """The host of the API URL, for logs: never the path, which may hold the token."""
    return urlsplit(url).netloc


async def _send_digests(settings: Settings) -> int:
    from telegram.error import TelegramError

    from aseanbot.app import build_application, start_services
    from aseanbot.services import SERVICES_KEY

    application = build_application(settings, with_updater=False)
    try:
        await application.initialize()
    except (OSError, TelegramError) as error:
        await application.bot.request.shutdown()  # PTB leaves it open when the start fails
        print(f"send-digests could not start: {_start_error(error)}", file=sys.stderr)
        return EXIT_FAILURE
    try:
        await start_services(application)
        report = await application.bot_data[SERVICES_KEY].digest_sender.run_pass()
    finally:
        await application.shutdown()
        if application.post_shutdown:
            await application.post_shutdown(application)
    print(
        f"Digests: {report.sent} sent ({report.messages} messages), {report.empty} with nothing "
        f"new, {report.skipped} skipped (past the grace window), {report.retrying} to retry, "
        f"{report.failed} failed, {report.deactivated} chats deactivated"
    )
    for reason in report.errors[:20]:
        print(f"  failed: {reason}")
    return EXIT_FAILURE if report.failed else EXIT_OK


async def _ingest(settings: Settings, source: str | None) -> int:
    from aseanbot.feeds.ingest import UnknownSourceError, ingest_feeds
    from aseanbot.services import Services
    from aseanbot.store import Store

    services = Services(settings=settings)
    services.store = await Store.open(settings.db_path)
    try:
        if settings.data_dir.is_dir():
            from aseanbot.importing import sync_data_dir

            await sync_data_dir(services.store, settings.data_dir, now=services.clock())
        await services.refresh_catalog()
        try:
            report = await ingest_feeds(services, source=source, force=True)
        except UnknownSourceError as error:
            print(f"Ingest error: {error}", file=sys.stderr)
            return EXIT_USAGE
    finally:
        await services.opened_store.close()
    if not report.sources:
        print("No enabled feed sources in feeds.yaml: nothing to fetch.")
    for result in report.sources:
        if result.status == "failed":
            print(f"  {result.name:<28} FAILED   {result.error}")
        elif result.status == "not_modified":
            print(f"  {result.name:<28} unchanged since the last fetch")
        else:
            print(
                f"  {result.name:<28} ok       {result.added} new, {result.updated} updated, "
                f"{result.duplicates} already known"
            )
    failed = report.failed
    if failed:
        names = ", ".join(result.name for result in failed)
        print(f"{len(failed)} of {len(report.sources)} sources failed: {names}", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK


async def _import(settings: Settings, path: Path) -> int:
    from aseanbot.importing import import_path
    from aseanbot.services import utc_now
    from aseanbot.store import Store

    store = await Store.open(settings.db_path)
    try:
        report = await import_path(store, path, now=utc_now())
    finally:
        await store.close()
    print(f"Imported {path} into {settings.db_path}:")
    for label, ids in (("added", report.added), ("updated", report.updated)):
        print(f"  {label:<9} {len(ids):>4}  {_id_list(ids)}".rstrip())
    print(f"  {'unchanged':<9} {len(report.unchanged):>4}")
    return EXIT_OK


def _id_list(ids: Sequence[str], shown: int = 10) -> str:
    if not ids:
        return ""
    more = f" and {len(ids) - shown} more" if len(ids) > shown else ""
    return f"({', '.join(ids[:shown])}{more})"


def _export(settings: Settings, export_format: str | None, path: Path | None) -> int:
    from aseanbot.export import dump_records, format_for_path

    items = asyncio.run(_stored_items(settings))
    if export_format is None:
        export_format = format_for_path(path.name) if path is not None else "yaml"
    text = dump_records(items, export_format)
    if path is None:
        sys.stdout.write(text)
        return EXIT_OK
    path.write_text(text, encoding="utf-8")
    print(f"Exported {len(items)} items to {path} ({export_format})")
    return EXIT_OK


async def _stored_items(settings: Settings) -> tuple[Item, ...]:
    from aseanbot.export import export_items
    from aseanbot.store import Store

    store = await Store.open(settings.db_path)
    try:
        return await export_items(store)
    finally:
        await store.close()


async def _stats(settings: Settings) -> int:
    from aseanbot.catalog import Catalog
    from aseanbot.formatting.admin import render_stats_text
    from aseanbot.services import utc_now
    from aseanbot.store import Store

    store = await Store.open(settings.db_path)
    try:
        stats = await store.stats.collect(now=utc_now())
        catalog = Catalog(topics=await store.topics())
    finally:
        await store.close()
    print(render_stats_text(stats, catalog))
    return EXIT_OK
