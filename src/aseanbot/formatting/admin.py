"""Render the operators' replies: /stats, the broadcast preview and report, /reload, /ingest.

Pure functions: values in, Telegram HTML blocks (for split_message) or a keyboard out.
`render_stats_text` gives the same numbers as plain text, for `bot.py stats`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from aseanbot.callbacks import AdminAction, encode
from aseanbot.catalog import Catalog
from aseanbot.formatting.html import Html, escape, truncate, visible_text
from aseanbot.formatting.render import format_timestamp
from aseanbot.formatting.split import BLOCK_SEPARATOR
from aseanbot.i18n import plural, t, t_plain
from aseanbot.models import FeedHealth, ImportReport, IngestReport, SourceReport
from aseanbot.store.stats import DATA_ORIGIN, BotStats, DigestCounts

FEED_ERROR_LIMIT = 200
INGEST_ERROR_LIMIT = 300
# A DataError can list many problems; the reply keeps to one message.
PROBLEMS_LIMIT = 3000
IDS_SHOWN = 10


# -- /stats ---------------------------------------------------------------------------------


def render_stats(stats: BotStats, catalog: Catalog) -> list[str]:
    """/stats: users, subscriptions, digests lately, items by origin, feed health."""
    now = stats.at
    subscriptions = [t("stats.subscriptions", total=stats.subscriptions)]
    if stats.subscriptions:
        frequencies = [
            (t_plain(f"frequency.{name}"), count) for name, count in stats.by_frequency if count
        ]
        topics = [(t_plain("stats.all_topics"), stats.all_topics)] if stats.all_topics else []
        topics += [(catalog.topic_name(slug), count) for slug, count in stats.by_topic]
        subscriptions.append(t("stats.by_frequency", counts=_counts(frequencies)))
        if topics:
            subscriptions.append(t("stats.by_topic", counts=_counts(topics)))
    origins = [
        (t_plain("stats.origin_data") if origin == DATA_ORIGIN else origin, count)
        for origin, count in stats.items_by_origin
    ]
    items = [t("stats.items", total=stats.items)]
    if origins:
        items.append(_counts(origins))
    return [
        t("stats.title", at=format_timestamp(now)),
        t("stats.users", total=stats.users, week=stats.users_week),
        "\n".join(subscriptions),
        "\n".join(
            [
                t("stats.digests"),
                _digest_line("stats.digests_day", stats.digests_day),
                _digest_line("stats.digests_week", stats.digests_week),
            ]
        ),
        "\n".join(items),
        _render_feeds(stats.feeds, now),
    ]


def render_stats_text(stats: BotStats, catalog: Catalog) -> str:
    """The /stats numbers as plain text, for a terminal."""
    return BLOCK_SEPARATOR.join(visible_text(block) for block in render_stats(stats, catalog))


def _counts(pairs: Sequence[tuple[str, int]]) -> Html:
    return Html(" · ".join(t("stats.count", name=name, count=count) for name, count in pairs))


def _digest_line(key: str, counts: DigestCounts) -> str:
    return t(key, sent=counts.sent, empty=counts.empty, failed=counts.failed)


def _render_feeds(feeds: Sequence[FeedHealth], now: dt.datetime) -> str:
    """One block: a long list is split between lines, the heading staying with the first."""
    lines = [] if feeds else [t("stats.feeds_none")]
    for feed in feeds:
        success = _when(feed.last_success_at, now)
        items = plural(feed.items, "item")
        if feed.consecutive_failures:
            line = t(
                "stats.feed_failing",
                name=feed.name,
                items=items,
                failures=plural(feed.consecutive_failures, "failure"),
                success=success,
            )
            if feed.last_error:
                error = truncate(feed.last_error, FEED_ERROR_LIMIT)
                line += "\n" + t("stats.feed_error", error=error)
        else:
            line = t("stats.feed_ok", name=feed.name, items=items, success=success)
        lines.append(line)
    return "\n".join([t("stats.feeds"), *lines])


def _when(moment: dt.datetime | None, now: dt.datetime) -> str:
    """'1 Jun 2025, 07:00 UTC (3 h ago)', or 'never'."""
    if moment is None:
        return t_plain("stats.never")
    when = format_timestamp(moment)
    minutes = max(0, int((now - moment).total_seconds() // 60))
    if minutes < 120:
        return t_plain("stats.ago_minutes", when=when, minutes=minutes)
    if minutes < 48 * 60:
        return t_plain("stats.ago_hours", when=when, hours=minutes // 60)
    return t_plain("stats.ago_days", when=when, days=minutes // (24 * 60))


# -- /broadcast -----------------------------------------------------------------------------


def render_broadcast(text: str) -> str:
    """The message every subscriber gets: the operator's plain text, escaped."""
    return escape(text.strip())


