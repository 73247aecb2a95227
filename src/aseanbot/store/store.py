"""The Store: aseanbot's only door to SQLite. All SQL lives here and in migrations.py.

One long-lived aiosqlite connection is shared by every handler. An asyncio.Lock serialises
the public methods so that a reader never sees half of an import, and every method that runs
several statements does so inside one transaction (a snapshot for reads, BEGIN IMMEDIATE for
writes), so another process writing the same file cannot tear a read either.
"""

from __future__ import annotations

import asyncio
import difflib
import json
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import date, datetime
from pathlib import Path

import aiosqlite

from aseanbot.loader import validate_references
from aseanbot.models import (
    ASEAN_CODE,
    HIGHLIGHT_END,
    HIGHLIGHT_START,
    Country,
    CountryCount,
    Dataset,
    ImportReport,
    Item,
    ItemPage,
    ItemQuery,
    Partner,
    Record,
    SearchHit,
    SearchResult,
    StoreSummary,
    Topic,
    TopicCount,
)
from aseanbot.store.broadcasts import Broadcasts
from aseanbot.store.feeds import Feeds
from aseanbot.store.hashing import content_hash
from aseanbot.store.migrations import StoreOpenError, migrate
from aseanbot.store.search_query import MatchAttempt, match_attempts, search_terms
from aseanbot.store.stats import Stats
from aseanbot.store.subscriptions import Subscriptions
from aseanbot.store.timestamps import format_time, parse_time

logger = logging.getLogger(__name__)

# Positional (?) or named (:name) query parameters.
_Parameters = Sequence[object] | Mapping[str, object]

_PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA busy_timeout = 5000",
    "PRAGMA synchronous = NORMAL",
    # 32 MiB of page cache instead of 2: the indexes /event and /search walk stay in memory
    # at 100k items. It fills only as pages are read; the bot's peak stays far under 120 MB.
    "PRAGMA cache_size = -32768",
    # No checkpoint inside a commit: copying the WAL back into the database there adds
    # milliseconds to whichever user's command happened to write the 1000th page. The bot
    # checkpoints from a job instead (Store.checkpoint), and SQLite does when the last
    # connection closes, which ends every one-shot command.
    "PRAGMA wal_autocheckpoint = 0",
)

# Newest first; items without a date after all dated ones; then the most recently changed.
_LIST_ORDER = "i.date DESC NULLS LAST, i.updated_at DESC, i.id"

_ITEM_COLUMNS = (
    "i.id, i.kind, i.title, i.date, i.end_date, i.location, i.summary, i.key_focus, "
    "i.outcome, i.added_at, i.updated_at"
)

# The list-valued fields of an item, gathered in the same row as JSON arrays, in order.
_ITEM_LISTS = {
    field: (
        f"(SELECT json_group_array({column}) FROM "
        f"(SELECT {column} FROM {table} WHERE item_id = i.id ORDER BY position)) AS {field}"
    )
    for field, table, column in (
        ("topics", "item_topics", "code"),
        ("countries", "item_countries", "code"),
        ("partners", "item_partners", "code"),
        ("sources", "item_sources", "url"),
        ("people", "item_people", "name"),
    )
}
# One statement loads whole items: a round trip to SQLite's thread per list field would cost
# more than the query itself.
_ITEM_SELECT = f"SELECT {_ITEM_COLUMNS}, {', '.join(_ITEM_LISTS.values())} FROM items AS i"
# The same fields, for statements that join items to something else.
_ITEM_FIELDS = f"{_ITEM_COLUMNS}, {', '.join(_ITEM_LISTS.values())}"

_ITEM_LIST_TABLES = (
    "item_topics",
    "item_countries",
    "item_partners",
    "item_sources",
    "item_people",
)

