"""Search, plain-text search and inline mode, end to end, including hostile input."""

from __future__ import annotations

import pytest

from aseanbot.store import store as store_module
from tests.e2e.harness import BotHarness, button_labels, entity_texts
from tests.fake_bot_api import parse_telegram_html


async def test_search_ranks_and_highlights_matches(bot: BotHarness) -> None:
    exchange = await bot.say("/search Bangkok declaration")
    reply = exchange.only()
    assert "results for “bangkok declaration”" in reply.text
    bold = entity_texts(reply, "bold")
    assert "Bangkok" in bold
    assert "Declaration" in bold
    assert "5th-adgmin-bangkok-2025" in reply.text


async def test_plain_text_in_a_private_chat_is_a_search(bot: BotHarness) -> None:
    reply = (await bot.say("RCEP")).only()
    assert "for “rcep”" in reply.text
    assert "rcep-signed-hanoi-2020" in reply.text


async def test_search_with_no_match_says_so(bot: BotHarness) -> None:
    reply = (await bot.say("/search zeppelin")).only()
    assert "Nothing found for “zeppelin”" in reply.text


async def test_search_without_words_explains_itself(bot: BotHarness) -> None:
    reply = (await bot.say("/search")).only()
    assert "/search Bangkok declaration" in reply.text


async def test_when_no_item_has_every_word_items_with_any_are_shown(bot: BotHarness) -> None:
    reply = (await bot.say("/search RCEP zeppelin")).only()
    assert "showing items with any of them" in reply.text
    assert "rcep" in reply.text.lower()


async def test_search_results_page_with_buttons(bot: BotHarness) -> None:
    first = (await bot.say("/search digital")).only()
    assert "Next ▶" in button_labels(first)
    second = (await bot.press_button(first, "Next ▶")).only()
    assert second.edited
    assert "6–10 of" in second.text


async def test_a_capped_count_is_not_shown_as_exact(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "SEARCH_CANDIDATES", 7)
    first = (await bot.say("/search asean")).only()
    assert "7+ results for “asean”" in first.text
    assert "1–5 of 7+" in first.text
    second = (await bot.press_button(first, "Next ▶")).only()
    assert "6–7 of 7+" in second.text
    assert "Next ▶" not in button_labels(second)


@pytest.mark.parametrize(
    "text",
    [
        '"',
        '"unbalanced quote',
        "OR",
        "AND OR NOT",
        "*",
        "bangkok*",
        "NEAR(",
        "NEAR(a b, 3)",
        "title:rcep",
        "^rcep",
        "{col1 col2}: x",
        "🇹🇭🙂",
        "<b>bold</b> & <script>",
        "a" * 4000,
        "word " * 800,
        "\u0000null",
        "‮rtl override",
    ],
)
async def test_any_input_gets_a_reply_telegram_accepts(bot: BotHarness, text: str) -> None:
    exchange = await bot.say(f"/search {text}")
    assert exchange.messages, f"no reply to /search {text[:40]!r}"
    for message in exchange.messages:
        parse_telegram_html(message.html)  # raises if Telegram would reject it
    assert "something went wrong" not in exchange.text


async def test_inline_mode_lists_matching_items_as_shareable_cards(bot: BotHarness) -> None:
    answer = await bot.inline("RCEP")
    results = answer["results"]
    assert results
    assert all(r["type"] == "article" for r in results)
    assert "rcep-signed-hanoi-2020" in [r["id"] for r in results]
    first = results[0]
    assert "RCEP" in first["title"]
    parse_telegram_html(first["input_message_content"]["message_text"])
    assert first["input_message_content"]["parse_mode"] == "HTML"


async def test_inline_mode_without_words_offers_the_latest(bot: BotHarness) -> None:
    answer = await bot.inline("")
    assert answer["results"][0]["id"] == "defa-negotiations-concluded-2026"


async def test_inline_mode_pages_with_next_offset(bot: BotHarness) -> None:
    first = await bot.inline("asean")
    assert first["next_offset"] == "10"
    second = await bot.inline("asean", offset="10")
    first_ids = {r["id"] for r in first["results"]}
    assert not first_ids & {r["id"] for r in second["results"]}


async def test_inline_mode_with_no_match_says_so(bot: BotHarness) -> None:
    answer = await bot.inline("zeppelin")
    assert [r["title"] for r in answer["results"]] == ["Nothing found for “zeppelin”"]