def render_broadcast_preview(recipients: int) -> str:
    return t("broadcast.preview", count=plural(recipients, "chat"))


def broadcast_keyboard(token: str, recipients: int) -> InlineKeyboardMarkup:
    """Send / Cancel under a broadcast preview."""
    send = encode(AdminAction("send", token))
    cancel = encode(AdminAction("cancel", token))
    label = t_plain("button.broadcast_send", count=plural(recipients, "chat"))
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(label, callback_data=send),
                InlineKeyboardButton(t_plain("button.broadcast_cancel"), callback_data=cancel),
            ]
        ]
    )


def render_broadcast_done(*, sent: int, failed: int, deactivated: int, skipped: int) -> list[str]:
    """'Broadcast sent to N chats, M failed, K deactivated.' (and who was skipped)."""
    blocks = [
        t("broadcast.done", sent=plural(sent, "chat"), failed=failed, deactivated=deactivated)
    ]
    if skipped:
        blocks.append(t("broadcast.skipped", count=plural(skipped, "chat")))
    return blocks


# -- /reload and /ingest --------------------------------------------------------------------


def render_reload(report: ImportReport, path: str) -> list[str]:
    """What a re-import of the data folder added, updated and left alone."""
    lines = [
        t(
            "reload.done",
            path=path,
            added=len(report.added),
            updated=len(report.updated),
            unchanged=len(report.unchanged),
        )
    ]
    if report.added:
        lines.append(t("reload.added", ids=_id_list(report.added)))
    if report.updated:
        lines.append(t("reload.updated", ids=_id_list(report.updated)))
    return ["\n".join(lines)]


def render_data_problems(key: str, problems: str, **params: object) -> list[str]:
    """A data error's text, escaped and trimmed to fit one message, under the heading `key`."""
    return [t(key, problems=trim_lines(problems, PROBLEMS_LIMIT), **params)]


def render_ingest(report: IngestReport) -> list[str]:
    """One line per feed source: what it gave, or why it failed."""
    if not report.sources:
        return [t("ingest.none")]
    return [
        t("ingest.title", added=report.added),
        *map(_source_line, report.sources),
    ]


def _source_line(source: SourceReport) -> str:
    if source.status == "failed":
        error = truncate(source.error or "failed", INGEST_ERROR_LIMIT)
        return t("ingest.failed", name=source.name, error=error)
    if source.status == "not_modified":
        return t("ingest.not_modified", name=source.name)
    if source.status == "skipped":
        return t("ingest.skipped", name=source.name)
    return t(
        "ingest.ok",
        name=source.name,
        added=source.added,
        updated=source.updated,
        duplicates=source.duplicates,
    )


def _id_list(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:IDS_SHOWN])
    if len(ids) <= IDS_SHOWN:
        return shown
    return t_plain("reload.more", shown=shown, more=len(ids) - IDS_SHOWN)


def trim_lines(text: str, limit: int) -> str:
    """Keep whole lines of `text` up to `limit` characters; '…' marks what was cut."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    newline = cut.rfind("\n")
    return (cut[:newline] if newline > 0 else cut) + "\n…"
