"""Splitting into Telegram messages: never over 4096 UTF-16 units, never inside a tag."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aseanbot.formatting.html import bold, escape, link, utf16_len, visible_text
from aseanbot.formatting.split import pack_messages, split_message

HTML_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=1500)


def test_short_output_is_one_message_with_blocks_separated() -> None:
    assert split_message(["<b>a</b>", "b"]) == ["<b>a</b>\n\nb"]


def test_packed_messages_read_as_the_split_ones_and_hold_the_blocks_themselves() -> None:
    """A digest pass keeps its digests packed: the same messages, built from the very block
    objects it gave (shared by every digest with the same item), not copies."""
    entry = "• <a href='https://example.org/a'>An item</a>\n" + "📰 " * 500
    blocks = ["<b>Header</b>", *[entry] * 6, "<i>last</i>"]
    packed = pack_messages(blocks)
    split = split_message(blocks)
    assert len(split) > 1
    assert (len(packed), list(packed)) == (len(split), split)
    assert [packed[i] for i in range(len(packed))] == split
    assert all(block is entry for message in packed._messages for block in message[1:-1])
    assert not pack_messages([])
    assert list(pack_messages(["", " "])) == []


def test_blocks_are_never_cut_when_they_fit() -> None:
    blocks = [f"<b>{i}</b> " + "x" * 1000 for i in range(10)]
    messages = split_message(blocks)
    assert len(messages) == 3
    assert "\n\n".join(messages) == "\n\n".join(blocks)
    for message in messages:
        assert utf16_len(visible_text(message)) <= 4096


def test_the_limit_is_counted_in_utf16_units() -> None:
    emoji_block = "😀" * 1500  # 3000 UTF-16 units, 1500 code points
    messages = split_message([emoji_block, emoji_block])
    assert len(messages) == 2


def test_entities_count_as_one_character() -> None:
    block = escape("<" * 4000)  # 16000 characters of HTML, 4000 visible
    assert split_message([block]) == [block]


def test_a_huge_line_is_cut_as_plain_text_within_the_limit() -> None:
    line = bold("😀" * 5000)
    messages = split_message([line])
    assert len(messages) == 3
    assert all(utf16_len(visible_text(m)) <= 4096 for m in messages)
    assert "".join(visible_text(m) for m in messages) == "😀" * 5000


def test_empty_blocks_are_dropped() -> None:
    assert split_message(["", "  ", "<b></b>", "text"]) == ["text"]


@pytest.mark.parametrize("limit", [2, 10, 4096])  # 2: room for one emoji
def test_any_limit_is_honoured(limit: int) -> None:
    blocks = [link("https://example.org/?a=1&b=2", "ab😀c" * 7), "x\ny\nz" * 5]
    for message in split_message(blocks, limit=limit):
        assert 0 < utf16_len(visible_text(message)) <= limit


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(HTML_TEXT, min_size=1, max_size=4), min_size=1, max_size=8))
def test_arbitrary_text_splits_into_balanced_messages_within_the_limit(
    blocks_lines: list[list[str]],
) -> None:
    blocks = ["\n".join(bold(line) for line in lines) for lines in blocks_lines]
    messages = split_message(blocks)
    for message in messages:
        assert utf16_len(visible_text(message)) <= 4096
        assert message.count("<b>") == message.count("</b>")
    # Nothing visible is lost except whitespace between blocks and lines.
    joined = "".join(visible_text(m) for m in messages)
    expected = "".join(visible_text(b) for b in blocks if visible_text(b).strip())
    assert "".join(joined.split()) == "".join(expected.split())
