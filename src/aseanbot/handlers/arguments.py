"""Reading a command's arguments the same way in chats, deep links and the console."""

from __future__ import annotations

from aseanbot.constants import SEARCH_TEXT_LIMIT
from aseanbot.services import AppContext


def argument_text(context: AppContext) -> str:
    """Everything after the command, as one string (bounded, whitespace-normalised)."""
    return " ".join(context.args or [])[:SEARCH_TEXT_LIMIT].strip()


def is_ascii_number(text: str) -> bool:
    """Digits 0-9 only: str.isdigit() also accepts "²" and "①", which int() refuses."""
    return text.isascii() and text.isdigit()
