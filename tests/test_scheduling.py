"""Due instants under time travel (DST, date lines, downtime) and parsing what people type."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aseanbot.scheduling import (
    FREQUENCIES,
    WEEKDAYS,
    Schedule,
    ScheduleInputError,
    format_time_of_day,
    format_timezone,
    latest_due,
    next_due,
    parse_frequency,
    parse_time_of_day,
    resolve_timezone,
    zone_for,
)

MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC)


def instant(text: str) -> dt.datetime:
    """ "2025-06-10 01:00" as a UTC instant."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def daily(at: str, zone: str) -> Schedule:
    return Schedule("daily", parse_time_of_day(at), zone)


def weekly(at: str, zone: str, weekday: int) -> Schedule:
    return Schedule("weekly", parse_time_of_day(at), zone, weekday)


# --- next_due: table of explicit instants -----------------------------------------------------


def case(schedule: Schedule, after: str, expected: str, name: str) -> object:
    """One row of a time-travel table; instants are written in UTC."""
    return pytest.param(schedule, instant(after), instant(expected), id=name)


def change(before: Schedule, changed: Schedule, expected: str, name: str) -> object:
    """A schedule changed at CHANGED_AT, and when the changed one is due next."""
    return pytest.param(before, changed, instant(expected), id=name)


CHANGED_AT = "2025-06-10 03:00"
BKK, MNL, JKT = "Asia/Bangkok", "Asia/Manila", "Asia/Jakarta"
BER, NYC, NUUK = "Europe/Berlin", "America/New_York", "America/Nuuk"

