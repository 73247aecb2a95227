"""Render the subscription replies and the /settings screens: HTML blocks and their keyboards.

Pure: a subscription and the catalog in, text and InlineKeyboardMarkup out. Every button of a
settings screen carries a SettingsAction; the handler validates what comes back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from aseanbot.callbacks import SettingsAction, encode
from aseanbot.catalog import Catalog
from aseanbot.formatting.html import Html, code, truncate
from aseanbot.i18n import t, t_plain
from aseanbot.models import ASEAN_CODE, Country, Subscription
from aseanbot.scheduling import (
    WEEKDAYS,
    Schedule,
    format_time_of_day,
    format_timezone,
    zone_for,
)

BUTTON_TEXT_LIMIT = 40
# The screens a settings message can show; the other SettingsAction screens are changes.
SCREENS = ("main", "topics", "countries", "frequency", "weekday", "time", "zone")
# Hours offered as buttons; any other minute is one /time command away.
TIME_CHOICES = tuple(f"{hour:02d}:00" for hour in range(6, 23))
# The zones of the ASEAN capitals, in the members' alphabetical order, then UTC. Place names
# are proper nouns, shown as they are in every language.
ZONE_CHOICES: tuple[tuple[str, str], ...] = (
    ("Asia/Brunei", "🇧🇳 Bandar Seri Begawan"),
    ("Asia/Phnom_Penh", "🇰🇭 Phnom Penh"),
    ("Asia/Jakarta", "🇮🇩 Jakarta"),
    ("Asia/Vientiane", "🇱🇦 Vientiane"),
    ("Asia/Kuala_Lumpur", "🇲🇾 Kuala Lumpur"),
    ("Asia/Yangon", "🇲🇲 Naypyidaw"),
    ("Asia/Manila", "🇵🇭 Manila"),
    ("Asia/Singapore", "🇸🇬 Singapore"),
    ("Asia/Bangkok", "🇹🇭 Bangkok"),
    ("Asia/Dili", "🇹🇱 Dili"),
    ("Asia/Ho_Chi_Minh", "🇻🇳 Hanoi"),
    ("UTC", "🌐 UTC"),
)
ZONE_KEYS = tuple(key for key, _ in ZONE_CHOICES)
SEND_EMPTY_VALUES = {"on": True, "off": False}
MAX_SUGGESTIONS = 3
INPUT_SHOWN_LIMIT = 40  # of what someone typed, quoted back in an error


# --- words for a subscription's parts (plain text: t() escapes them where they are used) ---


def member_countries(catalog: Catalog) -> tuple[Country, ...]:
    """The member states a subscription can follow (not the ASEAN pseudo-country)."""
    return tuple(country for country in catalog.countries if country.code != ASEAN_CODE)


def describe_topics(topics: Sequence[str], catalog: Catalog) -> str:
    if not topics:
        return t_plain("settings.all_topics")
    return ", ".join(catalog.topic_name(slug) for slug in topics)


def describe_countries(countries: Sequence[str], catalog: Catalog) -> str:
    if not countries:
        return t_plain("settings.all_countries")
    return ", ".join(catalog.country_name(code) for code in countries)


def weekday_name(weekday: int) -> str:
    return t_plain(f"weekday.{WEEKDAYS[weekday]}")


def describe_schedule(schedule: Schedule) -> str:
    """'Daily at 08:00', 'Weekly on Tuesday at 08:00' or 'Off'."""
    time = format_time_of_day(schedule.local_time)
    if schedule.frequency == "weekly":
        return t_plain(
            "settings.schedule.weekly", weekday=weekday_name(schedule.weekday), time=time
        )
    if schedule.frequency == "off":
        return t_plain("settings.schedule.off")
    return t_plain("settings.schedule.daily", time=time)


def format_local_moment(moment: dt.datetime, timezone: str) -> str:
    """An instant in the chat's zone, as 'Tue 1 Dec, 08:00 (Asia/Bangkok)'."""
    local = moment.astimezone(zone_for(timezone))
    return f"{local:%a} {local.day} {local:%b}, {format_time_of_day(local.time())} ({timezone})"


def render_next_due(subscription: Subscription) -> str:
    if subscription.next_due_at is None:
        if not subscription.active:
            return t("settings.next_stopped")
        return t("settings.next_none")
    when = format_local_moment(subscription.next_due_at, subscription.schedule.timezone)
    return t("settings.next", when=when)


def describe_zone(subscription: Subscription) -> str:
    """The zone with its UTC offset at the next digest: 'Asia/Bangkok (UTC+07:00)'."""
    at = subscription.next_due_at or subscription.updated_at
    return format_timezone(subscription.schedule.timezone, at=at)


