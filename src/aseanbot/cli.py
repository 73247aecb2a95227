"""Command line: `python bot.py [run|console|import PATH]`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import load_dotenv

from aseanbot import __version__
from aseanbot.config import ConfigError, Settings, load_settings
from aseanbot.loader import DataError
from aseanbot.log_redaction import install_redaction
from aseanbot.models import Item

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2  # bad settings, bad data or a bad command line: the operator must fix something

LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bot.py",
        description="aseanbot — a Telegram bot for ASEAN regional affairs.",
        epilog="Settings come from the environment and .env; see README.md.",
    )
    parser.add_argument("--version", action="version", version=f"aseanbot {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("run", help="poll Telegram and answer users (the default)")
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
        install_redaction([settings.token])
        if command == "run":
            settings.require_token()
            return _run(settings)
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


def _run(settings: Settings) -> int:
    # Imported here so `--help` and `import` stay quick: the bot pulls in all of PTB.
    from aseanbot.app import build_application

    application = build_application(settings)
    logger.info("Starting aseanbot %s (polling %s)", __version__, _safe_host(settings.api_base_url))
    application.run_polling(allowed_updates=["message", "callback_query", "inline_query"])
    return EXIT_OK


def _safe_host(url: str) -> str:
    """The host of the API URL, for logs: never the path, which may hold the token."""
    return urlsplit(url).netloc


async def _send_digests(settings: Settings) -> int:
    from aseanbot.app import build_application, start_services
    from aseanbot.services import SERVICES_KEY

    application = build_application(settings, with_updater=False)
    await application.initialize()
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
    for error in report.errors[:20]:
        print(f"  failed: {error}")
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