NEXT_DUE_CASES = [
    # Asia/Bangkok is UTC+7 all year: 08:00 local is 01:00 UTC.
    case(daily("08:00", BKK), "2025-06-10 00:59", "2025-06-10 01:00", "just before the minute"),
    case(daily("08:00", BKK), "2025-06-10 01:00", "2025-06-11 01:00", "at the minute: next day"),
    case(daily("08:00", BKK), "2025-06-10 01:01", "2025-06-11 01:00", "just after the minute"),
    case(daily("00:00", BKK), "2025-06-10 16:59", "2025-06-10 17:00", "local midnight"),
    case(daily("00:00", BKK), "2025-06-10 17:00", "2025-06-11 17:00", "local midnight, at it"),
    case(daily("23:59", BKK), "2025-06-10 16:58", "2025-06-10 16:59", "local 23:59"),
    case(daily("23:59", BKK), "2025-06-10 16:59", "2025-06-11 16:59", "local 23:59, at it"),
    # Asia/Manila 07:00 is 23:00 UTC the day before.
    case(daily("07:00", MNL), "2025-06-10 22:00", "2025-06-10 23:00", "UTC date line"),
    case(daily("07:00", MNL), "2025-06-10 23:00", "2025-06-11 23:00", "UTC date line, at it"),
    case(daily("07:00", MNL), "2025-06-11 00:00", "2025-06-11 23:00", "UTC midnight, not local"),
    # 2025-06-09 is a Monday.
    case(weekly("08:00", JKT, MON), "2025-06-09 00:30", "2025-06-09 01:00", "weekly, later today"),
    case(weekly("08:00", JKT, MON), "2025-06-09 02:00", "2025-06-16 01:00", "weekly, past: next"),
    case(weekly("08:00", JKT, MON), "2025-06-09 01:00", "2025-06-16 01:00", "weekly, at it: next"),
    case(weekly("08:00", JKT, MON), "2025-06-08 12:00", "2025-06-09 01:00", "weekly, from Sunday"),
    case(weekly("07:00", MNL, FRI), "2025-06-09 00:00", "2025-06-12 23:00", "Fri is Thu in UTC"),
    case(weekly("09:00", "UTC", SUN), "2025-12-29 00:00", "2026-01-04 09:00", "over new year"),
    # Europe/Berlin springs forward 2025-03-30 02:00 CET -> 03:00 CEST.
    case(daily("02:30", BER), "2025-03-29 12:00", "2025-03-30 01:30", "Berlin gap: 03:30 CEST"),
    case(daily("02:30", BER), "2025-03-30 01:30", "2025-03-31 00:30", "Berlin after the gap"),
    case(daily("01:30", BER), "2025-03-29 12:00", "2025-03-30 00:30", "Berlin 01:30 before gap"),
    case(daily("08:00", BER), "2025-03-28 12:00", "2025-03-29 07:00", "Berlin 08:00 CET"),
    case(daily("08:00", BER), "2025-03-29 07:00", "2025-03-30 06:00", "Berlin 08:00 CEST"),
    # Europe/Berlin falls back 2025-10-26 03:00 CEST -> 02:00 CET: 02:30 happens twice.
    case(daily("02:30", BER), "2025-10-25 12:00", "2025-10-26 00:30", "Berlin fold: first 02:30"),
    case(daily("02:30", BER), "2025-10-26 00:30", "2025-10-27 01:30", "Berlin fold: not twice"),
    case(daily("02:30", BER), "2025-10-26 01:00", "2025-10-27 01:30", "Berlin fold: in between"),
    case(daily("08:00", BER), "2025-10-24 12:00", "2025-10-25 06:00", "Berlin 08:00 still CEST"),
    case(daily("08:00", BER), "2025-10-25 06:00", "2025-10-26 07:00", "Berlin 08:00 CET again"),
    # America/New_York springs forward 2025-03-09 02:00 EST -> 03:00 EDT.
    case(daily("02:30", NYC), "2025-03-08 12:00", "2025-03-09 07:30", "NY gap: 03:30 EDT"),
    case(daily("01:30", NYC), "2025-03-08 12:00", "2025-03-09 06:30", "NY 01:30 EST before gap"),
    case(daily("01:30", NYC), "2025-03-09 06:30", "2025-03-10 05:30", "NY 01:30 EDT after gap"),
    case(daily("08:00", NYC), "2025-03-07 18:00", "2025-03-08 13:00", "NY 08:00 EST"),
    case(daily("08:00", NYC), "2025-03-08 13:00", "2025-03-09 12:00", "NY 08:00 EDT"),
    # America/New_York falls back 2025-11-02 02:00 EDT -> 01:00 EST: 01:30 happens twice.
    case(daily("01:30", NYC), "2025-11-01 12:00", "2025-11-02 05:30", "NY fold: first 01:30"),
    case(daily("01:30", NYC), "2025-11-02 05:30", "2025-11-03 06:30", "NY fold: not twice"),
    case(daily("02:30", NYC), "2025-11-01 12:00", "2025-11-02 07:30", "NY fold: 02:30 once"),
    case(daily("08:00", NYC), "2025-10-31 18:00", "2025-11-01 12:00", "NY 08:00 still EDT"),
    case(daily("08:00", NYC), "2025-11-01 12:00", "2025-11-02 13:00", "NY 08:00 EST again"),
    # America/Nuuk jumps 2025-03-29 23:00 -02 -> 2025-03-30 00:00 -01: the gap ends at midnight,
    # so 23:30 is shifted back to 22:30 -02 and stays on Saturday.
    case(daily("23:30", NUUK), "2025-03-29 12:00", "2025-03-30 00:30", "midnight gap keeps day"),
    case(daily("23:30", NUUK), "2025-03-30 00:30", "2025-03-31 00:30", "after a midnight gap"),
    case(weekly("23:30", NUUK, SAT), "2025-03-24 00:00", "2025-03-30 00:30", "weekly midnight gap"),
    case(weekly("02:30", BER, SUN), "2025-03-24 00:00", "2025-03-30 01:30", "weekly in a gap"),
    # Fixed offsets.
    case(daily("08:00", "UTC+07:00"), "2025-06-10 00:00", "2025-06-10 01:00", "UTC+07:00"),
    case(daily("08:00", "UTC-03:30"), "2025-06-10 12:00", "2025-06-11 11:30", "UTC-03:30"),
    case(daily("08:00", "UTC+14:00"), "2025-06-10 00:00", "2025-06-10 18:00", "UTC+14:00"),
    case(daily("08:00", "UTC"), "2025-06-10 08:00", "2025-06-11 08:00", "UTC"),
]