def render_summary(subscription: Subscription, catalog: Catalog) -> str:
    """What a subscription follows and when, one line each, ending with the next digest."""
    schedule = subscription.schedule
    return "\n".join(
        [
            t("settings.line.topics", topics=describe_topics(subscription.topics, catalog)),
            t(
                "settings.line.countries",
                countries=describe_countries(subscription.countries, catalog),
            ),
            t("settings.line.schedule", schedule=describe_schedule(schedule)),
            t("settings.line.zone", zone=describe_zone(subscription)),
            render_next_due(subscription),
        ]
    )


# --- replies to the commands ----------------------------------------------------------------


def render_subscribed(subscription: Subscription, catalog: Catalog, *, state: str) -> list[str]:
    """The answer to /subscribe; `state` is "new", "updated" or "resumed"."""
    return [
        t(f"subscribe.{state}"),
        render_summary(subscription, catalog),
        t("subscribe.narrow_hint"),
    ]


def subscribed_keyboard() -> InlineKeyboardMarkup:
    """Under a /subscribe answer: narrow it down, in this same message."""
    return _markup(
        [
            [
                _button(t_plain("button.choose_topics"), SettingsAction("topics")),
                _button(t_plain("button.choose_countries"), SettingsAction("countries")),
            ],
            [_button(t_plain("button.all_settings"), SettingsAction("main"))],
        ]
    )


def render_unsubscribed() -> list[str]:
    return [t("unsubscribe.done")]


def resubscribe_keyboard() -> InlineKeyboardMarkup:
    return _markup([[_button(t_plain("button.subscribe_again"), SettingsAction("subscribe"))]])


def render_not_subscribed(default_timezone: str) -> list[str]:
    """The settings message of a chat with no (active or stopped) subscription."""
    return [t("settings.title"), t("settings.not_subscribed", zone=default_timezone)]


def subscribe_keyboard() -> InlineKeyboardMarkup:
    return _markup([[_button(t_plain("button.subscribe"), SettingsAction("subscribe"))]])


def render_schedule_saved(subscription: Subscription) -> list[str]:
    """The answer to /time, /timezone and /frequency: the new schedule and the next digest."""
    schedule = subscription.schedule
    lines = [
        t("schedule.saved"),
        t("settings.line.schedule", schedule=describe_schedule(schedule)),
        t("settings.line.zone", zone=describe_zone(subscription)),
        render_next_due(subscription),
    ]
    return ["\n".join(lines)]


def render_schedule_error(key: str, value: str, suggestions: Sequence[str]) -> list[str]:
    """Why a typed time, zone or frequency was not understood (`key` from ScheduleInputError)."""
    if key == "schedule.bad_timezone" and suggestions:
        shown = Html(", ".join(code(zone) for zone in suggestions[:MAX_SUGGESTIONS]))
        return [t("schedule.bad_timezone", value=value, suggestions=shown)]
    if key == "schedule.bad_timezone":
        return [t("schedule.bad_timezone_none", value=value)]
    if key == "schedule.bad_time":
        return [t("schedule.bad_time", value=value)]
    return [t("schedule.bad_frequency", value=value)]


def settings_button_keyboard() -> InlineKeyboardMarkup:
    """One button that turns the message it is on into the settings message."""
    return _markup([[_button(t_plain("button.all_settings"), SettingsAction("main"))]])


def render_closed(subscription: Subscription, catalog: Catalog) -> list[str]:
    return [t("settings.closed"), render_summary(subscription, catalog), t("settings.reopen")]


# --- the settings screens -------------------------------------------------------------------


def render_settings(screen: str, subscription: Subscription, catalog: Catalog) -> list[str]:
    """The text of one settings screen (one of SCREENS)."""
    schedule = subscription.schedule
    if screen == "topics":
        following = describe_topics(subscription.topics, catalog)
        return [t("settings.topics.title"), t("settings.following", names=following)]
    if screen == "countries":
        following = describe_countries(subscription.countries, catalog)
        return [t("settings.countries.title"), t("settings.following", names=following)]
    if screen == "frequency":
        return [t("settings.frequency.title", schedule=describe_schedule(schedule))]
    if screen == "weekday":
        return [t("settings.weekday.title", time=format_time_of_day(schedule.local_time))]
    if screen == "time":
        return [
            t(
                "settings.time.title",
                time=format_time_of_day(schedule.local_time),
                zone=schedule.timezone,
            )
        ]
    if screen == "zone":
        return [t("settings.zone.title", zone=describe_zone(subscription))]
    blocks = [t("settings.title"), render_summary(subscription, catalog)]
    blocks.append(t("settings.empty.on" if subscription.send_empty else "settings.empty.off"))
    if not subscription.active:
        blocks.append(t("settings.inactive"))
    return ["\n\n".join(blocks)]


