"""The small set of HTML helpers every renderer uses, so escaping happens in one place."""

from __future__ import annotations

import html
import re

_TAG = re.compile(r"<[^>]*>")


class Html(str):
    """A string already in Telegram HTML: inserted as is, never escaped again."""

    __slots__ = ()


def escape(text: object) -> str:
    """Escape any value for Telegram HTML text or attribute context."""
    if isinstance(text, Html):
        return str(text)
    return html.escape(str(text), quote=True)


def bold(text: object) -> Html:
    return Html(f"<b>{escape(text)}</b>")


def italic(text: object) -> Html:
    return Html(f"<i>{escape(text)}</i>")


def code(text: object) -> Html:
    return Html(f"<code>{escape(text)}</code>")


def link(url: str, text: object) -> Html:
    return Html(f'<a href="{html.escape(url, quote=True)}">{escape(text)}</a>')


def visible_text(fragment: str) -> str:
    """The text Telegram shows for a fragment of our own HTML: tags dropped, entities decoded."""
    return html.unescape(_TAG.sub("", fragment))


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def truncate(text: str, limit: int) -> str:
    """Cut plain text to at most `limit` characters at a word boundary, adding an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–") + "…"
