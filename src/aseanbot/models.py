"""Frozen value types shared by the store, the loader, the formatter and the handlers.

The store returns these, never database rows; the formatter turns them into HTML.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from aseanbot.scheduling import Schedule

ITEM_KINDS = ("event", "initiative", "update")

# The pseudo-country code that stands for every ASEAN member at once.
ASEAN_CODE = "ASEAN"

# Search highlights travel from the store to the formatter marked with two private-use
# characters, so the formatter can escape the text first and add <b> tags after.
HIGHLIGHT_START = "\ue000"
HIGHLIGHT_END = "\ue001"

# The order in which a record's fields are written back to YAML (the seed file's order).
RECORD_FIELDS = (
    "id",
    "kind",
    "title",
    "date",
    "end_date",
    "location",
    "countries",
    "partners",
    "topics",
    "summary",
    "key_focus",
    "outcome",
    "people",
    "sources",
)


@dataclass(frozen=True, slots=True)
class Topic:
    slug: str
    name: str
    description: str
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Country:
    """An ASEAN member state, or the `ASEAN` pseudo-code for the whole bloc."""

    code: str
    name: str
    aliases: tuple[str, ...] = ()  # other names, demonyms and capitals, for matching text


@dataclass(frozen=True, slots=True)
class Partner:
    """A dialogue partner or organisation (US, JP, EU, ITU, ...)."""

    code: str
    name: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Record:
    """One validated record as it stands in a data file (field names of asean-facts.yaml)."""

    id: str
    kind: str
    title: str
    sources: tuple[str, ...]
    topics: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    partners: tuple[str, ...] = ()
    date: dt.date | None = None
    end_date: dt.date | None = None
    location: str | None = None
    summary: str | None = None
    key_focus: str | None = None
    outcome: str | None = None
    people: tuple[str, ...] = ()
    origin: str = field(default="", compare=False)  # file it came from, for error messages


@dataclass(frozen=True, slots=True)
class Item:
    """A stored record plus when the store first saw it and last saw it change (UTC)."""

    id: str
    kind: str
    title: str
    sources: tuple[str, ...]
    added_at: dt.datetime
    updated_at: dt.datetime
    topics: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    partners: tuple[str, ...] = ()
    date: dt.date | None = None
    end_date: dt.date | None = None
    location: str | None = None
    summary: str | None = None
    key_focus: str | None = None
    outcome: str | None = None
    people: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ItemQuery:
    """A filter over items; every field set must match (AND)."""

    kind: str | None = None
    topic: str | None = None
    country: str | None = None
    partner: str | None = None
    year: int | None = None


@dataclass(frozen=True, slots=True)
class ItemPage:
    items: tuple[Item, ...]
    total: int
    offset: int
    limit: int


@dataclass(frozen=True, slots=True)
class SearchHit:
    item: Item
    # Plain text with HIGHLIGHT_START/HIGHLIGHT_END around matched words; not HTML.
    title_marked: str
    snippet_marked: str


@dataclass(frozen=True, slots=True)
class SearchResult:
    hits: tuple[SearchHit, ...]
    total: int
    terms: tuple[str, ...]  # the words actually searched for, after cleaning the input
    any_word: bool = False  # True when no item had every word, so items with any word are shown
    capped: bool = False  # True when counting stopped at `total`: at least that many match


@dataclass(frozen=True, slots=True)
class TopicCount:
    topic: Topic
    items: int


@dataclass(frozen=True, slots=True)
class CountryCount:
    country: Country
    items: int


@dataclass(frozen=True, slots=True)
class StoreSummary:
    items: int
    events: int
    initiatives: int
    sources: int  # distinct source URLs
    last_updated: dt.datetime | None


@dataclass(frozen=True, slots=True)
class Dataset:
    """Everything read from a data file or folder, validated in shape but not yet stored."""

    topics: tuple[Topic, ...] = ()
    countries: tuple[Country, ...] = ()
    partners: tuple[Partner, ...] = ()
    records: tuple[Record, ...] = ()


@dataclass(frozen=True, slots=True)
class ImportReport:
    added: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]


# --- subscriptions and digests -------------------------------------------------------------

DELIVERY_STATES = ("pending", "sent", "empty", "failed")


@dataclass(frozen=True, slots=True)
class Subscription:
    """One chat's digest subscription: what it follows, when, and how far it has read."""

    chat_id: int
    chat_type: str
    schedule: Schedule
    watermark: dt.datetime  # items updated after this instant are new to this chat
    created_at: dt.datetime
    updated_at: dt.datetime
    thread_id: int | None = None
    active: bool = True
    topics: tuple[str, ...] = ()  # empty: every topic
    countries: tuple[str, ...] = ()  # empty: every country
    send_empty: bool = False
    language: str = "en"
    next_due_at: dt.datetime | None = None
    deactivated_reason: str | None = None

    @property
    def profile(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """What decides a digest's content besides its time window."""
        return (self.topics, self.countries)


@dataclass(frozen=True, slots=True)
class Delivery:
    """A ledger row: one digest for one subscription and one period."""

    id: int
    chat_id: int
    period: dt.datetime
    window_start: dt.datetime
    window_end: dt.datetime
    state: str
    parts_sent: int
    attempts: int
    next_attempt_at: dt.datetime
    parts_total: int | None = None
    last_error: str | None = None


# --- feeds -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceReport:
    """What one feed source gave in one ingest run."""

    name: str
    status: str  # "ok" | "not_modified" | "failed" | "skipped" (its interval has not passed)
    added: int = 0
    updated: int = 0
    duplicates: int = 0  # entries already stored (earlier runs, or another source this run)
    error: str | None = None


@dataclass(frozen=True, slots=True)
class IngestReport:
    sources: tuple[SourceReport, ...]

    @property
    def failed(self) -> tuple[SourceReport, ...]:
        return tuple(source for source in self.sources if source.status == "failed")

    @property
    def added(self) -> int:
        return sum(source.added for source in self.sources)


@dataclass(frozen=True, slots=True)
class FeedHealth:
    """A feed's fetch state, as /stats and /healthz show it."""

    name: str
    url: str
    last_attempt_at: dt.datetime | None
    last_success_at: dt.datetime | None
    consecutive_failures: int
    last_error: str | None
    items: int  # items whose origin is this feed
