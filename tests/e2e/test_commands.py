"""Every command, end to end: the real Application against the fake Telegram Bot API."""

from __future__ import annotations

import pytest

from aseanbot.app import MENU_COMMANDS
from aseanbot.handlers import COMMANDS
from tests.e2e.harness import BotHarness, button_labels
from tests.fake_bot_api import parse_telegram_html, utf16_len

BANGKOK = "5th-adgmin-bangkok-2025"


def assert_telegram_accepts(html: str) -> None:
    text, _ = parse_telegram_html(html)
    assert 0 < utf16_len(text) <= 4096


async def test_start_registers_the_command_menu(bot: BotHarness) -> None:
    calls = bot.api.calls("setMyCommands")
    assert calls, "setMyCommands was not called at start"
    names = [c["command"] for c in bot.api.my_commands()]
    assert names == list(MENU_COMMANDS)


async def test_start_welcomes_with_buttons(bot: BotHarness) -> None:
    reply = (await bot.say("/start")).only()
    assert "Welcome to aseanbot" in reply.text
    assert reply.parse_mode == "HTML"
    assert reply.link_preview_options == {"is_disabled": True}
    assert "🆕 Latest" in button_labels(reply)


async def test_a_deep_link_opens_the_item(bot: BotHarness) -> None:
    exchange = await bot.say(f"/start event_{BANGKOK}")
    assert "5th ASEAN Digital Ministers' Meeting" in exchange.messages[0].text
    assert "Sources" in exchange.text


async def test_a_deep_link_to_nothing_still_welcomes(bot: BotHarness) -> None:
    reply = (await bot.say("/start event_no-such-item")).only()
    assert "Welcome to aseanbot" in reply.text
    assert "points to something I don't have" not in reply.text  # an item link, just gone


async def test_help_lists_every_command_with_an_example(bot: BotHarness) -> None:
    reply = (await bot.say("/help")).only()
    for name in COMMANDS:
        if name != "start":
            assert f"/{name}" in reply.text
    assert "@aseanbot_test" in reply.text


async def test_latest_shows_five_newest_items_by_default(bot: BotHarness) -> None:
    reply = (await bot.say("/latest")).only()
    assert "Latest 5" in reply.text
    assert "defa-negotiations-concluded-2026" in reply.text.split("\n\n")[1]
    assert button_labels(reply) == ["1", "2", "3", "4", "5"]


async def test_latest_takes_a_count(bot: BotHarness) -> None:
    reply = (await bot.say("/latest 12")).only()
    assert "Latest 12" in reply.text
    assert len(button_labels(reply)) == 12


@pytest.mark.parametrize("argument", ["0", "21", "abc", "-3", "5.5", "<b>"])
async def test_latest_explains_a_bad_count(bot: BotHarness, argument: str) -> None:
    reply = (await bot.say(f"/latest {argument}")).only()
    assert "from 1 to 20" in reply.text
    assert argument in reply.text


async def test_events_filter_by_topic_and_page_with_buttons(bot: BotHarness) -> None:
    first = (await bot.say("/events digital-economy")).only()
    assert "Events · Digital economy" in first.text
    assert "page 1/" in first.text
    assert "Next ▶" in button_labels(first)
    assert "◀ Prev" not in button_labels(first)

    second = (await bot.press_button(first, "Next ▶")).only()
    assert second.edited
    assert second.message_id == first.message_id
    assert "page 2/" in second.text
    assert "◀ Prev" in button_labels(second)
    assert second.text != first.text

    back = (await bot.press_button(second, "◀ Prev")).only()
    assert "page 1/" in back.text


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("thailand 2025", "Events · Thailand · 2025"),
        ("TH", "Events · Thailand"),
        ("Viet Nam", "Events · Viet Nam"),
        ("japan", "Events · Japan"),
        ("2024", "Events · 2024"),
    ],
)
async def test_events_filter_by_country_partner_and_year(
    bot: BotHarness, words: str, expected: str
) -> None:
    reply = (await bot.say(f"/events {words}")).only()
    assert expected in reply.text


async def test_events_with_an_unknown_filter_says_what_to_use(bot: BotHarness) -> None:
    reply = (await bot.say("/events atlantis")).only()
    assert "“atlantis”" in reply.text
    assert "/topics" in reply.text


async def test_events_that_match_nothing_say_so(bot: BotHarness) -> None:
    reply = (await bot.say("/events brunei 2020")).only()
    assert "Nothing matches Brunei" in reply.text


async def test_initiatives_list_only_initiatives(bot: BotHarness) -> None:
    reply = (await bot.say("/initiatives")).only()
    assert "Initiatives" in reply.text
    assert "asean-digital-masterplan-2030" in reply.text
    assert BANGKOK not in reply.text


