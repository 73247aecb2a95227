"""Render items, lists, cards and search results as Telegram HTML blocks.

Each function returns a list of blocks: balanced HTML fragments whose lines are balanced too,
ready for split_message. No I/O; everything needed comes in as arguments.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from urllib.parse import urlsplit

from aseanbot.catalog import Catalog
from aseanbot.filters import describe_query
from aseanbot.formatting.html import Html, bold, code, escape, italic, link, truncate
from aseanbot.i18n import plural, t
from aseanbot.models import (
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    CountryCount,
    Item,
    ItemPage,
    ItemQuery,
    SearchResult,
    StoreSummary,
    TopicCount,
)

ONE_LINE_LIMIT = 220
TITLE_LIMIT = 300
SNIPPET_LIMIT = 300


def format_date(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def format_date_range(start: date | None, end: date | None) -> str:
    """'16 Jan 2025', '16–17 Jan 2025', '30 Jan – 2 Feb 2024' or '30 Dec 2024 – 2 Jan 2025'."""
    if start is None:
        return ""
    if end is None or end == start:
        return format_date(start)
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{end.day} {end:%b %Y}"
    if start.year == end.year:
        return f"{start.day} {start:%b} – {format_date(end)}"
    return f"{format_date(start)} – {format_date(end)}"


def format_timestamp(moment: datetime) -> str:
    return f"{moment.day} {moment:%b %Y, %H:%M} UTC"


def source_label(url: str) -> str:
    """A short readable label for a source link: the host without 'www.'."""
    host = urlsplit(url).hostname or url
    return host.removeprefix("www.")


def item_meta_line(item: Item) -> str:
    """'📅 16–17 Jan 2025 · 📍 Bangkok, Thailand' with whatever parts the item has."""
    parts = []
    when = format_date_range(item.date, item.end_date)
    if when:
        parts.append(t("card.date", date=when))
    if item.location:
        parts.append(t("card.location", location=item.location))
    return " · ".join(parts)


def one_line(item: Item) -> str:
    """The single most useful sentence about an item: its outcome, else its summary."""
    text = item.outcome or item.summary or item.key_focus or ""
    return truncate(text, ONE_LINE_LIMIT)


def entry_details(item: Item) -> list[str]:
    """The lines under an item's title in lists and digests: date and place, one line of text."""
    lines = []
    meta = item_meta_line(item)
    if meta:
        lines.append(meta)
    summary = one_line(item)
    if summary:
        lines.append(escape(summary))
    return lines


def render_list_entry(number: int, item: Item) -> str:
    lines = [f"<b>{number}.</b> {bold(truncate(item.title, TITLE_LIMIT))}", *entry_details(item)]
    lines.append(f"{link(item.sources[0], source_label(item.sources[0]))} · {code(item.id)}")
    return "\n".join(lines)


def render_latest(items: Sequence[Item]) -> list[str]:
    blocks = [t("latest.title", count=len(items))]
    blocks += [render_list_entry(number, item) for number, item in enumerate(items, 1)]
    return blocks


def render_item_page_empty_store() -> list[str]:
    return [t("list.empty_store")]


def list_title(query: ItemQuery, catalog: Catalog) -> str:
    title = t(f"list.title.{query.kind or 'any'}")
    filters = describe_query(query, catalog)
    if filters:
        return t("list.filtered", title=Html(title), filters=" · ".join(filters))
    return title


