"""The database schema as numbered, forward-only migrations.

MIGRATIONS[i] brings a database from `PRAGMA user_version` i to i + 1. A migration, once
released, is never edited: a change to the schema is a new script at the end. Scripts hold no
transaction statements; `migrate` wraps each one in its own transaction together with the
new user_version, so a failed migration leaves the database at the previous version.
"""

from __future__ import annotations

import logging

import aiosqlite

logger = logging.getLogger(__name__)

_V1_TABLES = """
CREATE TABLE topics (
    slug        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    keywords    TEXT NOT NULL DEFAULT '[]',  -- JSON array of strings
    position    INTEGER NOT NULL
);

CREATE TABLE countries (
    code     TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    aliases  TEXT NOT NULL DEFAULT '[]',  -- JSON array of strings
    position INTEGER NOT NULL
);

CREATE TABLE partners (
    code     TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    aliases  TEXT NOT NULL DEFAULT '[]',  -- JSON array of strings
    position INTEGER NOT NULL
);

CREATE TABLE items (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('event', 'initiative')),
    title        TEXT NOT NULL,
    date         TEXT,  -- 'YYYY-MM-DD', NULL when the sources did not state it
    end_date     TEXT,
    location     TEXT,
    summary      TEXT,
    key_focus    TEXT,
    outcome      TEXT,
    content_hash TEXT NOT NULL,  -- sha256 of the record's canonical JSON
    added_at     TEXT NOT NULL,  -- ISO 8601 UTC
    updated_at   TEXT NOT NULL
);

-- The list order is date DESC NULLS LAST, updated_at DESC, id.
CREATE INDEX items_by_date ON items (date DESC, updated_at DESC, id);
CREATE INDEX items_by_kind_date ON items (kind, date DESC, updated_at DESC, id);

CREATE TABLE item_topics (
    item_id  TEXT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    code     TEXT NOT NULL REFERENCES topics (slug),
    position INTEGER NOT NULL,
    PRIMARY KEY (item_id, code)
) WITHOUT ROWID;
CREATE INDEX item_topics_by_code ON item_topics (code, item_id);

CREATE TABLE item_countries (
    item_id  TEXT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    code     TEXT NOT NULL REFERENCES countries (code),
    position INTEGER NOT NULL,
    PRIMARY KEY (item_id, code)
) WITHOUT ROWID;
CREATE INDEX item_countries_by_code ON item_countries (code, item_id);

CREATE TABLE item_partners (
    item_id  TEXT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    code     TEXT NOT NULL REFERENCES partners (code),
    position INTEGER NOT NULL,
    PRIMARY KEY (item_id, code)
) WITHOUT ROWID;
CREATE INDEX item_partners_by_code ON item_partners (code, item_id);

CREATE TABLE item_sources (
    item_id  TEXT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    url      TEXT NOT NULL,
    PRIMARY KEY (item_id, position)
) WITHOUT ROWID;

CREATE TABLE item_people (
    item_id  TEXT NOT NULL REFERENCES items (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name     TEXT NOT NULL,
    PRIMARY KEY (item_id, position)
) WITHOUT ROWID;

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""

# The body joins the item's texts and tag names with ' · ' so that snippets read well; the
# two private-use highlight markers (U+E000, U+E001) are removed so only highlight() adds them.
_V2_SEARCH = """
CREATE VIRTUAL TABLE item_search USING fts5(
    item_id UNINDEXED,
    title,
    body,
    tokenize = 'porter unicode61 remove_diacritics 2'
);

INSERT INTO item_search (item_id, title, body)
SELECT
    i.id,
    replace(replace(i.title, char(57344), ''), char(57345), ''),
    replace(replace(coalesce((
        SELECT group_concat(part, ' · ')
        FROM (
            SELECT 1 AS section, 0 AS position, i.summary AS part
            UNION ALL SELECT 2, 0, i.key_focus
            UNION ALL SELECT 3, 0, i.outcome
            UNION ALL SELECT 4, 0, i.location
            UNION ALL
            SELECT 5, p.position, p.name FROM item_people AS p WHERE p.item_id = i.id
            UNION ALL
            SELECT 6, it.position, t.name
            FROM item_topics AS it JOIN topics AS t ON t.slug = it.code
            WHERE it.item_id = i.id
            UNION ALL
            SELECT 7, ic.position, c.name
            FROM item_countries AS ic JOIN countries AS c ON c.code = ic.code
            WHERE ic.item_id = i.id
            UNION ALL
            SELECT 8, ip.position, pa.name
            FROM item_partners AS ip JOIN partners AS pa ON pa.code = ip.code
            WHERE ip.item_id = i.id
            ORDER BY section, position
        )
        WHERE part IS NOT NULL AND part <> ''
    ), ''), char(57344), ''), char(57345), '')
