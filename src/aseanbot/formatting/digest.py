"""Render a digest: what is new for one subscription profile, grouped by topic, newest first."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, tzinfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from aseanbot.callbacks import SettingsAction, encode
from aseanbot.catalog import Catalog
from aseanbot.formatting.html import bold, link, truncate
from aseanbot.formatting.render import entry_details
from aseanbot.i18n import plural, t, t_plain
from aseanbot.models import Item

TITLE_LIMIT = 200


def group_by_topic(
    items: Sequence[Item], catalog: Catalog, followed: Sequence[str]
) -> list[tuple[str, list[Item]]]:
    """Each item once, under the first of its topics the reader follows, in catalog order.

    `followed` empty means every topic. Items keep their order (newest first) in a group.
    """
    wanted = set(followed) if followed else None
    groups: dict[str, list[Item]] = {}
    for item in items:
        topics = [topic for topic in item.topics if wanted is None or topic in wanted]
        if not topics:
            continue
        groups.setdefault(topics[0], []).append(item)
    order = [topic.slug for topic in catalog.topics]
    return sorted(groups.items(), key=lambda pair: _position(order, pair[0]))


def _position(order: list[str], slug: str) -> int:
    return order.index(slug) if slug in order else len(order)


def render_digest_entry(item: Item) -> str:
    """One item: linked title, then date and place, then one line of outcome."""
    title = link(item.sources[0], truncate(item.title, TITLE_LIMIT))
    lines = [f"• {title}", *entry_details(item)]
    if len(item.sources) > 1:
        lines.append(t("digest.more_sources", count=len(item.sources) - 1))
    return "\n".join(lines)


def render_digest(
    items: Sequence[Item],
    catalog: Catalog,
    *,
    followed_topics: Sequence[str],
    since: datetime,
    zone: tzinfo,
    render_entry: Callable[[Item], str] = render_digest_entry,
) -> list[str]:
    """Blocks of a digest (for split_message); an empty list when nothing is new.

    `render_entry` renders one item; a digest pass passes a cached `render_digest_entry`, as
    the same item appears in many digests.
    """
    groups = group_by_topic(items, catalog, followed_topics)
    count = sum(len(group) for _, group in groups)
    if not count:
        return []
    local_since = since.astimezone(zone)
    blocks = [
        t(
            "digest.header",
            count=plural(count, "item"),
            since=f"{local_since.day} {local_since:%b %Y, %H:%M}",
        )
    ]
    for slug, group in groups:
        heading = "🏷 " + bold(catalog.topic_name(slug))
        entries = [render_entry(item) for item in group]
        # The heading travels with its first entry, so a split never strands it.
        blocks.append(heading + "\n" + entries[0])
        blocks.extend(entries[1:])
    return blocks


def render_empty_digest(*, since: datetime, zone: tzinfo) -> list[str]:
    local_since = since.astimezone(zone)
    return [t("digest.empty", since=f"{local_since.day} {local_since:%b %Y, %H:%M}")]


def digest_keyboard() -> InlineKeyboardMarkup:
    """The footer of every digest: change settings, or stop."""
    buttons = []
    for label, action in (
        ("button.settings", SettingsAction("main")),
        ("button.unsubscribe", SettingsAction("unsubscribe")),
    ):
        data = encode(action)
        assert data is not None  # short constant actions always fit
        buttons.append(InlineKeyboardButton(t_plain(label), callback_data=data))
    return InlineKeyboardMarkup([buttons])