async def test_an_event_card_shows_every_field_and_its_sources(bot: BotHarness) -> None:
    exchange = await bot.say(f"/event {BANGKOK}")
    card = exchange.text
    for expected in (
        "5th ASEAN Digital Ministers' Meeting (ADGMIN)",
        "16–17 Jan 2025",
        "Bangkok, Thailand",
        "Key focus:",
        "Outcome:",
        "People",
        "Sources",
        "Related",
    ):
        assert expected in card
    links = [e["url"] for m in exchange.messages for e in m.entities if e["type"] == "text_link"]
    assert any("asean.org" in url for url in links)
    labels = button_labels(exchange.messages[-1])
    assert labels[:2] == ["🔗 Source", "↗ Share"]


async def test_a_card_button_opens_a_related_item(bot: BotHarness) -> None:
    card = (await bot.say(f"/event {BANGKOK}")).messages[-1]
    related_label = next(label for label in button_labels(card) if label.startswith("→"))
    opened = await bot.press_button(card, related_label)
    assert not opened.messages[0].edited  # the card stays; the related one comes below
    assert "Sources" in opened.text


async def test_an_unknown_id_suggests_the_closest(bot: BotHarness) -> None:
    reply = (await bot.say("/event 5th-adgmin-bangkok")).only()
    assert "no event with the id" in reply.text
    assert BANGKOK in reply.text


async def test_a_card_command_without_an_id_shows_how(bot: BotHarness) -> None:
    reply = (await bot.say("/initiative")).only()
    assert "/initiative asean-digital-masterplan-2030" in reply.text


async def test_asking_for_an_event_by_an_initiative_id_still_shows_it(bot: BotHarness) -> None:
    exchange = await bot.say("/event asean-digital-masterplan-2030")
    assert "is an initiative, not an event" in exchange.text
    assert "ASEAN Digital Masterplan 2030" in exchange.text


async def test_topics_have_counts_and_buttons_that_list_items(bot: BotHarness) -> None:
    reply = (await bot.say("/topics")).only()
    assert "Digital economy" in reply.text
    assert "items" in reply.text
    assert len(button_labels(reply)) == 10
    listed = (await bot.press_button(reply, "Cybersecurity")).only()
    assert "Items · Cybersecurity" in listed.text


async def test_countries_have_counts(bot: BotHarness) -> None:
    reply = (await bot.say("/countries")).only()
    assert "Thailand (TH)" in reply.text
    assert "Timor-Leste" in reply.text


async def test_about_counts_the_data(bot: BotHarness) -> None:
    reply = (await bot.say("/about")).only()
    assert "49 items" in reply.text
    assert "source pages" in reply.text


async def test_an_unknown_command_points_to_help(bot: BotHarness) -> None:
    reply = (await bot.say("/frobnicate now")).only()
    assert "I don't know /frobnicate" in reply.text
    assert "/help" in reply.text


async def test_commands_for_other_bots_in_groups_are_ignored(bot: BotHarness) -> None:
    exchange = await bot.say("/frobnicate@some_other_bot", chat_id=-100, chat_type="supergroup")
    assert exchange.messages == []


async def test_plain_text_in_groups_is_not_a_search(bot: BotHarness) -> None:
    exchange = await bot.say("bangkok", chat_id=-100, chat_type="supergroup")
    assert exchange.messages == []


async def test_commands_work_in_groups_when_addressed(bot: BotHarness) -> None:
    reply = (await bot.say("/latest@aseanbot_test 2", chat_id=-100, chat_type="supergroup")).only()
    assert reply.chat_id == -100
    assert "Latest 2" in reply.text


async def test_replies_in_a_forum_topic_stay_in_that_topic(bot: BotHarness) -> None:
    reply = (
        await bot.say(
            "/about@aseanbot_test", chat_id=-200, chat_type="supergroup", message_thread_id=7
        )
    ).only()
    assert reply.message_thread_id == 7


@pytest.mark.parametrize(
    "data",
    ["garbage", "o|NO", "l|1|t=not-a-topic", "l|1|c=XX", "l|abc|", "m|admin", "s|1|"],
)
async def test_stale_or_forged_buttons_get_a_polite_answer(bot: BotHarness, data: str) -> None:
    exchange = await bot.press(data, message_id=1)
    answers = exchange.answered_callbacks()
    assert len(answers) == 1
    assert exchange.messages == [] or "no longer available" in exchange.text
    if not exchange.messages:
        assert "out of date" in answers[0]["text"]


async def test_a_button_for_a_deleted_item_says_it_is_gone(bot: BotHarness) -> None:
    exchange = await bot.press("o|no-such-item", message_id=1)
    assert "no longer available" in exchange.text


async def test_pressing_the_same_page_twice_is_harmless(bot: BotHarness) -> None:
    first = (await bot.say("/events")).only()
    await bot.press_button(first, "Next ▶")
    again = await bot.press("l|1|k=event", message_id=first.message_id)
    assert len(again.answered_callbacks()) == 1


async def test_a_long_card_is_split_between_messages_telegram_accepts(
    bot: BotHarness, data_dir: object
) -> None:
    exchange = await bot.say("/event 44th-45th-asean-summits-vientiane-2024")
    for message in exchange.messages:
        assert_telegram_accepts(message.html)
