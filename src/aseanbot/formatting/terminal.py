"""Telegram HTML and keyboards shown as terminal text, for console mode. Pure functions."""

from __future__ import annotations

import html
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

_STYLES = {
    "b": "1",
    "strong": "1",
    "i": "3",
    "em": "3",
    "u": "4",
    "ins": "4",
    "s": "9",
    "strike": "9",
    "del": "9",
    "code": "36",
    "pre": "36",
    "a": "4;34",
    "tg-spoiler": "2",
    "blockquote": "2",
}
_RESET = "\x1b[0m"


class _TerminalRenderer(HTMLParser):
    def __init__(self, color: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.color = color
        self.out: list[str] = []
        self.stack: list[tuple[str, str | None]] = []

    def _restyle(self) -> None:
        if not self.color:
            return
        codes = [_STYLES[tag] for tag, _ in self.stack if tag in _STYLES]
        self.out.append(_RESET + (f"\x1b[{';'.join(codes)}m" if codes else ""))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href") if tag == "a" else None
        self.stack.append((tag, href))
        self._restyle()

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                _, href = self.stack.pop(index)
                self._restyle()
                if href:
                    self.out.append(self._dim(f" <{href}>"))
                return

    def handle_data(self, data: str) -> None:
        self.out.append(data)

    def _dim(self, text: str) -> str:
        return f"\x1b[2m{text}{_RESET}" if self.color else text


def html_to_terminal(text: str, *, color: bool) -> str:
    """Render Telegram HTML for a terminal: ANSI styles when `color`, links followed by <url>."""
    renderer = _TerminalRenderer(color)
    renderer.feed(text)
    renderer.close()
    rendered = "".join(renderer.out)
    return rendered + (_RESET if color else "")


@dataclass(frozen=True, slots=True)
class Choice:
    """One pickable button: its number on screen and what pressing it does."""

    number: int
    label: str
    callback_data: str | None = None
    url: str | None = None
    inline_query: str | None = None


def keyboard_choices(reply_markup: dict[str, Any] | None) -> list[Choice]:
    """Number every button of an inline keyboard (as the Bot API sends it) from 1."""
    if not reply_markup:
        return []
    choices: list[Choice] = []
    for row in reply_markup.get("inline_keyboard", []):
        for button in row:
            choices.append(
                Choice(
                    number=len(choices) + 1,
                    label=str(button.get("text", "")),
                    callback_data=button.get("callback_data"),
                    url=button.get("url"),
                    inline_query=button.get("switch_inline_query"),
                )
            )
    return choices


def render_choices(choices: list[Choice], *, color: bool) -> str:
    """Buttons as '[1] label' lines, one keyboard row's worth per line."""
    if not choices:
        return ""
    cells = []
    for choice in choices:
        label = html.unescape(choice.label)
        if choice.url:
            label += f" <{choice.url}>"
        number = f"\x1b[1;33m[{choice.number}]\x1b[0m" if color else f"[{choice.number}]"
        cells.append(f"{number} {label}")
    lines, line = [], ""
    for cell in cells:
        if line and len(line) + len(cell) > 100:
            lines.append(line)
            line = ""
        line = f"{line}   {cell}" if line else cell
    lines.append(line)
    return "\n".join(lines)