@pytest.mark.parametrize(("schedule", "after", "expected"), NEXT_DUE_CASES)
def test_next_due(schedule: Schedule, after: dt.datetime, expected: dt.datetime) -> None:
    """The next due instant is the first one strictly after `after`, in UTC."""
    due = next_due(schedule, after=after)
    assert due == expected
    assert due is not None
    assert due.tzinfo is dt.UTC
    local = due.astimezone(zone_for(schedule.timezone))
    if schedule.frequency == "weekly":
        assert local.weekday() == schedule.weekday


def test_next_due_accepts_after_in_any_zone() -> None:
    """`after` may be aware in any zone; the answer is the same UTC instant."""
    schedule = daily("08:00", "Asia/Bangkok")
    after_local = dt.datetime(2025, 6, 10, 7, 59, tzinfo=ZoneInfo("Asia/Bangkok"))
    assert next_due(schedule, after=after_local) == utc(2025, 6, 10, 1, 0)


def test_local_time_is_kept_across_dst_while_utc_shifts() -> None:
    """08:00 Berlin stays 08:00 local on both sides of a change; its UTC instant moves 1 h."""
    schedule = daily("08:00", "Europe/Berlin")
    berlin = ZoneInfo("Europe/Berlin")
    before = next_due(schedule, after=utc(2025, 3, 28, 12, 0))
    assert before is not None
    after = next_due(schedule, after=before)
    assert after is not None
    assert before.astimezone(berlin).time() == after.astimezone(berlin).time() == dt.time(8, 0)
    assert after - before == dt.timedelta(hours=23)


@pytest.mark.parametrize(
    ("before", "changed", "expected"),
    [
        # At 03:00 UTC Bangkok's 08:00 has passed (10:00 local) but Berlin's has not (05:00).
        change(daily("08:00", BKK), daily("08:00", BER), "2025-06-10 06:00", "zone to the west"),
        change(daily("08:00", BER), daily("08:00", BKK), "2025-06-11 01:00", "zone to the east"),
        # Moving the time later the same day is due today; earlier is due tomorrow.
        change(daily("08:00", BKK), daily("12:00", BKK), "2025-06-10 05:00", "time later"),
        change(daily("12:00", BKK), daily("09:00", BKK), "2025-06-11 02:00", "time earlier"),
        # 2025-06-13 is the Friday after Tuesday 2025-06-10.
        change(daily("08:00", BKK), weekly("08:00", BKK, FRI), "2025-06-13 01:00", "to weekly"),
    ],
)
def test_changed_schedule_is_due_from_the_same_instant(
    before: Schedule, changed: Schedule, expected: dt.datetime
) -> None:
    """A changed zone, time or frequency is a new Schedule; its next due starts from `after`."""
    after = instant(CHANGED_AT)
    assert next_due(before, after=after) != expected
    assert next_due(changed, after=after) == expected


