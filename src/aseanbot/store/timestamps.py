"""How instants are stored: ISO 8601 text in UTC with microseconds, so text order is time order."""

from __future__ import annotations

import datetime as dt


def format_time(moment: dt.datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError(f"expected a timezone-aware datetime, got {moment!r}")
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)
