"""Synthetic stores for the benchmarks: many items and subscriptions, made fast, marked fake.

Everything made here is SYNTHETIC and lives only in the folder the caller gives (a temporary
one): item ids are "synthetic-000123", titles start with "Synthetic", sources point at
example.org, chat ids start at SYNTHETIC_FIRST_CHAT. Nothing is written into data/.

A store is made in three steps: `Store.open` creates the real schema (every migration) and
stores the reference data (topics, countries, partners, read from data/ without its records);
then plain sqlite3 `executemany` inserts every row — items, their topics, countries, partners,
sources and people, and the FTS5 `item_search` row built as `Store._index_item` builds it — in
one transaction; the caller reopens the file with `Store.open` to measure.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import json
import random
import shutil
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from aseanbot.loader import read_dataset
from aseanbot.models import ASEAN_CODE, Dataset
from aseanbot.store import Store
from aseanbot.store.timestamps import format_time
from benchmarks import ROOT

ID_PREFIX = "synthetic-"
TITLE_PREFIX = "Synthetic"
SYNTHETIC_FIRST_CHAT = 900_000_001
SYNTHETIC_FEED = "synthetic-feed"
DATA_DIR = ROOT / "data"

# Items change over about five and a half years, so a one-day digest window holds n / 2000
# of them: about 50 a day at 100k items, a busy news feed.
HISTORY = dt.timedelta(days=2000)
DIGEST_WINDOW = dt.timedelta(days=1)
_CHUNK = 5000  # rows built in Python before each executemany: bounds the generator's memory
_BODY_SEPARATOR = " · "  # as Store._index_item joins the indexed fields

# Plain words of ASEAN news; with the topics' keywords and the place names they make the
# common part of the vocabulary, followed by a long tail of made-up rare words (names,
# jargon). Words are drawn with Zipf–Mandelbrot weights 1 / (rank + _RANK_OFFSET): the most
# common word is in about one text in seven, a topic keyword in one to five in a hundred.
_WORD_TEXT = (
    "ministers meeting summit agreement framework regional cooperation member states "
    "leaders adopted declaration plan roadmap initiative programme workshop forum dialogue "
    "officials senior capacity building policy guidelines standards review launch national "
    "strategy community secretariat report annual joint statement partners support funding "
    "project pilot network centre council committee working group task force vision "
    "blueprint implementation progress priorities cross-border regulation interoperability "
    "innovation skills youth women rural small businesses enterprises consumers platforms "
    "services market integration economic growth recovery resilience security public "
    "private sector stakeholders research universities training exchange memorandum "
    "understanding signed ratified entered force negotiations concluded round talks "
    "mechanism monitoring evaluation targets indicators milestones digital data cyber "
    "energy climate trade investment tourism health education transport logistics ports "
    "aviation maritime fisheries agriculture food water disaster management response "
    "preparedness humanitarian migration labour rights inclusion connectivity "
    "infrastructure financing bank development sustainable green technology science "
    "payments identity authentication cloud computing semiconductors electronics "
    "manufacturing automotive batteries minerals mining forestry haze peatland coastal "
    "urban smart cities mobility railway highway corridor border customs single window "
    "certificate origin tariff lines services liberalisation competition consumer "
    "protection intellectual property copyright patents trademarks broadband satellite "
    "spectrum telecommunications regulators operators scams fraud trafficking drugs crime "
    "police cooperation extradition courts justice anti-corruption transparency "
    "accountability"
)
_WORDS = tuple(_WORD_TEXT.split())
_CITIES = (
    "Bangkok, Thailand",
    "Jakarta, Indonesia",
    "Kuala Lumpur, Malaysia",
    "Singapore",
    "Manila, Philippines",
    "Hanoi, Viet Nam",
    "Phnom Penh, Cambodia",
    "Vientiane, Lao PDR",
    "Bandar Seri Begawan, Brunei",
    "Naypyidaw, Myanmar",
    "Dili, Timor-Leste",
    "Bali, Indonesia",
    "Da Nang, Viet Nam",
    "Siem Reap, Cambodia",
    "Luang Prabang, Lao PDR",
    "virtual",
)
_RARE_WORDS = 20_000
_RANK_OFFSET = 50
_SYLLABLES = tuple(c + v for c in "bdgklmnprstwy" for v in "aeiou")
_KINDS = ("event", "event", "event", "event", "initiative", "initiative", "initiative")
_KINDS_WITH_UPDATES = (*_KINDS, "update", "update", "update")

_ITEM_SQL = (
    "INSERT INTO items (id, kind, title, date, end_date, location, summary, key_focus, outcome, "
    "content_hash, added_at, updated_at, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SUBSCRIPTION_SQL = (
    "INSERT INTO subscriptions (chat_id, chat_type, thread_id, active, topics, countries, "
    "frequency, weekday, local_time, timezone, send_empty, language, next_due_at, watermark, "
    "created_at, updated_at, deactivated_reason) "
    "VALUES (?, 'private', NULL, 1, ?, ?, 'daily', 0, ?, 'UTC', 0, 'en', ?, ?, ?, ?, NULL)"
)


@dataclass(frozen=True, slots=True)
class SyntheticStore:
    """A synthetic database file and what was put in it."""

    path: Path
    items: int
    subscriptions: int
    profiles: int
    now: dt.datetime  # the instant the data was made for
    due: dt.datetime  # every subscription's digest falls due here (a minute before `now`)
    event_ids: tuple[str, ...]  # a sample of ids of kind 'event', for /event
    seconds: float  # how long generation took


def item_id(number: int) -> str:
    """Return the id of synthetic item `number` ("synthetic-000123")."""
    return f"{ID_PREFIX}{number:06d}"


def reference_data() -> Dataset:
    """Topics, countries and partners from data/, without its records (items are synthetic)."""
    dataset = read_dataset(DATA_DIR)
    return Dataset(dataset.topics, dataset.countries, dataset.partners, records=())


def due_instant(now: dt.datetime) -> dt.datetime:
    """The due instant used for every synthetic subscription: the last whole minute before."""
    return (now - dt.timedelta(minutes=1)).replace(second=0, microsecond=0)


async def create_store(
    path: Path,
    *,
    items: int,
    subscriptions: int = 0,
    profiles: int = 1000,
    now: dt.datetime | None = None,
    seed: int = 20250101,
    with_updates: bool = True,
) -> SyntheticStore:
    """Make a synthetic store at `path` (which must not exist yet) and close it again.

    `subscriptions` private chats are spread evenly over `profiles` distinct (topics,
    countries) choices, all due a minute before `now`.
    """
    started = asyncio.get_running_loop().time()
    now = now or dt.datetime.now(dt.UTC)
    reference = reference_data()
    store = await Store.open(path)
    try:
        await store.import_dataset(reference, now=now)
    finally:
        await store.close()
    generator = _ItemGenerator(reference, now=now, seed=seed, with_updates=with_updates)
    event_ids = await asyncio.to_thread(_insert_items, path, generator, items)
    due = due_instant(now)
    if subscriptions:
        await asyncio.to_thread(
            insert_subscriptions, path, count=subscriptions, profiles=profiles, now=now
        )
    return SyntheticStore(
        path=path,
        items=items,
        subscriptions=subscriptions,
        profiles=profiles,
        now=now,
        due=due,
        event_ids=tuple(event_ids),
        seconds=asyncio.get_running_loop().time() - started,
    )


def copy_store(source: SyntheticStore, path: Path) -> SyntheticStore:
    """Copy a closed synthetic store to `path` (cheaper than making the items again)."""
    shutil.copyfile(source.path, path)
    return SyntheticStore(
        path=path,
        items=source.items,
        subscriptions=source.subscriptions,
        profiles=source.profiles,
        now=source.now,
        due=source.due,
        event_ids=source.event_ids,
        seconds=0.0,
    )


def with_subscriptions(
    source: SyntheticStore, path: Path, *, count: int, profiles: int
) -> SyntheticStore:
    """Copy `source` (which has no subscriptions) to `path` and add `count` due ones."""
    copied = copy_store(source, path)
    insert_subscriptions(path, count=count, profiles=profiles, now=source.now)
    return SyntheticStore(
        path=path,
        items=source.items,
        subscriptions=count,
        profiles=profiles,
        now=source.now,
        due=source.due,
        event_ids=copied.event_ids,
        seconds=0.0,
    )


def profile_filters(
    index: int, topics: Sequence[str], countries: Sequence[str]
) -> tuple[list[str], list[str]]:
    """Return the (topics, countries) a subscription of profile `index` follows.

    Profiles 0..2^len(topics)-2 are the distinct non-empty sets of topics (bit i: topic i);
    beyond that, one country is added, so every index gives a different choice.
    """
    subsets = 2 ** len(topics) - 1
    mask = index % subsets + 1
    chosen = [slug for bit, slug in enumerate(topics) if mask & (1 << bit)]
    round_ = index // subsets
    followed = [countries[(round_ - 1) % len(countries)]] if round_ else []
    return chosen, followed


def insert_subscriptions(path: Path, *, count: int, profiles: int, now: dt.datetime) -> None:
    """Insert `count` active daily subscriptions over `profiles` profiles, due a minute ago."""
    with _bulk_connection(path) as db:
        topics = [row[0] for row in db.execute("SELECT slug FROM topics ORDER BY position")]
        countries = [
            row[0]
            for row in db.execute("SELECT code FROM countries ORDER BY position")
            if row[0] != ASEAN_CODE
        ]
        due = due_instant(now)
        due_text = format_time(due)
        watermark = format_time(due - DIGEST_WINDOW)
        created = format_time(now - HISTORY)
        local_time = f"{due:%H:%M}"
        filters = [
            tuple(json.dumps(part) for part in profile_filters(p, topics, countries))
            for p in range(max(1, profiles))
        ]

        def rows() -> Iterator[tuple[object, ...]]:
            for index in range(count):
                chosen, followed = filters[index % len(filters)]
                yield (
                    SYNTHETIC_FIRST_CHAT + index,
                    chosen,
                    followed,
                    local_time,
                    due_text,
                    watermark,
                    created,
                    created,
                )

        db.execute("BEGIN")
        db.executemany(_SUBSCRIPTION_SQL, rows())
        db.execute("COMMIT")


@contextlib.contextmanager
def _bulk_connection(path: Path) -> Iterator[sqlite3.Connection]:
    """A plain sqlite3 connection for bulk loading, checkpointed and closed on exit."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        # Durability does not matter for a throwaway file; speed of the load does.
        db.execute("PRAGMA synchronous = OFF")
        db.execute("PRAGMA cache_size = -65536")
        yield db
        # Fold the WAL into the main file, so a plain file copy is a whole database.
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()


