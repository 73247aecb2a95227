"""The settings screens: Telegram-valid HTML, times in the chat's zone, buttons that decode."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pytest
from telegram import InlineKeyboardMarkup

from aseanbot.callbacks import SettingsAction, decode
from aseanbot.catalog import Catalog
from aseanbot.formatting import settings as screens
from aseanbot.loader import read_dataset
from aseanbot.models import Country, Subscription, Topic
from aseanbot.scheduling import Schedule
from tests.fake_bot_api import parse_telegram_html

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
NOW = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.UTC)
# 08:00 in Bangkok (UTC+7) on Tuesday 1 December 2026.
NEXT = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    dataset = read_dataset(DATA_DIR)
    return Catalog(topics=dataset.topics, countries=dataset.countries, partners=dataset.partners)


def subscription(**changes: object) -> Subscription:
    base = Subscription(
        chat_id=42,
        chat_type="private",
        schedule=Schedule("daily", dt.time(8, 0), "Asia/Bangkok"),
        watermark=NOW - dt.timedelta(days=1),
        created_at=NOW,
        updated_at=NOW,
        next_due_at=NEXT,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


SUBSCRIPTIONS = {
    "all": subscription(),
    "narrowed": subscription(topics=("trade", "ai-governance"), countries=("TH", "VN")),
    "weekly": subscription(schedule=Schedule("weekly", dt.time(19, 30), "Asia/Manila", 4)),
    "off": subscription(schedule=Schedule("off", dt.time(8, 0), "UTC"), next_due_at=None),
    "offset": subscription(schedule=Schedule("daily", dt.time(7, 0), "UTC+07:00")),
    "stopped": subscription(active=False, next_due_at=None, send_empty=True),
}


def callback_actions(keyboard: InlineKeyboardMarkup) -> list[SettingsAction]:
    actions = []
    for row in keyboard.inline_keyboard:
        for button in row:
            assert button.callback_data is not None
            assert len(str(button.callback_data).encode()) <= 64
            action = decode(str(button.callback_data))
            assert isinstance(action, SettingsAction)
            actions.append(action)
    return actions


def labels(keyboard: InlineKeyboardMarkup) -> list[str]:
    return [button.text for row in keyboard.inline_keyboard for button in row]


def visible(blocks: list[str]) -> str:
    return "\n\n".join(parse_telegram_html(block)[0] for block in blocks)


@pytest.mark.parametrize("name", sorted(SUBSCRIPTIONS))
@pytest.mark.parametrize("screen", screens.SCREENS)
def test_every_screen_is_valid_html_with_buttons_that_decode(
    catalog: Catalog, screen: str, name: str
) -> None:
    shown = SUBSCRIPTIONS[name]
    text = visible(screens.render_settings(screen, shown, catalog))
    assert text
    actions = callback_actions(screens.settings_keyboard(screen, shown, catalog))
    assert actions
    if screen != "main":
        assert actions[-1] == SettingsAction("main")  # every sub-screen leads back


def test_the_main_screen_shows_the_schedule_and_the_next_digest_in_the_chats_zone(
    catalog: Catalog,
) -> None:
    text = visible(screens.render_settings("main", SUBSCRIPTIONS["narrowed"], catalog))
    assert "Topics: Trade, AI governance" in text
    assert "Countries: Thailand, Viet Nam" in text
    assert "Daily at 08:00" in text
    assert "Asia/Bangkok (UTC+07:00)" in text
    assert "Next digest: Tue 1 Dec, 08:00 (Asia/Bangkok)" in text


def test_a_weekly_schedule_names_its_day_and_offers_the_day_button(catalog: Catalog) -> None:
    shown = SUBSCRIPTIONS["weekly"]
    text = visible(screens.render_settings("main", shown, catalog))
    assert "Weekly on Friday at 19:30" in text
    keyboard = screens.settings_keyboard("main", shown, catalog)
    assert SettingsAction("weekday") in callback_actions(keyboard)
    daily = screens.settings_keyboard("main", SUBSCRIPTIONS["all"], catalog)
    assert SettingsAction("weekday") not in callback_actions(daily)


def test_off_and_stopped_say_no_digest_is_coming(catalog: Catalog) -> None:
    off = visible(screens.render_settings("main", SUBSCRIPTIONS["off"], catalog))
    assert "No digest is scheduled" in off
    stopped = SUBSCRIPTIONS["stopped"]
    text = visible(screens.render_settings("main", stopped, catalog))
    assert "Unsubscribed" in text
    keyboard = screens.settings_keyboard("main", stopped, catalog)
    assert SettingsAction("subscribe") in callback_actions(keyboard)
    assert SettingsAction("unsubscribe") not in callback_actions(keyboard)


def test_the_empty_toggle_sets_the_opposite_of_what_it_shows(catalog: Catalog) -> None:
    quiet = screens.settings_keyboard("main", SUBSCRIPTIONS["all"], catalog)
    assert SettingsAction("empty", "on") in callback_actions(quiet)
    assert "📭 Say when nothing is new: off" in labels(quiet)
    noisy = screens.settings_keyboard("main", SUBSCRIPTIONS["stopped"], catalog)
    assert SettingsAction("empty", "off") in callback_actions(noisy)


def test_topic_buttons_mark_the_followed_topics(catalog: Catalog) -> None:
    keyboard = screens.settings_keyboard("topics", SUBSCRIPTIONS["narrowed"], catalog)
    shown = labels(keyboard)
    assert "✅ Trade" in shown
    assert "✅ AI governance" in shown
    assert "Cybersecurity" in shown
    assert "All topics" in shown  # not marked: some are chosen
    actions = callback_actions(keyboard)
    assert SettingsAction("topic", "trade") in actions
    assert SettingsAction("topic") in actions
    everything = screens.settings_keyboard("topics", SUBSCRIPTIONS["all"], catalog)
    assert "✅ All topics" in labels(everything)


def test_country_buttons_offer_the_eleven_members_only(catalog: Catalog) -> None:
    keyboard = screens.settings_keyboard("countries", SUBSCRIPTIONS["narrowed"], catalog)
    codes = [a.value for a in callback_actions(keyboard) if a.screen == "country" and a.value]
    assert len(codes) == 11
    assert "ASEAN" not in codes
    assert "✅ Thailand" in labels(keyboard)


def test_the_time_grid_marks_the_current_hour(catalog: Catalog) -> None:
    keyboard = screens.settings_keyboard("time", SUBSCRIPTIONS["all"], catalog)
    values = [a.value for a in callback_actions(keyboard) if a.screen == "time"]
    assert values[0] == "06:00"
    assert values[-1] == "22:00"
    assert "✅ 08:00" in labels(keyboard)
    text = visible(screens.render_settings("time", SUBSCRIPTIONS["all"], catalog))
    assert "/time 7:30am" in text


def test_the_zone_buttons_are_the_asean_capitals_and_utc(catalog: Catalog) -> None:
    keyboard = screens.settings_keyboard("zone", SUBSCRIPTIONS["all"], catalog)
    zones = [a.value for a in callback_actions(keyboard) if a.screen == "zone"]
    assert len(zones) == 12
    assert {"Asia/Bangkok", "Asia/Manila", "Asia/Jakarta", "UTC"} <= set(zones)
    assert "✅ 🇹🇭 Bangkok" in labels(keyboard)
    text = visible(screens.render_settings("zone", SUBSCRIPTIONS["all"], catalog))
    assert "/timezone Berlin" in text


def test_subscribed_and_schedule_replies_show_the_next_digest(catalog: Catalog) -> None:
    text = visible(screens.render_subscribed(SUBSCRIPTIONS["all"], catalog, state="new"))
    assert "Subscribed" in text
    assert "all topics" in text
    assert "Next digest: Tue 1 Dec, 08:00 (Asia/Bangkok)" in text
    assert callback_actions(screens.subscribed_keyboard()) == [
        SettingsAction("topics"),
        SettingsAction("countries"),
        SettingsAction("main"),
    ]
    saved = visible(screens.render_schedule_saved(SUBSCRIPTIONS["offset"]))
    assert "Daily at 07:00" in saved
    assert "UTC+07:00" in saved


@pytest.mark.parametrize(
    ("key", "suggestions", "expected"),
    [
        ("schedule.bad_timezone", ["Asia/Jakarta"], "Did you mean Asia/Jakarta?"),
        ("schedule.bad_timezone", [], "Try a city such as Manila"),
        ("schedule.bad_time", [], "as a time of day"),
        ("schedule.bad_frequency", [], "is not a frequency"),
    ],
)
def test_schedule_errors_quote_the_input_safely(
    key: str, suggestions: list[str], expected: str
) -> None:
    text = visible(screens.render_schedule_error(key, "<b>&Mars", suggestions))
    assert expected in text
    assert "“<b>&Mars”" in text  # shown as typed, not as markup


def test_names_with_markup_characters_are_escaped() -> None:
    hostile = Catalog(
        topics=(Topic("trade", "Trade & <more>", "d"),),
        countries=(Country("ASEAN", "All"), Country("TH", "Thai <land>")),
    )
    shown = subscription(topics=("trade",), countries=("TH",))
    for screen in screens.SCREENS:
        text = visible(screens.render_settings(screen, shown, hostile))
        assert "<more>" in text or screen not in ("main", "topics")
    closed = visible(screens.render_closed(shown, hostile))
    assert "Trade & <more>" in closed
    assert "Thai <land>" in closed


def test_unsubscribed_and_not_subscribed_offer_a_subscribe_button() -> None:
    assert "Unsubscribed" in visible(screens.render_unsubscribed())
    assert callback_actions(screens.resubscribe_keyboard()) == [SettingsAction("subscribe")]
    assert "Asia/Jakarta" in visible(screens.render_not_subscribed("Asia/Jakarta"))
    assert callback_actions(screens.subscribe_keyboard()) == [SettingsAction("subscribe")]