@pytest.mark.parametrize(
    ("schedule", "now", "expected"),
    [
        # Down from 2025-06-10 00:00 to 2025-06-13 03:00 UTC: three 08:00s missed, one to send.
        (daily("08:00", "Asia/Bangkok"), utc(2025, 6, 13, 3, 0), utc(2025, 6, 13, 1, 0)),
        (daily("08:00", "Asia/Bangkok"), utc(2025, 6, 13, 0, 59), utc(2025, 6, 12, 1, 0)),
        (daily("08:00", "Asia/Bangkok"), utc(2025, 6, 13, 1, 0), utc(2025, 6, 13, 1, 0)),
        (daily("07:00", "Asia/Manila"), utc(2025, 6, 13, 22, 0), utc(2025, 6, 12, 23, 0)),
        (weekly("08:00", "Asia/Jakarta", MON), utc(2025, 6, 13, 3, 0), utc(2025, 6, 9, 1, 0)),
        (weekly("08:00", "Asia/Jakarta", MON), utc(2025, 6, 9, 0, 59), utc(2025, 6, 2, 1, 0)),
        (daily("02:30", "Europe/Berlin"), utc(2025, 3, 30, 2, 0), utc(2025, 3, 30, 1, 30)),
        (daily("01:30", "America/New_York"), utc(2025, 11, 2, 7, 0), utc(2025, 11, 2, 5, 30)),
        (daily("08:00", "UTC-03:30"), utc(2025, 6, 13, 3, 0), utc(2025, 6, 12, 11, 30)),
    ],
    ids=[
        "down three days",
        "just before today's",
        "at today's",
        "date line",
        "weekly",
        "weekly just before",
        "spring-forward gap",
        "fall-back first occurrence",
        "fixed offset",
    ],
)
def test_latest_due_catches_up_once(
    schedule: Schedule, now: dt.datetime, expected: dt.datetime
) -> None:
    """After downtime the latest missed instant is the one to send, not every missed one."""
    assert latest_due(schedule, at_or_before=now) == expected


@pytest.mark.parametrize("frequency_off", [Schedule("off", dt.time(8, 0), "Asia/Bangkok")])
def test_off_is_never_due(frequency_off: Schedule) -> None:
    """A schedule that is off has no next or latest due instant."""
    assert next_due(frequency_off, after=utc(2025, 6, 10)) is None
    assert latest_due(frequency_off, at_or_before=utc(2025, 6, 10)) is None


def test_naive_after_is_refused() -> None:
    """A naive `after` is a bug in the caller: it could be any zone."""
    with pytest.raises(ValueError, match="timezone-aware"):
        next_due(daily("08:00", BKK), after=dt.datetime(2025, 6, 10))


def test_naive_at_or_before_is_refused() -> None:
    """A naive `at_or_before` is refused the same way."""
    with pytest.raises(ValueError, match="timezone-aware"):
        latest_due(daily("08:00", BKK), at_or_before=dt.datetime(2025, 6, 10))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("hourly", dt.time(8), "UTC"), "frequency"),
        (("weekly", dt.time(8), "UTC", 7), "weekday"),
        (("daily", dt.time(8, 0, 30), "UTC"), "minute precision"),
        (("daily", dt.time(8, tzinfo=dt.UTC), "UTC"), "naive"),
        (("daily", dt.time(8), "Mars/Olympus"), "schedule.bad_timezone"),
        (("daily", dt.time(8), "UTC+7"), "schedule.bad_timezone"),
    ],
)
def test_schedule_refuses_impossible_values(arguments: tuple[object, ...], message: str) -> None:
    """A Schedule is valid once built, so the store never holds one that cannot be due."""
    with pytest.raises(ValueError, match=message):
        Schedule(*arguments)  # type: ignore[arg-type]


# --- properties -------------------------------------------------------------------------------

PROPERTY_ZONES = [
    "Asia/Bangkok",
    "Asia/Manila",
    "Asia/Jakarta",
    "Asia/Kathmandu",
    "Europe/Berlin",
    "Europe/London",
    "America/New_York",
    "America/Santiago",
    "America/Havana",
    "America/Nuuk",
    "Australia/Lord_Howe",
    "Australia/Sydney",
    "Pacific/Chatham",
    "Pacific/Kiritimati",
    "Africa/Cairo",
    "UTC-03:30",
]