def _insert_items(path: Path, generator: _ItemGenerator, count: int) -> list[str]:
    event_ids: list[str] = []
    with _bulk_connection(path) as db:
        db.execute("BEGIN")
        for start in range(0, count, _CHUNK):
            rows = [generator.item(n) for n in range(start, min(count, start + _CHUNK))]
            db.executemany(_ITEM_SQL, [row.item for row in rows])
            for table in ("item_topics", "item_countries", "item_partners"):
                db.executemany(
                    f"INSERT INTO {table} (item_id, code, position) VALUES (?, ?, ?)",
                    [link for row in rows for link in row.links[table]],
                )
            db.executemany(
                "INSERT INTO item_sources (item_id, position, url) VALUES (?, ?, ?)",
                [link for row in rows for link in row.links["item_sources"]],
            )
            db.executemany(
                "INSERT INTO item_people (item_id, position, name) VALUES (?, ?, ?)",
                [link for row in rows for link in row.links["item_people"]],
            )
            db.executemany(
                "INSERT INTO item_search (item_id, title, body) VALUES (?, ?, ?)",
                [row.search for row in rows],
            )
            event_ids.extend(row.item[0] for row in rows if row.item[1] == "event")
        db.execute("COMMIT")
    sample = random.Random(len(event_ids)).sample(event_ids, min(len(event_ids), 1000))
    return sample