def settings_keyboard(
    screen: str, subscription: Subscription, catalog: Catalog
) -> InlineKeyboardMarkup:
    """The buttons of one settings screen (one of SCREENS)."""
    schedule = subscription.schedule
    back = [_button(t_plain("button.back"), SettingsAction("main"))]
    if screen == "topics":
        rows = _rows(
            [
                _choice(
                    topic.name,
                    topic.slug in subscription.topics,
                    SettingsAction("topic", topic.slug),
                )
                for topic in catalog.topics
            ],
            2,
        )
        everything = _choice(
            t_plain("settings.all_topics_button"), not subscription.topics, SettingsAction("topic")
        )
        return _markup([*rows, [everything], back])
    if screen == "countries":
        rows = _rows(
            [
                _choice(c.name, c.code in subscription.countries, SettingsAction("country", c.code))
                for c in member_countries(catalog)
            ],
            2,
        )
        everything = _choice(
            t_plain("settings.all_countries_button"),
            not subscription.countries,
            SettingsAction("country"),
        )
        return _markup([*rows, [everything], back])
    if screen == "frequency":
        choices = [
            _choice(
                t_plain(f"frequency.{name}"),
                schedule.frequency == name,
                SettingsAction("frequency", name),
            )
            for name in ("daily", "weekly", "off")
        ]
        return _markup([*_rows(choices, 3), back])
    if screen == "weekday":
        weekly = schedule.frequency == "weekly"
        choices = [
            _choice(
                weekday_name(index),
                weekly and schedule.weekday == index,
                SettingsAction("weekday", name),
            )
            for index, name in enumerate(WEEKDAYS)
        ]
        return _markup([*_rows(choices, 4), back])
    if screen == "time":
        current = format_time_of_day(schedule.local_time)
        choices = [
            _choice(value, value == current, SettingsAction("time", value))
            for value in TIME_CHOICES
        ]
        return _markup([*_rows(choices, 4), back])
    if screen == "zone":
        choices = [
            _choice(label, key == schedule.timezone, SettingsAction("zone", key))
            for key, label in ZONE_CHOICES
        ]
        return _markup([*_rows(choices, 2), back])
    return _main_keyboard(subscription)


def _main_keyboard(subscription: Subscription) -> InlineKeyboardMarkup:
    frequency = [
        _button(t_plain("button.frequency"), SettingsAction("frequency")),
        _button(t_plain("button.time"), SettingsAction("time")),
    ]
    if subscription.schedule.frequency == "weekly":
        frequency.insert(1, _button(t_plain("button.weekday"), SettingsAction("weekday")))
    send_empty = subscription.send_empty
    empty_label = "button.empty_on" if send_empty else "button.empty_off"
    if subscription.active:
        stop = _button(t_plain("button.unsubscribe"), SettingsAction("unsubscribe"))
    else:
        stop = _button(t_plain("button.subscribe_again"), SettingsAction("subscribe"))
    return _markup(
        [
            [
                _button(t_plain("button.settings_topics"), SettingsAction("topics")),
                _button(t_plain("button.settings_countries"), SettingsAction("countries")),
            ],
            frequency,
            [_button(t_plain("button.zone"), SettingsAction("zone"))],
            [
                _button(
                    t_plain(empty_label),
                    SettingsAction("empty", "off" if send_empty else "on"),
                )
            ],
            [stop, _button(t_plain("button.close"), SettingsAction("close"))],
        ]
    )


# --- buttons ----------------------------------------------------------------------------------


def _choice(label: str, chosen: bool, action: SettingsAction) -> InlineKeyboardButton | None:
    """A button for one option, marked ✅ when it is the current choice."""
    return _button(t_plain("settings.chosen", label=label) if chosen else label, action)


def _button(label: str, action: SettingsAction) -> InlineKeyboardButton | None:
    data = encode(action)
    if data is None:
        return None  # a value too long for callback data: no button rather than a broken one
    return InlineKeyboardButton(truncate(label, BUTTON_TEXT_LIMIT), callback_data=data)


def _rows(
    buttons: Sequence[InlineKeyboardButton | None], width: int
) -> list[list[InlineKeyboardButton | None]]:
    present: list[InlineKeyboardButton | None] = [b for b in buttons if b is not None]
    return [present[i : i + width] for i in range(0, len(present), width)]


def _markup(rows: Sequence[Sequence[InlineKeyboardButton | None]]) -> InlineKeyboardMarkup:
    kept = [[b for b in row if b is not None] for row in rows]
    return InlineKeyboardMarkup([row for row in kept if row])