FROM items AS i;
"""

# One subscription per chat (a forum group's digests go to the topic it subscribed from).
# The delivery ledger has one row per subscription and digest period; a row is written
# before the first message of a digest is sent and updated after each one, so a crash can
# neither lose a digest nor send a confirmed one again. (Until version 5, which writes the
# row with the first part sent: see _V5_OWED_DIGESTS.)
_V3_SUBSCRIPTIONS = """
CREATE TABLE subscriptions (
    chat_id            INTEGER PRIMARY KEY,
    chat_type          TEXT NOT NULL,            -- private | group | supergroup | channel
    thread_id          INTEGER,                  -- forum topic to post in; NULL: the chat
    active             INTEGER NOT NULL DEFAULT 1,
    topics             TEXT NOT NULL DEFAULT '[]',  -- JSON slugs; empty: every topic
    countries          TEXT NOT NULL DEFAULT '[]',  -- JSON codes; empty: every country
    frequency          TEXT NOT NULL CHECK (frequency IN ('daily', 'weekly', 'off')),
    weekday            INTEGER NOT NULL DEFAULT 0,  -- 0 = Monday, for weekly digests
    local_time         TEXT NOT NULL,               -- 'HH:MM' on the subscriber's clock
    timezone           TEXT NOT NULL,               -- IANA name or 'UTC+07:00'
    send_empty         INTEGER NOT NULL DEFAULT 0,  -- say "no new updates" when nothing is new
    language           TEXT NOT NULL DEFAULT 'en',
    next_due_at        TEXT,                        -- UTC; NULL when off or inactive
    watermark          TEXT NOT NULL,               -- items updated after this are new to it
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    deactivated_reason TEXT
) WITHOUT ROWID;
CREATE INDEX subscriptions_due ON subscriptions (next_due_at)
    WHERE active = 1 AND next_due_at IS NOT NULL;

CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    chat_id         INTEGER NOT NULL
                    REFERENCES subscriptions (chat_id) ON DELETE CASCADE ON UPDATE CASCADE,
    period          TEXT NOT NULL,      -- the due instant (UTC) this digest was for
    window_start    TEXT NOT NULL,      -- the digest holds items updated in
    window_end      TEXT NOT NULL,      --   (window_start, window_end]
    state           TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'empty', 'failed')),
    parts_total     INTEGER,
    parts_sent      INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (chat_id, period)
);
CREATE INDEX deliveries_pending ON deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_by_update ON deliveries (updated_at);

-- Digests ask for items changed in a time window.
CREATE INDEX items_by_updated_at ON items (updated_at);
"""

# Feed items are kind 'update'. SQLite cannot change a CHECK constraint, so items is rebuilt
# (SQLite's documented procedure; `migrate` turns foreign keys off around migrations and
# checks them before each commit). Feeds keep their fetch state and health; every entry's
# guid, canonical URL and normalised title point at the item it became, for dedupe.
_V4_FEEDS = """
CREATE TABLE items_new (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('event', 'initiative', 'update')),
    title        TEXT NOT NULL,
    date         TEXT,
    end_date     TEXT,
    location     TEXT,
    summary      TEXT,
    key_focus    TEXT,
    outcome      TEXT,
    content_hash TEXT NOT NULL,
    added_at     TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    origin       TEXT NOT NULL DEFAULT 'data'  -- 'data' (YAML files) or the feed's name
);
INSERT INTO items_new (id, kind, title, date, end_date, location, summary, key_focus, outcome,
                       content_hash, added_at, updated_at)
SELECT id, kind, title, date, end_date, location, summary, key_focus, outcome,
       content_hash, added_at, updated_at
FROM items;
DROP TABLE items;
ALTER TABLE items_new RENAME TO items;
CREATE INDEX items_by_date ON items (date DESC, updated_at DESC, id);
CREATE INDEX items_by_kind_date ON items (kind, date DESC, updated_at DESC, id);
CREATE INDEX items_by_updated_at ON items (updated_at);
CREATE INDEX items_by_origin ON items (origin);

CREATE TABLE feeds (
    name                 TEXT PRIMARY KEY,
    url                  TEXT NOT NULL,
    etag                 TEXT,
    last_modified        TEXT,
    last_attempt_at      TEXT,
    last_success_at      TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_error           TEXT
) WITHOUT ROWID;