@dataclass(frozen=True, slots=True)
class _Rows:
    item: tuple[object, ...]
    links: dict[str, list[tuple[object, ...]]]
    search: tuple[str, str, str]


class _ItemGenerator:
    """Makes the rows of synthetic item `n`; the same seed gives the same items."""

    def __init__(
        self, reference: Dataset, *, now: dt.datetime, seed: int, with_updates: bool
    ) -> None:
        self._random = random.Random(seed)
        self._now = now.timestamp()
        self._kinds = _KINDS_WITH_UPDATES if with_updates else _KINDS
        self._topics = [(t.slug, t.name) for t in reference.topics]
        self._countries = [(c.code, c.name) for c in reference.countries if c.code != ASEAN_CODE]
        self._bloc = next(
            ((c.code, c.name) for c in reference.countries if c.code == ASEAN_CODE), None
        )
        self._partners = [(p.code, p.name) for p in reference.partners]
        vocabulary = list(_WORDS)
        vocabulary.extend(keyword for topic in reference.topics for keyword in topic.keywords)
        vocabulary.extend(name for _, name in self._countries + self._partners)
        self._random.shuffle(vocabulary)
        vocabulary.extend(self._rare_word() for _ in range(_RARE_WORDS))
        self._vocabulary = vocabulary
        self._weights = list(
            itertools.accumulate(1.0 / (rank + _RANK_OFFSET) for rank in range(len(vocabulary)))
        )

    def _rare_word(self) -> str:
        return "".join(self._random.choices(_SYLLABLES, k=self._random.randint(2, 4)))

    def _words(self, low: int, high: int) -> str:
        count = self._random.randint(low, high)
        return " ".join(self._random.choices(self._vocabulary, cum_weights=self._weights, k=count))

    def item(self, n: int) -> _Rows:
        rnd = self._random
        identifier = item_id(n)
        kind = rnd.choice(self._kinds)
        updated = self._now - rnd.random() * HISTORY.total_seconds()
        added = updated - rnd.random() * 30 * 86400 if rnd.random() < 0.3 else updated
        day: dt.date | None = dt.datetime.fromtimestamp(
            updated - rnd.random() * 60 * 86400, dt.UTC
        ).date()
        if kind != "update" and rnd.random() < 0.1:
            day = None
        end_day = day + dt.timedelta(days=rnd.randint(1, 3)) if day and rnd.random() < 0.2 else None
        topic_links = rnd.sample(self._topics, rnd.randint(1, 3))
        country_links = rnd.sample(self._countries, rnd.randint(0, 2))
        if self._bloc is not None and rnd.random() < 0.8:
            country_links.append(self._bloc)  # nearly every real record names ASEAN
        partner_links = rnd.sample(self._partners, rnd.choice((0, 0, 1, 2)))
        title = f"{TITLE_PREFIX} {self._words(4, 9).capitalize()}"
        summary = self._words(18, 40) + "."
        key_focus = self._words(6, 12) if rnd.random() < 0.5 else None
        outcome = self._words(6, 12) if rnd.random() < 0.4 else None
        location = rnd.choice(_CITIES) if kind != "update" else None
        people = [f"Synthetic Person {rnd.randint(1, 5000)}"] if rnd.random() < 0.3 else []
        sources = [
            f"https://example.org/synthetic/{identifier}/{k}" for k in range(rnd.randint(1, 2))
        ]
        body = _BODY_SEPARATOR.join(
            part
            for part in (
                summary,
                key_focus,
                outcome,
                location,
                *people,
                *(name for _, name in topic_links),
                *(name for _, name in country_links),
                *(name for _, name in partner_links),
            )
            if part
        )
        return _Rows(
            item=(
                identifier,
                kind,
                title,
                day.isoformat() if day else None,
                end_day.isoformat() if end_day else None,
                location,
                summary,
                key_focus,
                outcome,
                f"{n:064x}",
                _stamp(added),
                _stamp(updated),
                SYNTHETIC_FEED if kind == "update" else "data",
            ),
            links={
                "item_topics": [(identifier, code, i) for i, (code, _) in enumerate(topic_links)],
                "item_countries": [
                    (identifier, code, i) for i, (code, _) in enumerate(country_links)
                ],
                "item_partners": [
                    (identifier, code, i) for i, (code, _) in enumerate(partner_links)
                ],
                "item_sources": [(identifier, i, url) for i, url in enumerate(sources)],
                "item_people": [(identifier, i, name) for i, name in enumerate(people)],
            },
            search=(identifier, title, body),
        )


def _stamp(timestamp: float) -> str:
    return format_time(dt.datetime.fromtimestamp(timestamp, dt.UTC))
