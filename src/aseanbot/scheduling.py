"""When a subscriber's digest is due, and reading what people type for time, zone and frequency.

Everything here is pure: the current instant always comes in as an argument (`after`,
`at_or_before`), and time zones come from the standard library's zoneinfo (IANA tzdata), so no
daylight-saving rule is written by hand.

A schedule is a wall-clock time in a time zone, daily or weekly on one weekday. Its due instants,
in UTC, follow these rules:

- A wall-clock time that does not exist on a spring-forward day (02:30 on the last Sunday of
  March in Europe/Berlin, where clocks jump from 02:00 to 03:00) is due shifted forward by the
  length of the gap: 03:30 CEST, the same UTC instant that `fold=0` gives. The one exception is a
  gap that ends at midnight (America/Nuuk jumps from 23:00 Saturday to 00:00 Sunday): there the
  time is shifted back by the gap instead (`fold=1`, 22:30 Saturday), so every digest stays on its
  own local day and weekday.
- A wall-clock time that occurs twice on a fall-back day (01:30 on the first Sunday of November in
  America/New_York) is due once, at its first occurrence (`fold=0`, 01:30 EDT).
- One due instant per local day (daily) or per local week (weekly), strictly increasing, so
  `next_due(s, after=next_due(s, after=t))` is always later and no instant is due twice.
- Weekly: the local weekday of every due instant is `schedule.weekday`.
- Fixed offsets ("UTC+07:00") never change, so none of the above applies to them.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, available_timezones

WEEKDAYS: tuple[str, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
FREQUENCIES = ("daily", "weekly", "off")

UTC_KEY = "UTC"
_ONE_DAY = dt.timedelta(days=1)
_ONE_WEEK = dt.timedelta(days=7)
MIN_OFFSET = dt.timedelta(hours=-12)
MAX_OFFSET = dt.timedelta(hours=14)

# Longer input is never a time zone; capping it keeps difflib cheap on whatever people paste.
_MAX_ZONE_TEXT = 64
_ERROR_VALUE_LIMIT = 60
_MAX_SUGGESTIONS = 3

_OFFSET_KEY = re.compile(r"^UTC([+-])(\d{2}):(\d{2})$")
# "UTC+7", "GMT+8", "+7", "utc-3:30", "UTC+0530", "UTC−5" (Unicode minus); whitespace removed first.
_OFFSET_INPUT = re.compile(r"^(?:utc|gmt)?([+\-−])(\d{1,2})(?:[:.]?(\d{2}))?$")
# IANA's Etc/GMT-7 means UTC+07:00 (POSIX signs are inverted); such names become offset keys.
_ETC_GMT = re.compile(r"^etc/gmt([+-])(\d{1,2})$")

_AMPM = r"(?P<ampm>[ap])\.?\s*m\.?"
_CLOCK_TIME = re.compile(
    r"^(?P<hour>\d{1,2})"
    r"(?:\s*[:.]\s*(?P<minute>\d{2})|\s*h\s*(?P<h_minute>\d{2})?)?"
    rf"\s*(?:{_AMPM})?$"
)
_COMPACT_TIME = re.compile(rf"^(?P<digits>\d{{3,4}})\s*(?:{_AMPM})?$")
_NAMED_TIMES = {"noon": dt.time(12, 0), "midday": dt.time(12, 0), "midnight": dt.time(0, 0)}

_DAILY_WORDS = frozenset({"daily", "every day", "everyday", "each day"})
_WEEKLY_WORDS = frozenset({"weekly", "every week", "each week", "once a week"})
_OFF_WORDS = frozenset({"off", "never", "stop", "none"})
_WEEKDAY_LEADS = frozenset({"weekly", "every", "each"})

# Zone names that are not places, or depend on the host's configuration.
_EXCLUDED_ZONES = frozenset({"localtime", "Factory", "posixrules"})
_EXCLUDED_PREFIXES = ("posix/", "right/")
# Only these areas name cities; "US/Pacific" or "Canada/Eastern" would make "pacific" a city.
_CITY_AREAS = frozenset(
    {
        "Africa",
        "America",
        "Antarctica",
        "Arctic",
        "Asia",
        "Atlantic",
        "Australia",
        "Europe",
        "Indian",
        "Pacific",
    }
)
_UTC_NAMES = frozenset(
    {
        "UTC",
        "Etc/UTC",
        "UCT",
        "Etc/UCT",
        "Universal",
        "Etc/Universal",
        "Zulu",
        "Etc/Zulu",
        "GMT",
        "Etc/GMT",
        "GMT0",
        "GMT+0",
        "GMT-0",
        "Etc/GMT0",
        "Etc/GMT+0",
        "Etc/GMT-0",
        "Greenwich",
        "Etc/Greenwich",
    }
)
# Old names of ASEAN zones, shown under their current name.
_RENAMED = {"Asia/Saigon": "Asia/Ho_Chi_Minh", "Asia/Rangoon": "Asia/Yangon"}
# Each alias maps to the first of its zones that the installed tzdata has.
_HO_CHI_MINH = ("Asia/Ho_Chi_Minh", "Asia/Saigon", "Asia/Bangkok")
_ALIASES: dict[str, tuple[str, ...]] = {
    # ASEAN capitals and their common spellings, then countries with one time zone.
    "bangkok": ("Asia/Bangkok",),
    "manila": ("Asia/Manila",),
    "jakarta": ("Asia/Jakarta",),
    "kuala lumpur": ("Asia/Kuala_Lumpur",),
    "kl": ("Asia/Kuala_Lumpur",),
    "putrajaya": ("Asia/Kuala_Lumpur",),
    "singapore": ("Asia/Singapore",),
    "hanoi": _HO_CHI_MINH,
    "ha noi": _HO_CHI_MINH,
    "ho chi minh": _HO_CHI_MINH,
    "ho chi minh city": _HO_CHI_MINH,
    "hcmc": _HO_CHI_MINH,
    "saigon": _HO_CHI_MINH,
    "sai gon": _HO_CHI_MINH,
    "da nang": _HO_CHI_MINH,
    "phnom penh": ("Asia/Phnom_Penh",),
    "siem reap": ("Asia/Phnom_Penh",),
    "vientiane": ("Asia/Vientiane",),
    "luang prabang": ("Asia/Vientiane",),
    "naypyidaw": ("Asia/Yangon",),
    "naypyitaw": ("Asia/Yangon",),
    "nay pyi taw": ("Asia/Yangon",),
    "nay pyi daw": ("Asia/Yangon",),
    "yangon": ("Asia/Yangon",),
    "rangoon": ("Asia/Yangon",),
    "mandalay": ("Asia/Yangon",),
    "bandar seri begawan": ("Asia/Brunei",),
    "dili": ("Asia/Dili",),
    "chiang mai": ("Asia/Bangkok",),
    "phuket": ("Asia/Bangkok",),
    "cebu": ("Asia/Manila",),
    "davao": ("Asia/Manila",),
    "quezon city": ("Asia/Manila",),
    "surabaya": ("Asia/Jakarta",),
    "bandung": ("Asia/Jakarta",),
    "bali": ("Asia/Makassar",),
    "denpasar": ("Asia/Makassar",),
    "penang": ("Asia/Kuala_Lumpur",),
    "kota kinabalu": ("Asia/Kuching",),
    "wib": ("Asia/Jakarta",),
    "wita": ("Asia/Makassar",),
    "wit": ("Asia/Jayapura",),
    "thailand": ("Asia/Bangkok",),
    "philippines": ("Asia/Manila",),
    "malaysia": ("Asia/Kuala_Lumpur",),
    "vietnam": _HO_CHI_MINH,
    "viet nam": _HO_CHI_MINH,
    "cambodia": ("Asia/Phnom_Penh",),
    "laos": ("Asia/Vientiane",),
    "lao pdr": ("Asia/Vientiane",),
    "myanmar": ("Asia/Yangon",),
    "burma": ("Asia/Yangon",),
    "brunei": ("Asia/Brunei",),
    "brunei darussalam": ("Asia/Brunei",),
    "timor leste": ("Asia/Dili",),
    "timor-leste": ("Asia/Dili",),
    "east timor": ("Asia/Dili",),
    # Cities in two IANA areas: the canonical one wins.
    "istanbul": ("Europe/Istanbul",),
    "nicosia": ("Asia/Nicosia",),
}
# A country with several zones is not guessed: the error suggests its zones instead.
_SEVERAL_ZONES: dict[str, tuple[str, ...]] = {
    "indonesia": ("Asia/Jakarta", "Asia/Makassar", "Asia/Jayapura"),
}


@dataclass(frozen=True, slots=True)
class Schedule:
    """When one subscription's digest is due: a local time, a time zone and a frequency."""

    frequency: str  # "daily" | "weekly" | "off"
    local_time: dt.time  # naive wall-clock time, minute precision
    timezone: str  # canonical key: an IANA name or a fixed offset "UTC+07:00"
    weekday: int = 0  # 0 = Monday; used when weekly

    def __post_init__(self) -> None:
        if self.frequency not in FREQUENCIES:
            raise ValueError(f"frequency must be one of {FREQUENCIES}, not {self.frequency!r}")
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), not {self.weekday!r}")
        if self.local_time.tzinfo is not None:
            raise ValueError("local_time must be a naive wall-clock time")
        if self.local_time.second or self.local_time.microsecond:
            raise ValueError(f"local_time has minute precision, not {self.local_time!r}")
        zone_for(self.timezone)  # an unknown key is a bug in the caller, not a user error