# Search counts the matches only up to SEARCH_CANDIDATES, then shows one page of them.
# Below the cap every match is ranked with bm25 (weights per item_search column: item_id,
# title, body; a word in the title counts ten times one in the body), ties newest first.
# At the cap the matches are shown newest first without bm25: on its first call bm25 counts
# every row holding each word, which grows with the store (tenfold from 100k to 1M items),
# while FTS5 walks rowids newest first and stops at the LIMIT. Rowids follow the order in
# which items were stored or last changed, so "newest" is the most recently stored.
SEARCH_CANDIDATES = 500
# Each row: the whole item, then its title and snippet with the matched words marked.
_SEARCH_FIELDS = (
    f"{_ITEM_FIELDS}, "
    "highlight(item_search, 1, :start, :end) AS title_marked, "
    "snippet(item_search, 2, :start, :end, '…', 24) AS snippet_marked"
)
# SQLite skips the OFFSET rows before it computes their fields, so only the rows shown pay
# for snippet() and the item's lists. CROSS JOIN keeps item_search the outer loop, whose
# rowid order FTS5 gives without sorting.
_SEARCH_NEWEST_SQL = f"""
SELECT {_SEARCH_FIELDS}
FROM item_search CROSS JOIN items AS i ON i.id = item_search.item_id
WHERE item_search MATCH :match
ORDER BY item_search.rowid DESC LIMIT :limit OFFSET :offset
"""
# The ranking sorts rowids and scores only; the page's rows are then read one rowid lookup
# each (CROSS JOIN keeps `ranked` the outer loop: the other order would walk every match a
# second time).
_SEARCH_RANKED_SQL = f"""
SELECT {_SEARCH_FIELDS}
FROM (
    SELECT rowid AS hit, bm25(item_search, 0, 10.0, 1.0) AS score
    FROM item_search WHERE item_search MATCH :match
    ORDER BY score, rowid DESC LIMIT :limit OFFSET :offset
) AS ranked
CROSS JOIN item_search ON item_search.rowid = ranked.hit
CROSS JOIN items AS i ON i.id = item_search.item_id
WHERE item_search MATCH :match
ORDER BY ranked.score, ranked.hit DESC
"""
_COUNT_SQL = """
SELECT count(*) FROM (
    SELECT 1 FROM item_search WHERE item_search MATCH ? LIMIT ?
)
"""

# Related items are scored among a fixed number of candidates, so /event costs the same
# however large the store: the RELATED_DATED dated items nearest in date to the item (read
# from both sides of it through items_by_date), plus the RELATED_UNDATED most recently
# changed undated items (ongoing negotiations and programmes belong to every period). An
# undated item is anchored at the end of time, so its dated candidates are the newest items.
# Scoring costs about 5–15 µs per candidate (up to three primary-key lookups, more when the
# pages are not in SQLite's cache); 75 candidates keep /event within its latency aim.
RELATED_DATED = 60
RELATED_UNDATED = 15
_UNDATED_ANCHOR = date.max.isoformat()
_DATE_DISTANCE = "abs(julianday(i.date) - julianday(:anchor))"
# Score: 2 per shared topic, 1 per shared partner, 1 per shared country (the ASEAN bloc code
# is left out of :countries); each is a primary-key lookup per candidate, skipped when the
# item has no code of that kind. `scored` is MATERIALIZED so that the scores are computed
# once, not again for the ORDER BY. One statement returns the whole items, so it reads one
# snapshot without an explicit transaction.
_RELATED_SQL = f"""
WITH nearby (id, date, updated_at) AS (
    SELECT * FROM (
        SELECT id, date, updated_at FROM items WHERE date <= :anchor AND id <> :id
        ORDER BY date DESC, updated_at DESC, id LIMIT :dated
    )
    UNION ALL
    SELECT * FROM (
        SELECT id, date, updated_at FROM items WHERE date > :anchor
        ORDER BY date, updated_at, id DESC LIMIT :dated
    )
),
candidates (id, date, updated_at) AS (
    SELECT * FROM (
        SELECT id, date, updated_at FROM nearby AS i
        ORDER BY {_DATE_DISTANCE}, {_LIST_ORDER} LIMIT :dated
    )
    UNION ALL
    SELECT * FROM (
        SELECT id, date, updated_at FROM items WHERE date IS NULL AND id <> :id
        ORDER BY date DESC, updated_at DESC, id LIMIT :undated
    )
),
scored (id, date, updated_at, score) AS MATERIALIZED (
    SELECT c.id, c.date, c.updated_at,
        CASE WHEN :topics = '[]' THEN 0 ELSE 2 * (SELECT count(*) FROM item_topics AS x
            WHERE x.item_id = c.id AND x.code IN (SELECT value FROM json_each(:topics))) END
        + CASE WHEN :partners = '[]' THEN 0 ELSE (SELECT count(*) FROM item_partners AS x
            WHERE x.item_id = c.id AND x.code IN (SELECT value FROM json_each(:partners))) END
        + CASE WHEN :countries = '[]' THEN 0 ELSE (SELECT count(*) FROM item_countries AS x
            WHERE x.item_id = c.id AND x.code IN (SELECT value FROM json_each(:countries))) END
    FROM candidates AS c
)
SELECT {_ITEM_FIELDS} FROM (
    SELECT i.id, i.score FROM scored AS i WHERE i.score > 0
    ORDER BY i.score DESC, {_DATE_DISTANCE} NULLS LAST, {_LIST_ORDER} LIMIT :limit
) AS related
CROSS JOIN items AS i ON i.id = related.id
ORDER BY related.score DESC, {_DATE_DISTANCE} NULLS LAST, {_LIST_ORDER}
"""

