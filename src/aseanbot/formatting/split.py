"""Split formatted output into Telegram messages on item boundaries, never inside a tag."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from aseanbot.constants import MESSAGE_LIMIT
from aseanbot.formatting.html import escape, utf16_len, visible_text

BLOCK_SEPARATOR = "\n\n"


def split_message(blocks: Sequence[str], *, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Pack HTML blocks into as few messages as fit within `limit` visible UTF-16 units.

    Each block, and each line of a block, must be balanced HTML (our renderers only produce
    that). A block too long for one message is split between its lines; a single line too long
    for one message loses its markup and is cut into plain-text pieces.
    """
    return list(pack_messages(blocks, limit=limit))


class PackedMessages:
    """Messages kept as the blocks they are made of, joined each time one is read.

    A digest pass holds every digest it built until the pass ends, and most blocks are items
    shared by many digests: kept joined, 1,000 digests of three messages took 48 MB (emoji
    make Python store every character of a message in four bytes).
    """

    __slots__ = ("_messages",)

    def __init__(self, messages: Sequence[tuple[str, ...]]) -> None:
        self._messages = tuple(messages)

    def __len__(self) -> int:
        return len(self._messages)

    def __getitem__(self, index: int) -> str:
        return BLOCK_SEPARATOR.join(self._messages[index])

    def __iter__(self) -> Iterator[str]:
        return (BLOCK_SEPARATOR.join(blocks) for blocks in self._messages)


def pack_messages(blocks: Sequence[str], *, limit: int = MESSAGE_LIMIT) -> PackedMessages:
    """`split_message`'s messages, packed: each kept as its blocks (see PackedMessages)."""
    messages: list[tuple[str, ...]] = []
    current: list[str] = []
    current_len = 0
    separator_len = utf16_len(BLOCK_SEPARATOR)
    for block, block_len in _fit_blocks(blocks, limit):
        extra = block_len + (separator_len if current else 0)
        if current and current_len + extra > limit:
            messages.append(tuple(current))
            current, current_len = [], 0
            extra = block_len
        current.append(block)
        current_len += extra
    if current:
        messages.append(tuple(current))
    return PackedMessages(messages)


# A block or line with its visible length in UTF-16 units, measured once: a digest pass splits
# a thousand digests, and stripping tags is most of the work.
_Measured = tuple[str, int]


def _fit_blocks(blocks: Sequence[str], limit: int) -> list[_Measured]:
    """Blocks that each fit in a message: long ones broken between lines, then within lines."""
    fitted: list[_Measured] = []
    for block in blocks:
        visible = visible_text(block)
        if not visible.strip():
            continue
        block_len = utf16_len(visible)
        if block_len <= limit:
            fitted.append((block, block_len))
            continue
        chunk: list[str] = []
        chunk_len = 0
        for line, line_len in _fit_lines(block.split("\n"), limit):
            extra = line_len + (1 if chunk else 0)
            if chunk and chunk_len + extra > limit:
                fitted.append(("\n".join(chunk), chunk_len))
                chunk, chunk_len = [], 0
                extra = line_len
            chunk.append(line)
            chunk_len += extra
        if chunk:
            fitted.append(("\n".join(chunk), chunk_len))
    return fitted


def _fit_lines(lines: list[str], limit: int) -> list[_Measured]:
    fitted: list[_Measured] = []
    for line in lines:
        visible = visible_text(line)
        line_len = utf16_len(visible)
        if line_len <= limit:
            fitted.append((line, line_len))
        else:
            fitted.extend((escape(piece), utf16_len(piece)) for piece in _cut_plain(visible, limit))
    return fitted


def _cut_plain(text: str, limit: int) -> list[str]:
    """Cut plain text into pieces of at most `limit` UTF-16 units, never inside a character."""
    pieces: list[str] = []
    start = 0
    used = 0
    for index, char in enumerate(text):
        width = 2 if ord(char) > 0xFFFF else 1
        if used + width > limit:
            pieces.append(text[start:index])
            start, used = index, 0
        used += width
    pieces.append(text[start:])
    return [piece for piece in pieces if piece]