CREATE TABLE feed_keys (
    key     TEXT PRIMARY KEY,  -- 'guid:…', 'url:…' (canonical) or 'title:…' (normalised)
    item_id TEXT NOT NULL REFERENCES items (id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX feed_keys_by_item ON feed_keys (item_id);

CREATE TABLE users (
    user_id       INTEGER PRIMARY KEY,
    first_seen_at TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL
);

CREATE TABLE broadcasts (
    id         INTEGER PRIMARY KEY,
    text       TEXT NOT NULL,  -- Telegram HTML, as previewed and confirmed
    created_by INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    state      TEXT NOT NULL CHECK (state IN ('sending', 'done'))
);
CREATE TABLE broadcast_deliveries (
    broadcast_id INTEGER NOT NULL REFERENCES broadcasts (id) ON DELETE CASCADE,
    chat_id      INTEGER NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (broadcast_id, chat_id)
) WITHOUT ROWID;
CREATE INDEX broadcast_deliveries_pending ON broadcast_deliveries (broadcast_id)
    WHERE state = 'pending';
"""

# A digest pass no longer claims a ledger row per subscription before sending: a subscription
# owes its digest while it is due. The due-time index now also holds the schedule (and, as
# every index of a WITHOUT ROWID table, the chat id): the due subscriptions are grouped by
# schedule from the index alone, and each group is paged through in chat order by it. A
# digest claimed the old way and not yet settled is owed again: its chat becomes due at the
# claimed period, and its row (parts sent, attempts) is resumed.
_V5_OWED_DIGESTS = """
DROP INDEX subscriptions_due;
CREATE INDEX subscriptions_due
    ON subscriptions (next_due_at, frequency, local_time, timezone, weekday)
    WHERE active = 1 AND next_due_at IS NOT NULL;
UPDATE subscriptions SET next_due_at = (
    SELECT min(period) FROM deliveries AS d
    WHERE d.chat_id = subscriptions.chat_id AND d.state = 'pending')
WHERE active = 1 AND EXISTS (
    SELECT 1 FROM deliveries AS d WHERE d.chat_id = subscriptions.chat_id AND d.state = 'pending');
"""

MIGRATIONS: tuple[str, ...] = (
    _V1_TABLES,
    _V2_SEARCH,
    _V3_SUBSCRIPTIONS,
    _V4_FEEDS,
    _V5_OWED_DIGESTS,
)

LATEST_VERSION = len(MIGRATIONS)


class StoreOpenError(RuntimeError):
    """The database file cannot be used: not a database, unreadable, or too new."""


class SchemaTooNewError(StoreOpenError):
    """The database was written by a newer aseanbot than the one running."""


async def schema_version(connection: aiosqlite.Connection) -> int:
    """Return the database's `PRAGMA user_version`."""
    async with connection.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row is not None else 0


async def migrate(connection: aiosqlite.Connection) -> int:
    """Apply every pending migration, each in its own transaction; return the new version.

    The connection must be in autocommit mode (isolation_level=None). Raises
    SchemaTooNewError when the database is newer than this code.
    """
    version = await schema_version(connection)
    if version > LATEST_VERSION:
        raise SchemaTooNewError(
            f"the database has schema version {version}, but this aseanbot only knows "
            f"versions up to {LATEST_VERSION}; run a newer aseanbot or use another database file"
        )
    if version == LATEST_VERSION:
        return version
    # A migration may rebuild a table (SQLite's way to change a constraint); with foreign
    # keys on, dropping the old table would cascade into its children. The pragma only
    # works outside a transaction; integrity is checked before each commit instead.
    await connection.execute("PRAGMA foreign_keys = OFF")
    try:
        for index in range(version, LATEST_VERSION):
            await _apply(connection, index)
    finally:
        await connection.execute("PRAGMA foreign_keys = ON")
    return LATEST_VERSION


async def _apply(connection: aiosqlite.Connection, index: int) -> None:
    # executescript runs the whole script, so the transaction is part of it; user_version
    # is set inside the transaction and so is rolled back with the schema on failure.
    await connection.executescript(f"BEGIN IMMEDIATE;\n{MIGRATIONS[index]}")
    try:
        async with connection.execute("PRAGMA foreign_key_check") as cursor:
            broken = list(await cursor.fetchall())
        if broken:
            raise RuntimeError(f"migration {index + 1} broke {len(broken)} foreign key(s)")
        # Not executescript: it would commit first, outside this check.
        await connection.execute(f"PRAGMA user_version = {index + 1}")
        await connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            await connection.rollback()
        raise
    logger.info("database migrated to schema version %d", index + 1)