def render_item_page(page: ItemPage, query: ItemQuery, catalog: Catalog) -> list[str]:
    """One page of a filtered list; the caller adds the pagination keyboard."""
    if not page.items:
        filters = " · ".join(describe_query(query, catalog))
        if filters:
            return [t("list.empty", filters=filters)]
        return render_item_page_empty_store()
    pages = max(1, -(-page.total // page.limit))
    header = "\n".join(
        [
            list_title(query, catalog),
            t(
                "list.page",
                first=page.offset + 1,
                last=page.offset + len(page.items),
                total=page.total,
                page=page.offset // page.limit + 1,
                pages=pages,
            ),
        ]
    )
    blocks = [header]
    blocks += [
        render_list_entry(page.offset + number, item) for number, item in enumerate(page.items, 1)
    ]
    blocks.append(italic(t("list.open_hint")))
    return blocks


def render_card(item: Item, related: Sequence[Item], catalog: Catalog) -> list[str]:
    """The full card of one item: every field the sources stated, its sources, related items."""
    head: list[str] = [bold(item.title), italic(t(f"kind.{item.kind}"))]
    meta = item_meta_line(item)
    if meta:
        head.append(meta)
    if item.countries:
        head.append(
            t("card.countries", countries=", ".join(map(catalog.country_name, item.countries)))
        )
    if item.partners:
        head.append(
            t("card.partners", partners=", ".join(map(catalog.partner_name, item.partners)))
        )
    if item.topics:
        head.append(t("card.topics", topics=", ".join(map(catalog.topic_name, item.topics))))
    blocks = ["\n".join(head)]
    if item.summary:
        blocks.append(escape(item.summary))
    details = []
    if item.key_focus:
        details.append(t("card.key_focus", text=item.key_focus))
    if item.outcome:
        details.append(t("card.outcome", text=item.outcome))
    if details:
        blocks.append("\n".join(details))
    if item.people:
        blocks.append("\n".join([t("card.people"), *(f"• {escape(p)}" for p in item.people)]))
    blocks.append(
        "\n".join(
            [t("card.sources"), *(f"• {link(url, _source_text(url))}" for url in item.sources)]
        )
    )
    if related:
        blocks.append(
            "\n".join(
                [
                    t("card.related"),
                    *(f"• {escape(truncate(r.title, 120))} — {code(r.id)}" for r in related),
                ]
            )
        )
    if item.updated_at > item.added_at:
        stamp = t(
            "card.updated",
            added=format_timestamp(item.added_at),
            updated=format_timestamp(item.updated_at),
        )
    else:
        stamp = t("card.added", added=format_timestamp(item.added_at))
    blocks.append(stamp)
    return blocks


def _source_text(url: str) -> str:
    """Host and a hint of the path, e.g. 'asean.org/asean-digital-minis…'."""
    parts = urlsplit(url)
    host = (parts.hostname or "").removeprefix("www.")
    path = parts.path.rstrip("/")
    if not host:
        return truncate(url, 60)
    return host + (truncate(path, 40) if path else "")


def render_not_found(kind: str, item_id: str, suggestions: Sequence[str]) -> list[str]:
    lines = [t("card.not_found", kind=t(f"kind.{kind}").lower(), id=truncate(item_id, 80))]
    if suggestions:
        lines.append(t("card.not_found_suggest"))
        lines += [f"• {code(s)}" for s in suggestions]
    else:
        lines.append(t("card.not_found_none"))
    return ["\n".join(lines)]


def marked_to_html(text: str) -> str:
    """Escape text from the search index, turning highlight markers into <b> tags."""
    out: list[str] = []
    open_tag = False
    for piece in _split_markers(text):
        if piece == HIGHLIGHT_START:
            if not open_tag:
                out.append("<b>")
                open_tag = True
        elif piece == HIGHLIGHT_END:
            if open_tag:
                out.append("</b>")
                open_tag = False
        else:
            out.append(escape(piece.replace("\n", " ")))
    if open_tag:
        out.append("</b>")
    return "".join(out).replace("<b></b>", "")


def _split_markers(text: str) -> list[str]:
    pieces: list[str] = []
    current: list[str] = []
    for char in text:
        if char in (HIGHLIGHT_START, HIGHLIGHT_END):
            if current:
                pieces.append("".join(current))
                current = []
            pieces.append(char)
        else:
            current.append(char)
    if current:
        pieces.append("".join(current))
    return pieces


def truncate_marked(text: str, limit: int) -> str:
    """Truncate marked text without counting markers (a cut marker pair is closed later)."""
    visible = 0
    for index, char in enumerate(text):
        if char not in (HIGHLIGHT_START, HIGHLIGHT_END):
            visible += 1
            if visible > limit:
                return text[:index].rstrip() + "…"
    return text


def render_search(result: SearchResult, query_text: str, offset: int) -> list[str]:
    shown_query = "“" + truncate(" ".join(result.terms), 80) + "”"
    if not result.hits:
        return [t("search.none", query=shown_query)]
    if result.capped:
        # Counting stopped at the cap: "500+ results", never an exact number that is false.
        total = f"{result.total}+"
        count = t("count.result.many", count=total)
    else:
        total = str(result.total)
        count = plural(result.total, "result")
    header = [t("search.title", count=count, query=shown_query)]
    if result.any_word:
        header.append(t("search.any_word"))
    if result.total > len(result.hits):
        header.append(
            t("search.page", first=offset + 1, last=offset + len(result.hits), total=total)
        )
    blocks = ["\n".join(header)]
    for number, hit in enumerate(result.hits, offset + 1):
        item = hit.item
        # The title is not bold as a whole, so the matched words stand out in it.
        title = marked_to_html(truncate_marked(hit.title_marked, TITLE_LIMIT))
        lines = [f"<b>{number}.</b> {title}"]
        meta = item_meta_line(item)
        lines.append(" · ".join(filter(None, [meta, italic(t(f"kind.{item.kind}"))])))
        snippet = marked_to_html(truncate_marked(hit.snippet_marked, SNIPPET_LIMIT))
        if snippet.strip():
            lines.append(snippet)
        lines.append(f"{link(item.sources[0], source_label(item.sources[0]))} · {code(item.id)}")
        blocks.append("\n".join(lines))
    return blocks


def render_topics(counts: Sequence[TopicCount]) -> list[str]:
    blocks = [t("topics.title")]
    blocks += [
        t(
            "topics.line",
            name=c.topic.name,
            count=plural(c.items, "item"),
            slug=c.topic.slug,
            description=c.topic.description,
        )
        for c in counts
    ]
    return blocks


def render_countries(counts: Sequence[CountryCount]) -> list[str]:
    lines = [t("countries.title"), ""]
    lines += [
        t("countries.line", name=c.country.name, code=c.country.code, count=plural(c.items, "item"))
        for c in counts
    ]
    return ["\n".join(lines)]


def render_about(summary: StoreSummary, version: str) -> list[str]:
    updated = format_timestamp(summary.last_updated) if summary.last_updated else t("about.never")
    return [
        t(
            "about.body",
            items=summary.items,
            events=summary.events,
            initiatives=summary.initiatives,
            sources=summary.sources,
            updated=updated,
            version=version,
        )
    ]


def render_welcome(first_name: str | None) -> list[str]:
    return [t("start.welcome", name=truncate(first_name or "there", 64))]


def render_help(bot_username: str) -> list[str]:
    return [t("help.title") + "\n\n" + t("help.body", bot=bot_username)]


def render_inline_description(item: Item) -> str:
    """Plain text under an inline result's title (not HTML: Telegram shows it raw)."""
    when = format_date_range(item.date, item.end_date)
    return truncate(" · ".join(filter(None, [when, one_line(item)])), 200)