class ScheduleInputError(ValueError):
    """What someone typed is not a time, zone or frequency; `key` and `params` name the message."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params: dict[str, object] = params


# --- due instants -----------------------------------------------------------------------------


def next_due(schedule: Schedule, *, after: dt.datetime) -> dt.datetime | None:
    """Return the first due instant strictly after `after` (aware), in UTC; None when off."""
    if schedule.frequency == "off":
        return None
    after_utc = _as_utc(after)
    zone = zone_for(schedule.timezone)
    wall = _WallTime.of(schedule.local_time)
    # A day earlier than `after`'s local date is a safe start whatever the offsets do.
    day = after_utc.astimezone(zone).date() - _ONE_DAY
    if schedule.frequency == "weekly":
        day += dt.timedelta(days=(schedule.weekday - day.weekday()) % 7)
    step = _ONE_WEEK if schedule.frequency == "weekly" else _ONE_DAY
    while True:
        due = wall.due_on(day, zone)
        if due > after_utc:
            return due
        day += step


def latest_due(schedule: Schedule, *, at_or_before: dt.datetime) -> dt.datetime | None:
    """Return the most recent due instant at or before `at_or_before` (aware), in UTC.

    After downtime this is the one digest to catch up on; None when off.
    """
    if schedule.frequency == "off":
        return None
    limit = _as_utc(at_or_before)
    zone = zone_for(schedule.timezone)
    wall = _WallTime.of(schedule.local_time)
    day = limit.astimezone(zone).date() + _ONE_DAY
    if schedule.frequency == "weekly":
        day -= dt.timedelta(days=(day.weekday() - schedule.weekday) % 7)
    step = _ONE_WEEK if schedule.frequency == "weekly" else _ONE_DAY
    while True:
        due = wall.due_on(day, zone)
        if due <= limit:
            return due
        day -= step


@dataclass(frozen=True, slots=True)
class _WallTime:
    """A schedule's local time with both folds, so each day costs no datetime.replace()."""

    first: dt.time  # fold=0
    second: dt.time  # fold=1

    @staticmethod
    @functools.lru_cache(maxsize=2048)
    def of(local_time: dt.time) -> _WallTime:
        return _WallTime(local_time.replace(fold=0), local_time.replace(fold=1))

    def due_on(self, day: dt.date, zone: dt.tzinfo) -> dt.datetime:
        """The UTC instant this time is due on one local day (the rules in the docstring)."""
        # PEP 495: for a repeated time fold=0 is the first occurrence; for a skipped time fold=0
        # is the offset before the gap and fold=1 the offset after it.
        first = zone.utcoffset(dt.datetime.combine(day, self.first))
        second = zone.utcoffset(dt.datetime.combine(day, self.second))
        if first is None or second is None:
            raise ValueError(f"{zone!r} has no UTC offset")
        # Wall-clock arithmetic on a UTC-labelled datetime gives the UTC instant directly.
        wall = dt.datetime.combine(day, self.first, dt.UTC)
        if second > first and (wall + (second - first)).date() != day:
            # A gap ending at midnight: shifting forward would leave the day, so shift back.
            return wall - second
        return wall - first