def _assert_on_wall_time(due: dt.datetime, schedule: Schedule, day: dt.date) -> None:
    """`due` is the schedule's local time on `day`, its first occurrence, or the gap rule."""
    zone = zone_for(schedule.timezone)
    local = due.astimezone(zone)
    assert local.date() == day
    wall = dt.datetime.combine(day, schedule.local_time)
    if local.replace(tzinfo=None) == wall:
        assert local.fold == 0  # the first of two occurrences on a fall-back day
        return
    # Otherwise the wall time must not exist, and is shifted by the gap (forward if that stays on
    # the same day, else back).
    roundtrip = wall.replace(tzinfo=zone).astimezone(dt.UTC).astimezone(zone)
    assert roundtrip.replace(tzinfo=None) != wall
    forward = wall.replace(tzinfo=zone, fold=0).astimezone(dt.UTC)
    back = wall.replace(tzinfo=zone, fold=1).astimezone(dt.UTC)
    assert due == (forward if forward.astimezone(zone).date() == day else back)


@settings(deadline=None, max_examples=200)
@given(
    zone=st.sampled_from(PROPERTY_ZONES),
    hour=st.integers(0, 23),
    minute=st.sampled_from([0, 1, 15, 29, 30, 45, 59]),
    weekday=st.none() | st.integers(0, 6),
    start=st.datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2027, 12, 31)),
)
def test_walking_next_due_lands_on_every_local_day_once(
    zone: str, hour: int, minute: int, weekday: int | None, start: dt.datetime
) -> None:
    """Over 2024-2027 next_due is later, on time, never repeats and never skips a day or week."""
    schedule = Schedule(
        "daily" if weekday is None else "weekly", dt.time(hour, minute), zone, weekday or 0
    )
    after = start.replace(tzinfo=dt.UTC)
    limit = dt.timedelta(days=2 if weekday is None else 8)
    gap = dt.timedelta(days=1 if weekday is None else 7)
    tzinfo = zone_for(zone)
    previous: dt.datetime | None = None
    for step in range(400):
        due = next_due(schedule, after=after)
        assert due is not None
        assert after < due <= after + limit
        local_day = due.astimezone(tzinfo).date()
        if weekday is not None:
            assert local_day.weekday() == weekday
        if previous is not None:
            assert local_day - previous.astimezone(tzinfo).date() == gap
            if step % 5 == 0:  # every step would double the run time for little more
                just_before = due - dt.timedelta(microseconds=1)
                assert latest_due(schedule, at_or_before=just_before) == previous
        else:
            assert latest_due(schedule, at_or_before=after) < due  # type: ignore[operator]
        _assert_on_wall_time(due, schedule, local_day)
        previous = after = due


@settings(deadline=None, max_examples=150)
@given(st.text(max_size=40))
def test_any_text_is_a_zone_or_a_bad_timezone_error(text: str) -> None:
    """resolve_timezone never raises anything else, and what it returns is usable."""
    outcome = _resolve_or_error(text)
    if isinstance(outcome, ScheduleInputError):
        assert outcome.key == "schedule.bad_timezone"
        suggestions = outcome.params["suggestions"]
        assert isinstance(suggestions, list)
        assert len(suggestions) <= 3
        for suggestion in suggestions:
            assert resolve_timezone(suggestion) == suggestion
    else:
        assert zone_for(outcome) is not None


def _resolve_or_error(text: str) -> str | ScheduleInputError:
    try:
        return resolve_timezone(text)
    except ScheduleInputError as error:
        return error


