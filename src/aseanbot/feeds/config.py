"""Read the feed sources of data/feeds.yaml, reporting every problem at once.

The file is a mapping whose `feeds` key lists sources (its header comment describes the
fields). The data loader skips that key, so the same file may sit in data/ with the records.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# The data loader's file reading (UTF-8, duplicate keys refused, line and column of a YAML
# error) and its wording, so feeds.yaml reports problems the way the other data files do.
from aseanbot.loader import (
    DataError,
    DataProblem,
    _DataFile,
    _describe_type,
    _did_you_mean,
    _Invalid,
    _load_yaml,
)

logger = logging.getLogger(__name__)

FEEDS_KEY = "feeds"
# Lower-case letters, digits and '-', not starting with '-' so that `ingest --source NAME`
# never reads a name as an option.
NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,39}")
DEFAULT_INTERVAL_MINUTES = 30
MIN_INTERVAL_MINUTES = 5  # more often is unkind to a government web server
MAX_INTERVAL_MINUTES = 1440  # once a day

_FIELDS = ("name", "url", "enabled", "topics", "countries", "interval_minutes")


@dataclass(frozen=True, slots=True)
class FeedSource:
    """One RSS or Atom feed to fetch, and the tags its items get whatever their text says."""

    name: str
    url: str
    enabled: bool
    topics: tuple[str, ...]
    countries: tuple[str, ...] = ()
    interval_minutes: int = DEFAULT_INTERVAL_MINUTES


@dataclass(frozen=True, slots=True)
class FeedProblem(DataProblem):
    """A problem in one feed entry: its position in the list, and its name when it has one."""

    position: int | None = None
    feed: str | None = None

    def __str__(self) -> str:
        """'data/feeds.yaml: feeds[2] "thai-prd", field "url": not an http(s) URL: ...'."""
        entry = f"{FEEDS_KEY}[{self.position}]" if self.position is not None else ""
        if self.feed is not None:
            entry = f'{entry} "{self.feed}"'.strip()
        where = [part for part in (entry, self.field and f'field "{self.field}"') if part]
        location = f"{self.file}: {', '.join(where)}" if where else self.file
        return f"{location}: {self.message}"


class FeedConfigError(DataError, ValueError):
    """The feeds file cannot be used; `problems` lists everything found wrong."""


def _parse_name(value: object) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"expected text, got {_describe_type(value)}")
    if not NAME_PATTERN.fullmatch(value):
        raise _Invalid(
            f"not a valid name (lower-case letters, digits and '-', starting with a letter "
            f"or digit, at most 40 long): {value!r}"
        )
    return value


def _parse_url(value: object) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"expected text, got {_describe_type(value)}")
    url = value.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        raise _Invalid(f"not an http(s) URL: {url!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise _Invalid(f"not an http(s) URL: {url!r}")
    return url


def _parse_enabled(value: object) -> bool:
    if not isinstance(value, bool):
        raise _Invalid(f"expected true or false, got {_describe_type(value)}")
    return value


def _parse_interval(value: object) -> int:
    if value is None:
        return DEFAULT_INTERVAL_MINUTES
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Invalid(f"expected a whole number of minutes, got {_describe_type(value)}")
    if not MIN_INTERVAL_MINUTES <= value <= MAX_INTERVAL_MINUTES:
        raise _Invalid(
            f"must be between {MIN_INTERVAL_MINUTES} and {MAX_INTERVAL_MINUTES} minutes, "
            f"got {value}"
        )
    return value


def _codes(
    known: Collection[str], what: str, *, required: bool
) -> Callable[[object], tuple[str, ...]]:
    """A parser for a list of codes that must all be in `known`, each listed once."""

    def parse(value: object) -> tuple[str, ...]:
        if value is None:
            value = []
        if not isinstance(value, list):
            raise _Invalid(f"expected a list, got {_describe_type(value)}")
        if required and not value:
            raise _Invalid(f"must list at least one {what}")
        codes: list[str] = []
        for element in value:
            if not isinstance(element, str):
                raise _Invalid(f"expected {what}s as text, got {_describe_type(element)}")
            if element not in known:
                raise _Invalid(f"unknown {what} {element!r}{_did_you_mean(element, known)}")
            if element in codes:
                raise _Invalid(f"{element!r} is listed twice")
            codes.append(element)
        return tuple(codes)

    return parse


def _url_key(url: str) -> str:
    """The URL as compared for duplicates: scheme and host in any case are the same feed."""
    parts = urlsplit(url)
    return parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower()).geturl()


class _FeedReader:
    """Checks the entries of one feeds file, collecting problems instead of stopping."""

    def __init__(self, display: str, topics: set[str], countries: set[str]) -> None:
        self.display = display
        self.problems: list[DataProblem] = []
        self.parsers: dict[str, Callable[[object], Any]] = {
            "name": _parse_name,
            "url": _parse_url,
            "enabled": _parse_enabled,
            "topics": _codes(topics, "topic", required=True),
            "countries": _codes(countries, "country", required=False),
            "interval_minutes": _parse_interval,
        }

    def problem(
        self, message: str, *, position: int | None, feed: str | None, field: str | None
    ) -> None:
        self.problems.append(
            FeedProblem(self.display, None, field, message, position=position, feed=feed)
        )

    def source(self, entry: object, position: int) -> FeedSource | None:
        if not isinstance(entry, dict):
            message = f"expected a mapping, got {_describe_type(entry)}"
            self.problem(message, position=position, feed=None, field=None)
            return None
        raw_name = entry.get("name")
        feed = raw_name if isinstance(raw_name, str) and raw_name.strip() else None
        clean = True
        for key in entry:
            if key not in _FIELDS:
                clean = False
                hint = _did_you_mean(str(key), _FIELDS)
                self.problem(f"unknown field{hint}", position=position, feed=feed, field=str(key))
        values: dict[str, Any] = {}
        for name, parse in self.parsers.items():
            # Every field but countries and interval_minutes must be written out: a source
            # is switched on only by someone saying so.
            if name not in entry and name not in ("countries", "interval_minutes"):
                self.problem("missing required field", position=position, feed=feed, field=name)
                clean = False
                continue
            try:
                values[name] = parse(entry.get(name))
            except _Invalid as invalid:
                self.problem(str(invalid), position=position, feed=feed, field=name)
                clean = False
        return FeedSource(**values) if clean else None


def _claim_unique(
    reader: _FeedReader,
    entry: object,
    position: int,
    names: dict[str, int],
    urls: dict[str, int],
) -> bool:
    """Record the entry's name and URL; report and return False if an earlier entry had one."""
    if not isinstance(entry, dict):
        return True
    name = entry.get("name")
    feed = name if isinstance(name, str) else None
    unique = True
    for field, parse, key_of, seen in (
        ("name", _parse_name, str, names),
        ("url", _parse_url, _url_key, urls),
    ):
        try:
            key = key_of(parse(entry.get(field)))
        except _Invalid:
            continue  # already reported by the entry's own checks
        if key in seen:
            unique = False
            message = f"duplicate {field}: already used by {FEEDS_KEY}[{seen[key]}]"
            reader.problem(message, position=position, feed=feed, field=field)
        else:
            seen[key] = position
    return unique