def _as_utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got {moment!r}")
    return moment.astimezone(dt.UTC)


# --- time zones -------------------------------------------------------------------------------


def zone_for(key: str) -> dt.tzinfo:
    """Return the tzinfo for a canonical key (an IANA name or "UTC+07:00")."""
    match = _OFFSET_KEY.match(key)
    if match is not None:
        offset = _offset(match.group(1), match.group(2), match.group(3))
        if offset is not None and offset and _offset_key(offset) == key:
            return dt.timezone(offset)
    elif key in _zone_index().zones:
        return ZoneInfo(key)
    raise ScheduleInputError(
        "schedule.bad_timezone", value=key[:_ERROR_VALUE_LIMIT], suggestions=[]
    )


def resolve_timezone(text: str) -> str:
    """Turn what someone typed ("bangkok", "Ho Chi Minh", "UTC+7") into a canonical zone key.

    Accepts, case-insensitively and with spaces or underscores alike, IANA names, the city at
    the end of an IANA name, ASEAN capitals, cities and countries, and fixed offsets from
    UTC-12:00 to UTC+14:00. Names are only looked up in the installed zone list, never opened
    as paths.
    """
    value = text.strip()
    if not value or len(value) > _MAX_ZONE_TEXT:
        raise _bad_timezone(value, suggestions=[])
    compact = re.sub(r"\s+", "", value.casefold())
    offset_match = _OFFSET_INPUT.match(compact)
    if offset_match is not None:
        offset = _offset(*offset_match.groups())
        if offset is None:
            raise _bad_timezone(value, suggestions=[])
        return _offset_key(offset)
    index = _zone_index()
    folded = _fold(value)
    if folded in _SEVERAL_ZONES:
        choices = [key for key in _SEVERAL_ZONES[folded] if key in index.zones]
        raise _bad_timezone(value, suggestions=choices)
    for candidate in (folded, folded.replace("-", "_")):
        found = index.lookup.get(candidate)
        if found is not None:
            return found
    raise _bad_timezone(value, suggestions=_suggest(folded, index))