# --- parsing: time of day ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7", dt.time(7, 0)),
        ("07", dt.time(7, 0)),
        ("0", dt.time(0, 0)),
        ("23", dt.time(23, 0)),
        ("7am", dt.time(7, 0)),
        ("7 am", dt.time(7, 0)),
        ("7AM", dt.time(7, 0)),
        ("7 a.m.", dt.time(7, 0)),
        ("7pm", dt.time(19, 0)),
        ("7:05", dt.time(7, 5)),
        ("07:30", dt.time(7, 30)),
        ("19:30", dt.time(19, 30)),
        ("00:00", dt.time(0, 0)),
        ("23:59", dt.time(23, 59)),
        ("7:30pm", dt.time(19, 30)),
        ("7:30 PM", dt.time(19, 30)),
        ("7.30pm", dt.time(19, 30)),
        ("19.30", dt.time(19, 30)),
        ("12am", dt.time(0, 0)),
        ("12:30am", dt.time(0, 30)),
        ("12pm", dt.time(12, 0)),
        ("12:15pm", dt.time(12, 15)),
        ("noon", dt.time(12, 0)),
        ("Midday", dt.time(12, 0)),
        ("midnight", dt.time(0, 0)),
        ("0730", dt.time(7, 30)),
        ("1930", dt.time(19, 30)),
        ("730pm", dt.time(19, 30)),
        ("19h30", dt.time(19, 30)),
        ("7h", dt.time(7, 0)),
        ("  8:00  ", dt.time(8, 0)),
        ("๗:๓๐", dt.time(7, 30)),  # Thai digits
    ],
)
def test_parse_time_of_day_accepts(text: str, expected: dt.time) -> None:
    """Common ways to write a time of day all parse to the same wall-clock time."""
    assert parse_time_of_day(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "25:00",
        "24:00",
        "7:60",
        "13pm",
        "0am",
        "19:30pm",
        "",
        "   ",
        "soon",
        "7:5",
        "07:30:00",
        "-1",
        "12345",
        "7 30",
        "am",
        "7:30 tomorrow",
    ],
)
def test_parse_time_of_day_rejects(text: str) -> None:
    """Anything that is not a valid time is a bad_time error carrying what was typed."""
    with pytest.raises(ScheduleInputError) as caught:
        parse_time_of_day(text)
    assert caught.value.key == "schedule.bad_time"
    assert caught.value.params == {"value": text.strip()}


def test_parse_time_of_day_error_value_is_bounded() -> None:
    """A pasted essay is not echoed back whole."""
    with pytest.raises(ScheduleInputError) as caught:
        parse_time_of_day("x" * 500)
    assert caught.value.params["value"] == "x" * 60


@pytest.mark.parametrize(
    ("value", "expected"),
    [(dt.time(8, 0), "08:00"), (dt.time(0, 0), "00:00"), (dt.time(23, 59), "23:59")],
)
def test_format_time_of_day(value: dt.time, expected: str) -> None:
    """Times show as 24-hour HH:MM, which parse_time_of_day reads back."""
    assert format_time_of_day(value) == expected
    assert parse_time_of_day(expected) == value