# What search_items indexes between fields; it also shows inside snippets.
_BODY_SEPARATOR = " · "
_NO_MARKERS = str.maketrans("", "", HIGHLIGHT_START + HIGHLIGHT_END)

_WORD = re.compile(r"[^\W_]+")
# Ids are at most 58 characters; longer input cannot be a near miss of one.
_MAX_SUGGEST_INPUT = 64
_MIN_ID_SIMILARITY = 0.6


def _format_date(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _parse_date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _item_from_row(row: sqlite3.Row) -> Item:
    def listed(field: str) -> tuple[str, ...]:
        return tuple(json.loads(row[field]))

    return Item(
        id=row["id"],
        kind=row["kind"],
        title=row["title"],
        sources=listed("sources"),
        added_at=parse_time(row["added_at"]),
        updated_at=parse_time(row["updated_at"]),
        topics=listed("topics"),
        countries=listed("countries"),
        partners=listed("partners"),
        date=_parse_date(row["date"]),
        end_date=_parse_date(row["end_date"]),
        location=row["location"],
        summary=row["summary"],
        key_focus=row["key_focus"],
        outcome=row["outcome"],
        people=listed("people"),
    )


def _without_markers(text: str) -> str:
    """Remove the highlight markers, so that only FTS5's highlight() can produce them."""
    return text.translate(_NO_MARKERS)


def _closest_ids(wanted: str, candidates: Sequence[tuple[str, str]], limit: int) -> list[str]:
    """Rank ids like `wanted` (close spelling or containing it), then ids whose titles share
    its words; `candidates` are (id, title) pairs, newest first, which breaks ties."""
    scored = []
    for item_id, _ in candidates:
        similarity = difflib.SequenceMatcher(None, wanted, item_id).ratio()
        if wanted in item_id:
            similarity += 1.0
        if similarity >= _MIN_ID_SIMILARITY:
            scored.append((-similarity, item_id))
    chosen = [item_id for _, item_id in sorted(scored)[:limit]]
    # Short words such as "of" or "2" would tie nearly every title.
    words = {word for word in wanted.split("-") if len(word) >= 3}
    by_title = []
    for newness, (item_id, title) in enumerate(candidates):
        shared = len(words & set(_WORD.findall(title.casefold())))
        if shared and item_id not in chosen:
            by_title.append((-shared, newness, item_id))
    chosen.extend(item_id for _, _, item_id in sorted(by_title))
    return chosen[:limit]


def _item_filter(query: ItemQuery) -> tuple[str, list[object]]:
    """Return a WHERE condition over `items AS i` and its parameters for an ItemQuery."""
    conditions: list[str] = []
    parameters: list[object] = []
    if query.kind is not None:
        conditions.append("i.kind = ?")
        parameters.append(query.kind)
    if query.topic is not None:
        conditions.append(
            "EXISTS (SELECT 1 FROM item_topics AS x WHERE x.item_id = i.id AND x.code = ?)"
        )
        parameters.append(query.topic)
    if query.country is not None:
        conditions.append(
            "EXISTS (SELECT 1 FROM item_countries AS x WHERE x.item_id = i.id AND x.code = ?)"
        )
        parameters.append(query.country)
    if query.partner is not None:
        conditions.append(
            "EXISTS (SELECT 1 FROM item_partners AS x WHERE x.item_id = i.id AND x.code = ?)"
        )
        parameters.append(query.partner)
    if query.year is not None:
        # An item belongs to every year its date range touches; undated items to none.
        conditions.append(
            "i.date IS NOT NULL AND i.date <= ? AND coalesce(i.end_date, i.date) >= ?"
        )
        parameters.extend((f"{query.year:04d}-12-31", f"{query.year:04d}-01-01"))
    return (" AND ".join(conditions) or "1"), parameters


def _checkpoint_file(path: str) -> int:
    connection = sqlite3.connect(path, timeout=5)
    try:
        _busy, _frames, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return max(0, int(copied))
    finally:
        connection.close()


class Store:
    """Reads and writes aseanbot's SQLite database; returns models, never rows.

    Create it with `await Store.open(path)` and close it with `await store.close()`.
    """

    def __init__(
        self, connection: aiosqlite.Connection, schema_version: int, path: Path | str = ":memory:"
    ) -> None:
        self._db = connection
        self._schema_version = schema_version
        self._path = str(path)
        self._lock = asyncio.Lock()
        self.subscriptions = Subscriptions(self)
        self.feeds = Feeds(self)
        self.stats = Stats(self)
        self.broadcasts = Broadcasts(self)

    @classmethod
    async def open(cls, path: Path | str) -> Store:
        """Open (creating if needed) the database at `path` and apply pending migrations.

        `":memory:"` gives a private in-memory database, for tests.
        """
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: the store issues BEGIN/COMMIT itself.
        try:
            connection = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as error:  # a folder in its place, no permission to create it
            raise StoreOpenError(f"cannot open the database {path}: {error}") from error
        try:
            connection.row_factory = sqlite3.Row
            for pragma in _PRAGMAS:
                async with connection.execute(pragma):
                    pass
            version = await migrate(connection)
        except sqlite3.DatabaseError as error:  # not a database, or a damaged one
            await connection.close()
            raise StoreOpenError(f"cannot use the database {path}: {error}") from error
        except BaseException:
            await connection.close()
            raise
        logger.debug("opened database %s at schema version %d", path, version)
        return cls(connection, version, path)

    async def checkpoint(self) -> int:
        """Copy what the WAL holds back into the database file; return the frames copied.

        PASSIVE: it never waits for, or blocks, a reader or writer; what a long read still
        needs is copied next time. It runs on a connection of its own in a worker thread, so
        the bot's connection goes on answering meanwhile.
        """
        if self._path == ":memory:":
            return 0
        return await asyncio.to_thread(_checkpoint_file, self._path)

    async def close(self) -> None:
        """Close the connection once any running call has finished; safe to call twice."""
        async with self._lock:
            await self._db.close()

    @property
    def schema_version(self) -> int:
        return self._schema_version

    # -- plumbing -------------------------------------------------------------------------

    @asynccontextmanager
    async def _transaction(self, *, write: bool) -> AsyncIterator[None]:
        """Run the block in one transaction: IMMEDIATE for writes, a snapshot for reads."""
        await self._run("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield
            await self._run("COMMIT")
        except BaseException:
            # Also after a failed COMMIT (say, the file stayed locked past busy_timeout).
            if self._db.in_transaction:
                await self._run("ROLLBACK")
            raise

    # Each statement is one trip to aiosqlite's thread (execute_fetchall runs, fetches and
    # closes there), not three: execute, fetch and close each cost a thread hop, and a search
    # or a card is only a few statements.
    async def _run(self, sql: str, parameters: _Parameters = ()) -> None:
        await self._db.execute_fetchall(sql, parameters)

    async def _run_many(self, sql: str, rows: Iterable[_Parameters]) -> None:
        async with self._db.executemany(sql, rows):
            pass

    async def _rows(self, sql: str, parameters: _Parameters = ()) -> list[sqlite3.Row]:
        return list(await self._db.execute_fetchall(sql, parameters))

    async def _row(self, sql: str, parameters: _Parameters = ()) -> sqlite3.Row | None:
        """The first row of a statement that returns at most a few (a lookup, RETURNING)."""
        rows = await self._db.execute_fetchall(sql, parameters)
        return next(iter(rows), None)

    async def _count(self, sql: str, parameters: _Parameters = ()) -> int:
        row = await self._row(sql, parameters)
        return int(row[0]) if row is not None else 0

    # -- reference data -------------------------------------------------------------------

    async def topics(self) -> tuple[Topic, ...]:
        """Return every topic in data-file order."""
        return tuple(count.topic for count in await self.topic_counts())

    async def topic_counts(self) -> tuple[TopicCount, ...]:
        """Return every topic, in data-file order, with how many items carry it."""
        async with self._lock:
            rows = await self._rows(
                "SELECT t.slug, t.name, t.description, t.keywords, count(x.item_id) AS items "
                "FROM topics AS t LEFT JOIN item_topics AS x ON x.code = t.slug "
                "GROUP BY t.slug ORDER BY t.position, t.rowid"
            )
        return tuple(
            TopicCount(
                Topic(row["slug"], row["name"], row["description"], tuple(json.loads(row[3]))),
                row["items"],
            )
            for row in rows
        )

    async def countries(self) -> tuple[Country, ...]:
        """Return every country (and the ASEAN pseudo-country) in data-file order."""
        return tuple(count.country for count in await self.country_counts())

    async def country_counts(self) -> tuple[CountryCount, ...]:
        """Return every country, in data-file order, with how many items name it."""
        async with self._lock:
            rows = await self._rows(
                "SELECT c.code, c.name, c.aliases, count(x.item_id) AS items "
                "FROM countries AS c LEFT JOIN item_countries AS x ON x.code = c.code "
                "GROUP BY c.code ORDER BY c.position, c.rowid"
            )
        return tuple(
            CountryCount(
                Country(row["code"], row["name"], tuple(json.loads(row["aliases"]))),
                row["items"],
            )
            for row in rows
        )

    async def partners(self) -> tuple[Partner, ...]:
        """Return every partner in data-file order."""
        async with self._lock:
            rows = await self._rows(
                "SELECT code, name, aliases FROM partners ORDER BY position, rowid"
            )
        return tuple(
            Partner(row["code"], row["name"], tuple(json.loads(row["aliases"]))) for row in rows
        )

    async def reference_codes(self) -> tuple[set[str], set[str], set[str]]:
        """Return the known (topic slugs, country codes, partner codes)."""
        async with self._lock, self._transaction(write=False):
            return await self._reference_codes()

    async def _reference_codes(self) -> tuple[set[str], set[str], set[str]]:
        topics = {row[0] for row in await self._rows("SELECT slug FROM topics")}
        countries = {row[0] for row in await self._rows("SELECT code FROM countries")}
        partners = {row[0] for row in await self._rows("SELECT code FROM partners")}
        return topics, countries, partners

    async def _reference_names(self) -> set[tuple[str, str, str]]:
        rows = await self._rows(
            "SELECT 'topic', slug, name FROM topics "
            "UNION ALL SELECT 'country', code, name FROM countries "
            "UNION ALL SELECT 'partner', code, name FROM partners"
        )
        return {(row[0], row[1], row[2]) for row in rows}

    # -- items ----------------------------------------------------------------------------

    async def get_item(self, item_id: str) -> Item | None:
        """Return the item with this id, or None."""
        async with self._lock:
            row = await self._row(f"{_ITEM_SELECT} WHERE i.id = ?", (item_id,))
        return _item_from_row(row) if row is not None else None

    async def item_ids(self) -> tuple[str, ...]:
        """Return every item id, sorted."""
        async with self._lock:
            rows = await self._rows("SELECT id FROM items ORDER BY id")
        return tuple(row[0] for row in rows)

    async def suggest_ids(self, text: str, limit: int = 3) -> tuple[str, ...]:
        """Return up to `limit` existing ids closest to `text` (a mistyped id, or title words).

        Never raises for any text.
        """
        wanted = "-".join(_WORD.findall(text.casefold()))[:_MAX_SUGGEST_INPUT]
        if not wanted or limit <= 0:
            return ()
        async with self._lock:
            rows = await self._rows(f"SELECT i.id, i.title FROM items AS i ORDER BY {_LIST_ORDER}")
        return tuple(_closest_ids(wanted, [(row[0], row[1]) for row in rows], limit))

    async def latest_items(self, limit: int) -> tuple[Item, ...]:
        """Return the `limit` newest items (undated ones last)."""
        async with self._lock:
            rows = await self._rows(
                f"{_ITEM_SELECT} ORDER BY {_LIST_ORDER} LIMIT ?", (max(0, limit),)
            )
        return tuple(_item_from_row(row) for row in rows)

    async def query_items(self, query: ItemQuery, *, offset: int, limit: int) -> ItemPage:
        """Return one page of the items matching every set field of `query`, newest first.

        `year` matches items whose date range touches that year.
        """
        condition, parameters = _item_filter(query)
        offset, limit = max(0, offset), max(0, limit)
        async with self._lock, self._transaction(write=False):
            total = await self._count(
                f"SELECT count(*) FROM items AS i WHERE {condition}", parameters
            )
            rows = await self._rows(
                f"{_ITEM_SELECT} WHERE {condition} ORDER BY {_LIST_ORDER} LIMIT ? OFFSET ?",
                [*parameters, limit, offset],
            )
            items = tuple(_item_from_row(row) for row in rows)
        return ItemPage(items=items, total=total, offset=offset, limit=limit)

    async def items_changed(
        self,
        *,
        since: datetime,
        until: datetime,
        topics: Sequence[str] = (),
        countries: Sequence[str] = (),
        limit: int = 200,
    ) -> tuple[Item, ...]:
        """Items added or updated in (since, until], on any of `topics` and naming any of
        `countries` (empty: no condition), newest first — the content of a digest."""
        conditions = ["i.updated_at > ?", "i.updated_at <= ?"]
        parameters: list[object] = [format_time(since), format_time(until)]
        if topics:
            conditions.append(
                "EXISTS (SELECT 1 FROM item_topics AS x WHERE x.item_id = i.id "
                "AND x.code IN (SELECT value FROM json_each(?)))"
            )
            parameters.append(json.dumps(list(topics)))
        if countries:
            conditions.append(
                "EXISTS (SELECT 1 FROM item_countries AS x WHERE x.item_id = i.id "
                "AND x.code IN (SELECT value FROM json_each(?)))"
            )
            parameters.append(json.dumps(list(countries)))
        async with self._lock:
            rows = await self._rows(
                f"{_ITEM_SELECT} WHERE {' AND '.join(conditions)} ORDER BY {_LIST_ORDER} LIMIT ?",
                [*parameters, max(0, limit)],
            )
        return tuple(_item_from_row(row) for row in rows)

    async def related_items(self, item: Item, limit: int = 3) -> tuple[Item, ...]:
        """Return up to `limit` items from around the same time sharing the most codes.

        Candidates: the RELATED_DATED dated items nearest in date to `item` and the
        RELATED_UNDATED most recently changed undated ones (an undated item counts as
        current: its dated candidates are the newest). Score: 2 per shared topic, 1 per
        shared partner, 1 per shared country other than ASEAN (which nearly every item
        names); only scores above 0. Ties go to the nearest in date (undated ones after
        dated ones), then the newest.
        """
        parameters = {
            "id": item.id,
            "anchor": _UNDATED_ANCHOR if item.date is None else item.date.isoformat(),
            "dated": RELATED_DATED,
            "undated": RELATED_UNDATED,
            "topics": json.dumps(list(item.topics)),
            "partners": json.dumps(list(item.partners)),
            # Nearly every item names the bloc, so sharing it says nothing.
            "countries": json.dumps([code for code in item.countries if code != ASEAN_CODE]),
            "limit": max(0, limit),
        }
        async with self._lock:
            rows = await self._rows(_RELATED_SQL, parameters)
        return tuple(_item_from_row(row) for row in rows)

    async def search_items(self, text: str, *, limit: int = 5, offset: int = 0) -> SearchResult:
        """Full-text search over titles and bodies; never raises for any input text.

        Every word must match, the last also as a prefix only when it matches nothing
        whole; when no item has them all and there are several words, items with any word
        are returned and `any_word` is set (see search_query.match_attempts).

        Order: when fewer than SEARCH_CANDIDATES items match, all of them by relevance
        (bm25, title words weigh more), ties newest first; otherwise newest first (the most
        recently stored or changed), `total` is SEARCH_CANDIDATES, `capped` is set, and
        only those first SEARCH_CANDIDATES can be paged through.
        """
        terms = search_terms(text)
        if not terms:
            return SearchResult(hits=(), total=0, terms=())
        offset, limit = max(0, offset), max(0, limit)
        async with self._lock, self._transaction(write=False):
            attempt, total = await self._first_match(terms)
            capped = total >= SEARCH_CANDIDATES
            if capped:
                sql = _SEARCH_NEWEST_SQL
                limit = min(limit, max(0, SEARCH_CANDIDATES - offset))
            else:
                sql = _SEARCH_RANKED_SQL
            rows: list[sqlite3.Row] = []
            if total and limit:
                rows = await self._rows(
                    sql,
                    {
                        "match": attempt.expression,
                        "start": HIGHLIGHT_START,
                        "end": HIGHLIGHT_END,
                        "limit": limit,
                        "offset": offset,
                    },
                )
        hits = tuple(
            SearchHit(
                item=_item_from_row(row),
                title_marked=row["title_marked"],
                snippet_marked=row["snippet_marked"],
            )
            for row in rows
        )
        return SearchResult(
            hits=hits, total=total, terms=terms, any_word=attempt.any_word, capped=capped
        )

    async def _first_match(self, terms: tuple[str, ...]) -> tuple[MatchAttempt, int]:
        """Return the first of the search's attempts that matches and its capped count,
        or the last attempt and 0."""
        attempts = match_attempts(terms)
        for attempt in attempts:
            total = await self._count_matches(attempt.expression)
            if total:
                return attempt, total
        return attempts[-1], 0

    async def _count_matches(self, match: str) -> int:
        """How many items match, counted up to SEARCH_CANDIDATES."""
        return await self._count(_COUNT_SQL, (match, SEARCH_CANDIDATES))

    async def summary(self) -> StoreSummary:
        """Return counts of items and distinct sources, and when an item last changed."""
        async with self._lock, self._transaction(write=False):
            items = await self._count("SELECT count(*) FROM items")
            events = await self._count("SELECT count(*) FROM items WHERE kind = 'event'")
            initiatives = await self._count("SELECT count(*) FROM items WHERE kind = 'initiative'")
            sources = await self._count("SELECT count(DISTINCT url) FROM item_sources")
            last = await self._row("SELECT max(updated_at) FROM items")
        last_updated = last[0] if last is not None else None
        return StoreSummary(
            items=items,
            events=events,
            initiatives=initiatives,
            sources=sources,
            last_updated=parse_time(last_updated) if last_updated is not None else None,
        )

    # -- writing --------------------------------------------------------------------------

    async def import_dataset(self, dataset: Dataset, *, now: datetime) -> ImportReport:
        """Store a dataset in one transaction and report which items were added or changed.

        Reference data is upserted; each record is compared by content hash: new ones are
        added, changed ones replaced (updated_at = now), equal ones left alone. Items absent
        from the dataset are kept. Raises DataError, writing nothing, if a record names an
        unknown topic, country or partner.
        """
        stamp = format_time(now)
        added: list[str] = []
        updated: list[str] = []
        unchanged: list[str] = []
        async with self._lock, self._transaction(write=True):
            names_before = await self._reference_names()
            await self._upsert_reference_data(dataset)
            topics, countries, partners = await self._reference_codes()
            validate_references(dataset, topics=topics, countries=countries, partners=partners)
            for record in dataset.records:
                digest = content_hash(record)
                stored = await self._row(
                    "SELECT content_hash FROM items WHERE id = ?", (record.id,)
                )
                if stored is None:
                    await self._write_item(record, digest, stamp)
                    added.append(record.id)
                elif stored[0] != digest:
                    await self._write_item(record, digest, stamp)
                    updated.append(record.id)
                else:
                    unchanged.append(record.id)
            # A renamed topic, country or partner changes the indexed text of every item.
            if await self._reference_names() != names_before:
                for row in await self._rows("SELECT id FROM items"):
                    await self._index_item(row[0])
        logger.info(
            "imported dataset: %d added, %d updated, %d unchanged",
            len(added),
            len(updated),
            len(unchanged),
        )
        return ImportReport(added=tuple(added), updated=tuple(updated), unchanged=tuple(unchanged))

    async def _upsert_reference_data(self, dataset: Dataset) -> None:
        await self._run_many(
            "INSERT INTO topics (slug, name, description, keywords, position) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (slug) DO UPDATE SET name = excluded.name, "
            "description = excluded.description, keywords = excluded.keywords, "
            "position = excluded.position",
            [
                (topic.slug, topic.name, topic.description, json.dumps(list(topic.keywords)), index)
                for index, topic in enumerate(dataset.topics)
            ],
        )
        places: tuple[tuple[str, Sequence[Country | Partner]], ...] = (
            ("countries", dataset.countries),
            ("partners", dataset.partners),
        )
        for table, entries in places:
            await self._run_many(
                f"INSERT INTO {table} (code, name, aliases, position) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (code) DO UPDATE SET name = excluded.name, "
                "aliases = excluded.aliases, position = excluded.position",
                [
                    (entry.code, entry.name, json.dumps(list(entry.aliases)), index)
                    for index, entry in enumerate(entries)
                ],
            )

    async def _write_item(
        self, record: Record, digest: str, stamp: str, *, origin: str = "data"
    ) -> None:
        """Insert a new item or replace a changed one (keeping when it was first added).

        `origin` is 'data' for the YAML files, or the name of the feed the item came from.
        """
        await self._run(
            "INSERT INTO items (id, kind, title, date, end_date, location, summary, key_focus, "
            "outcome, content_hash, added_at, updated_at, origin) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, title = excluded.title, "
            "date = excluded.date, end_date = excluded.end_date, location = excluded.location, "
            "summary = excluded.summary, key_focus = excluded.key_focus, "
            "outcome = excluded.outcome, content_hash = excluded.content_hash, "
            "updated_at = excluded.updated_at",
            (
                record.id,
                record.kind,
                record.title,
                _format_date(record.date),
                _format_date(record.end_date),
                record.location,
                record.summary,
                record.key_focus,
                record.outcome,
                digest,
                stamp,
                stamp,
                origin,
            ),
        )
        for table in _ITEM_LIST_TABLES:
            await self._run(f"DELETE FROM {table} WHERE item_id = ?", (record.id,))
        await self._insert_item_lists(record)
        await self._index_item(record.id)

    async def _insert_item_lists(self, record: Record) -> None:
        for table, codes in (
            ("item_topics", record.topics),
            ("item_countries", record.countries),
            ("item_partners", record.partners),
        ):
            await self._run_many(
                f"INSERT INTO {table} (item_id, code, position) VALUES (?, ?, ?)",
                [(record.id, code, position) for position, code in enumerate(codes)],
            )
        await self._run_many(
            "INSERT INTO item_sources (item_id, position, url) VALUES (?, ?, ?)",
            [(record.id, position, url) for position, url in enumerate(record.sources)],
        )
        await self._run_many(
            "INSERT INTO item_people (item_id, position, name) VALUES (?, ?, ?)",
            [(record.id, position, name) for position, name in enumerate(record.people)],
        )

    async def _index_item(self, item_id: str) -> None:
        """Rewrite the item's search row from what is stored (fields, people, tag names)."""
        await self._run("DELETE FROM item_search WHERE item_id = ?", (item_id,))
        row = await self._row(
            "SELECT title, summary, key_focus, outcome, location FROM items WHERE id = ?",
            (item_id,),
        )
        if row is None:
            return
        names = await self._rows(
            "SELECT name FROM ("
            " SELECT 1 AS section, position, name FROM item_people WHERE item_id = :id"
            " UNION ALL SELECT 2, x.position, t.name FROM item_topics AS x"
            "  JOIN topics AS t ON t.slug = x.code WHERE x.item_id = :id"
            " UNION ALL SELECT 3, x.position, c.name FROM item_countries AS x"
            "  JOIN countries AS c ON c.code = x.code WHERE x.item_id = :id"
            " UNION ALL SELECT 4, x.position, p.name FROM item_partners AS x"
            "  JOIN partners AS p ON p.code = x.code WHERE x.item_id = :id"
            ") ORDER BY section, position",
            {"id": item_id},
        )
        parts = [row["summary"], row["key_focus"], row["outcome"], row["location"]]
        parts.extend(name_row[0] for name_row in names)
        body = _BODY_SEPARATOR.join(part for part in parts if part)
        await self._run(
            "INSERT INTO item_search (item_id, title, body) VALUES (?, ?, ?)",
            (item_id, _without_markers(row["title"]), _without_markers(body)),
        )

    async def get_meta(self, key: str) -> str | None:
        """Return the stored value for `key`, or None."""
        async with self._lock:
            row = await self._row("SELECT value FROM meta WHERE key = ?", (key,))
        return row[0] if row is not None else None

    async def set_meta(self, key: str, value: str) -> None:
        """Store `value` under `key`, replacing any earlier value."""
        async with self._lock, self._transaction(write=True):
            await self._run(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