def load_feeds(path: Path, *, topics: set[str], countries: set[str]) -> tuple[FeedSource, ...]:
    """Return the sources under the `feeds` key of `path`, in file order; raise FeedConfigError.

    A missing file, or a file without a `feeds` key, means no sources. Other top-level keys
    belong to the data loader and are ignored here. Every entry is checked, and names and URLs
    must be unique, before anything is returned.
    """
    if not path.exists():
        logger.debug("no feeds file at %s", path)
        return ()
    display = path.as_posix()
    problems: list[DataProblem] = []
    readable, document = _load_yaml(_DataFile(path, path.name, display), problems)
    if not readable:
        raise FeedConfigError(problems)
    if document is None:
        return ()
    if not isinstance(document, dict):
        message = f"expected a mapping with a {FEEDS_KEY} key, got {_describe_type(document)}"
        raise FeedConfigError([DataProblem(display, None, None, message)])
    entries = document.get(FEEDS_KEY)
    if entries is None:
        return ()
    if not isinstance(entries, list):
        message = f"expected a list, got {_describe_type(entries)}"
        raise FeedConfigError([DataProblem(display, None, FEEDS_KEY, message)])

    reader = _FeedReader(display, topics, countries)
    sources: list[FeedSource] = []
    names: dict[str, int] = {}
    urls: dict[str, int] = {}
    for position, entry in enumerate(entries):
        source = reader.source(entry, position)
        # Names and URLs are compared even in entries with other problems, so one run
        # reports a duplicate too.
        unique = _claim_unique(reader, entry, position, names, urls)
        if source is not None and unique:
            sources.append(source)
    if reader.problems:
        raise FeedConfigError(reader.problems)
    logger.debug("read %d feed sources from %s", len(sources), display)
    return tuple(sources)