# --- parsing: time zones ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("asia/bangkok", "Asia/Bangkok"),
        ("Asia/Bangkok", "Asia/Bangkok"),
        ("ASIA/BANGKOK", "Asia/Bangkok"),
        ("asia / bangkok", "Asia/Bangkok"),
        ("Europe/Berlin", "Europe/Berlin"),
        ("America/New York", "America/New_York"),
        ("UTC", "UTC"),
        ("utc", "UTC"),
        ("Etc/UTC", "UTC"),
        ("GMT", "UTC"),
        ("Berlin", "Europe/Berlin"),
        ("new york", "America/New_York"),
        ("New_York", "America/New_York"),
        ("Ho Chi Minh", "Asia/Ho_Chi_Minh"),
        ("buenos aires", "America/Argentina/Buenos_Aires"),
        ("Port au Prince", "America/Port-au-Prince"),
        # ASEAN capitals and spellings.
        ("Bangkok", "Asia/Bangkok"),
        ("Manila", "Asia/Manila"),
        ("Jakarta", "Asia/Jakarta"),
        ("Kuala Lumpur", "Asia/Kuala_Lumpur"),
        ("kuala_lumpur", "Asia/Kuala_Lumpur"),
        ("Putrajaya", "Asia/Kuala_Lumpur"),
        ("Singapore", "Asia/Singapore"),
        ("Hanoi", "Asia/Ho_Chi_Minh"),
        ("Ha Noi", "Asia/Ho_Chi_Minh"),
        ("Saigon", "Asia/Ho_Chi_Minh"),
        ("Asia/Saigon", "Asia/Ho_Chi_Minh"),
        ("Phnom Penh", "Asia/Phnom_Penh"),
        ("Vientiane", "Asia/Vientiane"),
        ("Naypyidaw", "Asia/Yangon"),
        ("Nay Pyi Taw", "Asia/Yangon"),
        ("Yangon", "Asia/Yangon"),
        ("Rangoon", "Asia/Yangon"),
        ("Bandar Seri Begawan", "Asia/Brunei"),
        ("Dili", "Asia/Dili"),
        ("Viet Nam", "Asia/Ho_Chi_Minh"),
        ("Timor-Leste", "Asia/Dili"),
        ("WITA", "Asia/Makassar"),
        # Fixed offsets.
        ("UTC+7", "UTC+07:00"),
        ("UTC+07:00", "UTC+07:00"),
        ("GMT+8", "UTC+08:00"),
        ("+7", "UTC+07:00"),
        ("utc-3:30", "UTC-03:30"),
        ("UTC+5:30", "UTC+05:30"),
        ("UTC +0545", "UTC+05:45"),
        ("UTC−5", "UTC-05:00"),
        ("UTC+14", "UTC+14:00"),
        ("UTC-12", "UTC-12:00"),
        ("UTC+0", "UTC"),
        ("-0", "UTC"),
        ("Etc/GMT-7", "UTC+07:00"),  # IANA's inverted sign
    ],
)
def test_resolve_timezone_accepts(text: str, expected: str) -> None:
    """Names, cities, ASEAN spellings and offsets resolve to one canonical key."""
    key = resolve_timezone(text)
    assert key == expected
    assert zone_for(key) is not None


def test_ho_chi_minh_is_in_the_installed_tzdata() -> None:
    """Hanoi maps to Asia/Ho_Chi_Minh, which tzdata has (so no Asia/Bangkok fallback is used)."""
    assert ZoneInfo("Asia/Ho_Chi_Minh").utcoffset(dt.datetime(2025, 1, 1)) == dt.timedelta(hours=7)


@pytest.mark.parametrize(
    ("text", "suggested"),
    [
        ("Bangkokk", "Asia/Bangkok"),
        ("Kuala Lumpr", "Asia/Kuala_Lumpur"),
        ("Berln", "Europe/Berlin"),
        ("Asia/Bangkog", "Asia/Bangkok"),
        ("Indonesia", "Asia/Makassar"),  # several zones: suggested, never guessed
    ],
)
def test_resolve_timezone_suggests_close_keys(text: str, suggested: str) -> None:
    """A near miss is an error whose suggestions include the intended zone."""
    with pytest.raises(ScheduleInputError) as caught:
        resolve_timezone(text)
    assert caught.value.key == "schedule.bad_timezone"
    assert caught.value.params["value"] == text
    suggestions = caught.value.params["suggestions"]
    assert isinstance(suggestions, list)
    assert suggested in suggestions
    assert len(suggestions) <= 3


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "Nowhere",
        "../../etc/passwd",
        "/etc/passwd",
        "Asia/../../etc/passwd",
        "/usr/share/zoneinfo/Asia/Bangkok",
        "localtime",
        "Factory",
        "posixrules",
        "posix/Asia/Bangkok",
        "right/UTC",
        "Asia/Bangkok\x00",
        "UTC+15",
        "UTC+14:30",
        "UTC-12:30",
        "UTC+7:75",
        "UTC 7",
        "x" * 1000,
    ],
)
def test_resolve_timezone_rejects(text: str) -> None:
    """Unknown zones, path tricks and out-of-range offsets are bad_timezone errors only."""
    with pytest.raises(ScheduleInputError) as caught:
        resolve_timezone(text)
    assert caught.value.key == "schedule.bad_timezone"
    assert caught.value.params["value"] == text.strip()[:60]