def format_timezone(key: str, *, at: dt.datetime | None = None) -> str:
    """Show a zone key; with `at`, add its UTC offset then: "Asia/Bangkok (UTC+07:00)"."""
    if at is None or key == UTC_KEY or _OFFSET_KEY.match(key):
        return key
    offset = _as_utc(at).astimezone(zone_for(key)).utcoffset() or dt.timedelta(0)
    return f"{key} ({_offset_key(offset)})"


def _offset(sign: str, hours: str, minutes: str | None) -> dt.timedelta | None:
    """A UTC offset from its parts, or None when it is not one (out of range, 7:75)."""
    minute_count = int(minutes) if minutes else 0
    if minute_count > 59:
        return None
    offset = dt.timedelta(hours=int(hours), minutes=minute_count)
    if sign != "+":
        offset = -offset
    return offset if MIN_OFFSET <= offset <= MAX_OFFSET else None


def _offset_key(offset: dt.timedelta) -> str:
    if not offset:
        return UTC_KEY
    sign = "+" if offset > dt.timedelta(0) else "-"
    hours, minutes = divmod(int(abs(offset).total_seconds()) // 60, 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"


def _fold(text: str) -> str:
    """Lower-case, with spaces and underscores alike and no spaces around slashes."""
    folded = re.sub(r"[\s_]+", "_", text.strip().casefold())
    return re.sub(r"_*/_*", "/", folded).strip("_")


def _bad_timezone(value: str, *, suggestions: list[str]) -> ScheduleInputError:
    return ScheduleInputError(
        "schedule.bad_timezone", value=value[:_ERROR_VALUE_LIMIT], suggestions=suggestions
    )


def _suggest(folded: str, index: _ZoneIndex) -> list[str]:
    close = difflib.get_close_matches(folded, index.lookup, n=_MAX_SUGGESTIONS * 3, cutoff=0.75)
    suggestions: list[str] = []
    for name in close:
        key = index.lookup[name]
        if key not in suggestions:
            suggestions.append(key)
    return suggestions[:_MAX_SUGGESTIONS]


@dataclass(frozen=True, slots=True)
class _ZoneIndex:
    zones: frozenset[str]  # every usable IANA key
    lookup: dict[str, str]  # folded name, city or alias -> canonical key


@functools.cache
def _zone_index() -> _ZoneIndex:
    """Index the installed IANA zones once (zoneinfo reads tzdata; nothing else is read)."""
    zones = frozenset(
        name
        for name in available_timezones()
        if name not in _EXCLUDED_ZONES and not name.startswith(_EXCLUDED_PREFIXES)
    )
    lookup: dict[str, str] = {}
    # Cities, deepest path last so it wins: "buenos_aires" is America/Argentina/Buenos_Aires,
    # not the old America/Buenos_Aires. Aliases below settle the other clashes.
    for name in sorted(zones, key=lambda zone: (zone.count("/"), zone)):
        parts = name.split("/")
        if len(parts) > 1 and parts[0] in _CITY_AREAS:
            for variant in _variants(parts[-1]):
                lookup[variant] = _canonical(name)
    # A full name never clashes with a city (it has a slash) except old top-level names like
    # "Jamaica", where the city's America/Jamaica is kept.
    for name in zones:
        for variant in _variants(name):
            lookup.setdefault(variant, _canonical(name))
    for alias, targets in _ALIASES.items():
        target = next((zone for zone in targets if zone in zones), None)
        if target is not None:
            for variant in _variants(alias):
                lookup[variant] = _canonical(target)
    return _ZoneIndex(zones=zones, lookup=lookup)


def _variants(name: str) -> set[str]:
    folded = _fold(name)
    if folded.startswith("etc/"):
        return {folded}  # the hyphen in Etc/GMT-7 is a sign
    return {folded, folded.replace("-", "_")}


def _canonical(name: str) -> str:
    if name in _UTC_NAMES:
        return UTC_KEY
    etc_gmt = _ETC_GMT.match(name.casefold())
    if etc_gmt is not None:
        sign, hours = etc_gmt.groups()
        return _offset_key(dt.timedelta(hours=int(hours) * (-1 if sign == "+" else 1)))
    return _RENAMED.get(name, name)


# --- time of day and frequency ----------------------------------------------------------------


def parse_time_of_day(text: str) -> dt.time:
    """Parse "7", "7am", "7:30pm", "19:30", "19h30", "0730", "noon" or "midnight".

    A 12-hour time needs an hour from 1 to 12 ("12am" is 00:00, "12pm" is 12:00); a 24-hour
    time an hour from 0 to 23. Three or four bare digits are HMM/HHMM ("0730", "1930").
    """
    value = re.sub(r"\s+", " ", text.strip().casefold())
    if value in _NAMED_TIMES:
        return _NAMED_TIMES[value]
    hour: int | None = None
    minute = 0
    ampm: str | None = None
    clock = _CLOCK_TIME.match(value)
    compact = _COMPACT_TIME.match(value)
    if clock is not None:
        hour = int(clock["hour"])
        minute = int(clock["minute"] or clock["h_minute"] or 0)
        ampm = clock["ampm"]
    elif compact is not None:
        digits = compact["digits"]
        hour, minute = int(digits[:-2]), int(digits[-2:])
        ampm = compact["ampm"]
    if hour is not None and minute <= 59:
        if ampm is None and hour <= 23:
            return dt.time(hour, minute)
        if ampm is not None and 1 <= hour <= 12:
            return dt.time(hour % 12 + (12 if ampm == "p" else 0), minute)
    raise ScheduleInputError("schedule.bad_time", value=text.strip()[:_ERROR_VALUE_LIMIT])


def parse_frequency(text: str) -> tuple[str, int | None]:
    """Parse "daily", "weekly", "weekly friday", "every fri", "fridays" or "off".

    Returns the frequency and, when a weekday was named, its number (0 = Monday).
    """
    words = [word for word in re.split(r"[\s,]+", text.strip().casefold()) if word]
    phrase = " ".join(words)
    if phrase in _DAILY_WORDS:
        return ("daily", None)
    if phrase in _WEEKLY_WORDS:
        return ("weekly", None)
    if phrase in _OFF_WORDS:
        return ("off", None)
    rest = words[1:] if words and words[0] in _WEEKDAY_LEADS else words
    if rest and rest[0] == "on":
        rest = rest[1:]
    if len(rest) == 1:
        weekday = _weekday(rest[0])
        if weekday is not None:
            return ("weekly", weekday)
    raise ScheduleInputError("schedule.bad_frequency", value=text.strip()[:_ERROR_VALUE_LIMIT])


def _weekday(word: str) -> int | None:
    """The weekday a word names: "friday", "fridays", "fri", "fri.", "thurs"; else None."""
    word = word.rstrip(".")
    if word.endswith("s") and word[:-1] in WEEKDAYS:
        word = word[:-1]
    if len(word) < 3:
        return None
    for number, name in enumerate(WEEKDAYS):
        if name.startswith(word):
            return number
    return None


def format_time_of_day(value: dt.time) -> str:
    """Show a time of day as 24-hour "08:00"."""
    return f"{value.hour:02d}:{value.minute:02d}"
