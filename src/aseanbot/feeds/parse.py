"""Parse an RSS 2.0, RSS 1.0 (RDF) or Atom document into clean, plain-text entries.

feedparser does the format work; this module turns what it found into `FeedEntry` values a
reader can see: one-line titles, absolute http(s) links, HTML turned into short plain text
and UTC dates. It is pure (no I/O) but CPU-bound: call it through `asyncio.to_thread`.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser  # type: ignore[import-untyped]

SUMMARY_LIMIT = 1000  # characters, the ellipsis included
_ELLIPSIS = "…"

# Elements whose content is never text a reader should see.
_SKIPPED_TAGS = frozenset(
    {"script", "style", "noscript", "template", "head", "svg", "math", "iframe", "object"}
)
# Elements that start a new line: a paragraph, a heading, a list item, a table row ...
_LINE_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt",
        "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header",
        "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "thead",
        "tfoot", "tr", "ul",
    }
)  # fmt: skip
# Elements that only need a space between neighbours (table cells).
_SPACE_TAGS = frozenset({"td", "th", "caption"})
# Characters that take space in no font: they would glue or split words unseen.
_WHITESPACE = re.compile(r"\s+")
_INVISIBLE = str.maketrans({"\u200b": None, "\u200c": None, "\ufeff": None, "\xad": None})


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One entry of a feed, cleaned for display and storage."""

    title: str  # plain text, one line; "" when the entry has only a summary
    link: str | None  # absolute http(s) URL, or None when the entry has none usable
    guid: str | None
    summary: str  # plain text, whitespace collapsed, at most SUMMARY_LIMIT characters
    published: dt.date | None  # the UTC date of publication (or of the last update)


class FeedParseError(ValueError):
    """The document is not an RSS, RDF or Atom feed at all; the message says why."""


def parse_feed(body: bytes, *, base_url: str) -> tuple[FeedEntry, ...]:
    """Return the entries of the feed document `body`, fetched from `base_url`, in order.

    Relative links are resolved against `base_url` (or the document's xml:base). Entries
    with neither a title nor a summary are dropped; entries without a usable link are kept
    with link None. Raises FeedParseError when `body` is not a feed.
    """
    if not body.strip():
        raise FeedParseError("the document is empty")
    # No base URL is handed to feedparser: it would resolve guids as if they were links
    # ("1234" -> "https://host/feed/1234"), changing them whenever the feed URL changes.
    parsed = feedparser.parse(body)
    entries = parsed.get("entries") or []
    if not entries:
        _check_is_feed(parsed)
    found = (_entry(raw, base_url) for raw in entries)
    return tuple(entry for entry in found if entry is not None)


def _check_is_feed(parsed: Mapping[str, Any]) -> None:
    """Raise FeedParseError unless an entry-less document is still a (possibly empty) feed."""
    version = parsed.get("version")
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    title = (parsed.get("feed") or {}).get("title")
    if version and not (problem and not title):
        return
    if problem is not None:
        raise FeedParseError(f"not well-formed XML and no feed found ({_short(problem)})")
    raise FeedParseError("no RSS, RDF or Atom feed elements found")


def _short(problem: object) -> str:
    text = " ".join(str(problem).split())
    return text if len(text) <= 120 else text[:119] + _ELLIPSIS


def _entry(raw: Mapping[str, Any], base_url: str) -> FeedEntry | None:
    title = " ".join(_detail_text(raw.get("title"), raw.get("title_detail")).split())
    summary = _truncate(" ".join(_summary_text(raw).split()), SUMMARY_LIMIT)
    if not title and not summary:
        return None
    guid = str(raw.get("id") or "").strip() or None
    return FeedEntry(
        title=title,
        link=_link(raw, guid, base_url),
        guid=guid,
        summary=summary,
        published=_published(raw),
    )


def _summary_text(raw: Mapping[str, Any]) -> str:
    summary = raw.get("summary")
    if summary:
        return _detail_text(summary, raw.get("summary_detail"))
    for content in raw.get("content") or ():
        text = _detail_text(content.get("value"), content)
        if text.strip():
            return text
    return ""


def _detail_text(value: object, detail: Mapping[str, Any] | None) -> str:
    """Plain text of a feedparser text construct: HTML is converted, plain text kept."""
    if not isinstance(value, str) or not value:
        return ""
    kind = str((detail or {}).get("type") or "text/html")
    if kind == "text/plain":
        return value.translate(_INVISIBLE)
    return html_to_text(value)


def _link(raw: Mapping[str, Any], guid: str | None, base_url: str) -> str | None:
    link = str(raw.get("link") or "").strip()
    if not link:
        return None
    # feedparser copies a guid into the link when the guid may be a permalink, even when it
    # is no URL at all ("post-42"): such a guid is no link, however it resolves.
    if link == guid and not _is_web_url(link):
        return None
    try:
        absolute = urljoin(base_url, link)
    except ValueError:
        return None
    return absolute if _is_web_url(absolute) else None


def _is_web_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def _published(raw: Mapping[str, Any]) -> dt.date | None:
    # feedparser's *_parsed values are already in UTC.
    for key in ("published_parsed", "updated_parsed"):
        stamp = raw.get(key)
        if isinstance(stamp, time.struct_time):
            try:
                seconds = calendar.timegm(stamp)
                return dt.datetime.fromtimestamp(seconds, dt.UTC).date()
            except (OverflowError, ValueError, OSError):
                continue
    return None


def _truncate(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters at a word boundary, marked with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - len(_ELLIPSIS) + 1]
    space = cut.rfind(" ")
    # A single enormous "word" (a URL, a run of Thai script) is cut where it stands.
    cut = cut[:space] if space > limit // 2 else cut[:-1]
    return cut.rstrip(" ,;:.-–—") + _ELLIPSIS


def html_to_text(html: str) -> str:
    """Return the text a reader sees in an HTML fragment.

    Tags go, entities are decoded, scripts, styles and other non-text elements are dropped;
    block elements (paragraphs, headings, list items, rows, <br>) become line breaks and
    table cells spaces. Other whitespace, source line breaks included, becomes one space;
    blank lines are dropped.
    """
    extractor = _TextExtractor()
    try:
        extractor.feed(html)
        extractor.close()
    except (AssertionError, ValueError):
        # html.parser gives up on a few kinds of broken markup; keep what it had read.
        pass
    lines = "".join(extractor.pieces).translate(_INVISIBLE).split("\n")
    return "\n".join(joined for line in lines if (joined := " ".join(line.split())))


class _TextExtractor(HTMLParser):
    """Collects text pieces, with "\n" at block boundaries and " " between cells."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[str] = []
        self._skipping: list[str] = []  # open skipped elements, innermost last

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping.append(tag)
        elif not self._skipping:
            self._boundary(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if not self._skipping:
            self._boundary(tag)  # <br/>, <hr/>; a self-closed <script/> has no content

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            if tag in self._skipping:
                while self._skipping.pop() != tag:
                    pass
        elif not self._skipping:
            self._boundary(tag)

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            # Line breaks in the source are spaces, as in a browser: only elements break lines.
            self.pieces.append(_WHITESPACE.sub(" ", data))

    def _boundary(self, tag: str) -> None:
        if tag in _LINE_TAGS:
            self.pieces.append("\n")
        elif tag in _SPACE_TAGS:
            self.pieces.append(" ")