@pytest.mark.parametrize(
    ("key", "offset"),
    [
        ("Asia/Bangkok", dt.timedelta(hours=7)),
        ("UTC", dt.timedelta(0)),
        ("UTC+07:00", dt.timedelta(hours=7)),
        ("UTC-03:30", dt.timedelta(hours=-3, minutes=-30)),
    ],
)
def test_zone_for(key: str, offset: dt.timedelta) -> None:
    """Canonical keys become a ZoneInfo or a fixed timezone with the right offset."""
    assert zone_for(key).utcoffset(dt.datetime(2025, 1, 15)) == offset


@pytest.mark.parametrize(
    "key", ["UTC+7", "UTC+00:00", "UTC+15:00", "utc+07:00", "../etc/passwd", "Mars/Olympus", ""]
)
def test_zone_for_refuses_non_canonical_keys(key: str) -> None:
    """Only keys resolve_timezone produces are zones; nothing else is opened."""
    with pytest.raises(ScheduleInputError):
        zone_for(key)


@pytest.mark.parametrize(
    ("key", "at", "expected"),
    [
        ("Asia/Bangkok", None, "Asia/Bangkok"),
        ("Asia/Bangkok", utc(2025, 6, 10), "Asia/Bangkok (UTC+07:00)"),
        ("Europe/Berlin", utc(2025, 1, 10), "Europe/Berlin (UTC+01:00)"),
        ("Europe/Berlin", utc(2025, 6, 10), "Europe/Berlin (UTC+02:00)"),
        ("Europe/London", utc(2025, 1, 10), "Europe/London (UTC)"),
        ("UTC", utc(2025, 6, 10), "UTC"),
        ("UTC+07:00", utc(2025, 6, 10), "UTC+07:00"),
    ],
)
def test_format_timezone(key: str, at: dt.datetime | None, expected: str) -> None:
    """A zone shows as its key, with its offset at a given instant when one is passed."""
    assert format_timezone(key, at=at) == expected


# --- parsing: frequency -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("daily", ("daily", None)),
        ("Daily", ("daily", None)),
        ("every day", ("daily", None)),
        ("weekly", ("weekly", None)),
        ("WEEKLY", ("weekly", None)),
        ("weekly friday", ("weekly", FRI)),
        ("weekly fri", ("weekly", FRI)),
        ("weekly on friday", ("weekly", FRI)),
        ("friday", ("weekly", FRI)),
        ("Fridays", ("weekly", FRI)),
        ("every monday", ("weekly", MON)),
        ("mon", ("weekly", MON)),
        ("tue", ("weekly", TUE)),
        ("tues", ("weekly", TUE)),
        ("wed", ("weekly", WED)),
        ("thurs", ("weekly", THU)),
        ("Thu.", ("weekly", THU)),
        ("sat", ("weekly", SAT)),
        ("sunday", ("weekly", SUN)),
        ("off", ("off", None)),
        ("never", ("off", None)),
        ("stop", ("off", None)),
        ("  OFF ", ("off", None)),
    ],
)
def test_parse_frequency_accepts(text: str, expected: tuple[str, int | None]) -> None:
    """Frequencies and weekdays parse in their common spellings."""
    assert parse_frequency(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hourly",
        "monthly",
        "fr",
        "t",
        "daily friday",
        "weekly friday monday",
        "friday weekly",
        "5",
    ],
)
def test_parse_frequency_rejects(text: str) -> None:
    """Anything else is a bad_frequency error carrying what was typed."""
    with pytest.raises(ScheduleInputError) as caught:
        parse_frequency(text)
    assert caught.value.key == "schedule.bad_frequency"
    assert caught.value.params == {"value": text.strip()}


def test_weekdays_match_datetime() -> None:
    """WEEKDAYS is indexed like datetime.weekday(); FREQUENCIES lists what Schedule accepts."""
    assert WEEKDAYS[dt.date(2025, 6, 9).weekday()] == "monday"
    assert len(WEEKDAYS) == 7
    assert FREQUENCIES == ("daily", "weekly", "off")
