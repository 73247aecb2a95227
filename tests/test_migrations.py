"""Schema migrations: every earlier version upgrades, data survives, newer files are refused."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from aseanbot.models import HIGHLIGHT_END, HIGHLIGHT_START
from aseanbot.scheduling import latest_due, next_due
from aseanbot.store import SchemaTooNewError, Store, StoreOpenError, migrations
from aseanbot.store.migrations import LATEST_VERSION, MIGRATIONS
from aseanbot.store.subscriptions import SchedulePlan


def _make_database(path: Path, version: int) -> None:
    """Build a database as an older aseanbot left it: the first `version` scripts, some rows."""
    with sqlite3.connect(path) as connection:
        for script in MIGRATIONS[:version]:
            connection.executescript(script)
        connection.execute(f"PRAGMA user_version = {version}")
        if version >= 1:
            connection.executescript(
                """
                INSERT INTO topics (slug, name, description, keywords, position)
                VALUES ('trade', 'Trade', 'Free trade.', '["tariff"]', 0);
                INSERT INTO countries (code, name, aliases, position)
                VALUES ('ASEAN', 'ASEAN (all member states)', '[]', 0),
                       ('VN', 'Viet Nam', '["Hanoi"]', 1);
                INSERT INTO partners (code, name, aliases, position)
                VALUES ('JP', 'Japan', '["Tokyo"]', 0);
                INSERT INTO items (id, kind, title, date, end_date, location, summary,
                                   key_focus, outcome, content_hash, added_at, updated_at)
                VALUES ('rcep-signed-hanoi-2020', 'event', 'RCEP agreement signed',
                        '2020-11-15', NULL, 'virtual', 'Fifteen parties signed the pact.',
                        NULL, 'Ratification pending', 'old-hash',
                        '2025-01-01T00:00:00.000000+00:00', '2025-01-01T00:00:00.000000+00:00');
                INSERT INTO item_topics (item_id, code, position)
                VALUES ('rcep-signed-hanoi-2020', 'trade', 0);
                INSERT INTO item_countries (item_id, code, position)
                VALUES ('rcep-signed-hanoi-2020', 'VN', 0), ('rcep-signed-hanoi-2020', 'ASEAN', 1);
                INSERT INTO item_partners (item_id, code, position)
                VALUES ('rcep-signed-hanoi-2020', 'JP', 0);
                INSERT INTO item_sources (item_id, position, url)
                VALUES ('rcep-signed-hanoi-2020', 0, 'https://example.org/rcep');
                INSERT INTO item_people (item_id, position, name)
                VALUES ('rcep-signed-hanoi-2020', 0, 'Nguyen Xuan Phuc');
                INSERT INTO meta (key, value) VALUES ('fingerprint', 'abc');
                """
            )
        if version >= 2:
            connection.execute(
                "INSERT INTO item_search (item_id, title, body) VALUES (?, ?, ?)",
                (
                    "rcep-signed-hanoi-2020",
                    "RCEP agreement signed",
                    "Fifteen parties signed the pact. · Ratification pending · virtual · "
                    "Nguyen Xuan Phuc · Trade · Viet Nam · ASEAN (all member states) · Japan",
                ),
            )
    connection.close()


def _user_version(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
    connection.close()
    return int(version)


@pytest.mark.parametrize("version", range(len(MIGRATIONS)))
async def test_every_earlier_version_is_migrated_and_keeps_its_rows(
    tmp_path: Path, version: int
) -> None:
    path = tmp_path / "old.db"
    _make_database(path, version)

    store = await Store.open(path)
    try:
        assert store.schema_version == LATEST_VERSION
        assert _user_version(path) == LATEST_VERSION
        if version == 0:
            assert await store.item_ids() == ()
            assert (await store.search_items("rcep")).total == 0
            return
        item = await store.get_item("rcep-signed-hanoi-2020")
        assert item is not None
        assert item.title == "RCEP agreement signed"
        assert item.countries == ("VN", "ASEAN")
        assert item.people == ("Nguyen Xuan Phuc",)
        assert item.sources == ("https://example.org/rcep",)
        assert await store.get_meta("fingerprint") == "abc"
        # The search index covers rows that existed before it: texts, people and tag names.
        for words in ("rcep", "fifteen pact", "ratification", "nguyen", "japan", "viet nam"):
            result = await store.search_items(words)
            assert [hit.item.id for hit in result.hits] == ["rcep-signed-hanoi-2020"], words
            assert result.any_word is False
    finally:
        await store.close()


async def test_migration_two_strips_highlight_markers_from_old_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _make_database(path, 1)
    with sqlite3.connect(path) as connection:
        connection.execute(
            "UPDATE items SET title = ?, summary = ?",
            (f"RCEP {HIGHLIGHT_START}signed", f"pact{HIGHLIGHT_END} signed"),
        )
    connection.close()

    store = await Store.open(path)
    try:
        hit = (await store.search_items("pact")).hits[0]
    finally:
        await store.close()

    assert hit.title_marked == "RCEP signed"
    assert hit.snippet_marked.startswith(f"{HIGHLIGHT_START}pact{HIGHLIGHT_END} signed")


async def test_a_database_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    _make_database(path, LATEST_VERSION)
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    connection.close()

    with pytest.raises(SchemaTooNewError) as caught:
        await Store.open(path)

    message = str(caught.value)
    assert f"schema version {LATEST_VERSION + 1}" in message
    assert f"up to {LATEST_VERSION}" in message
    assert _user_version(path) == LATEST_VERSION + 1  # left alone


async def test_opening_twice_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    first = await Store.open(path)
    await first.set_meta("key", "value")
    await first.close()
    with sqlite3.connect(path) as connection:
        schema_before = connection.execute("SELECT name, sql FROM sqlite_master").fetchall()
    connection.close()

    second = await Store.open(path)
    try:
        assert second.schema_version == LATEST_VERSION
        assert await second.get_meta("key") == "value"
    finally:
        await second.close()
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT name, sql FROM sqlite_master").fetchall() == schema_before
    connection.close()
    assert _user_version(path) == LATEST_VERSION


async def test_a_failing_migration_is_rolled_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bot.db"
    _make_database(path, LATEST_VERSION)
    broken = "CREATE TABLE half_done (x INTEGER);\nINSERT INTO no_such_table VALUES (1);"
    monkeypatch.setattr(migrations, "MIGRATIONS", (*MIGRATIONS, broken))
    monkeypatch.setattr(migrations, "LATEST_VERSION", LATEST_VERSION + 1)

    # Reported as a database the bot cannot use, with SQLite's own reason.
    with pytest.raises(StoreOpenError, match="no_such_table") as raised:
        await Store.open(path)
    assert isinstance(raised.value.__cause__, sqlite3.OperationalError)

    assert _user_version(path) == LATEST_VERSION
    with sqlite3.connect(path) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    connection.close()
    assert "half_done" not in tables
    assert "items" in tables


def test_migrations_hold_no_transaction_statements() -> None:
    """migrate() adds BEGIN/COMMIT around each script; a script's own would break that."""
    for script in MIGRATIONS:
        upper = script.upper()
        assert "BEGIN" not in upper
        assert "COMMIT" not in upper
        assert "USER_VERSION" not in upper


async def test_migration_five_makes_a_digest_claimed_the_old_way_owed_again(
    tmp_path: Path,
) -> None:
    """Version 4 wrote a pending ledger row per claimed digest and moved the schedule on at
    once. Migrated, such a chat is due at the claimed period again, and the pass resumes the
    row after the parts it records; settled and inactive chats keep their schedule."""
    path = tmp_path / "v4.db"
    _make_database(path, 4)
    period, tomorrow = "2026-03-04T09:00:00.000000+00:00", "2026-03-05T09:00:00.000000+00:00"
    watermark = "2026-03-03T09:00:00.000000+00:00"
    with sqlite3.connect(path) as connection:
        for chat_id, active in ((1, 1), (2, 1), (3, 0)):
            connection.execute(
                "INSERT INTO subscriptions (chat_id, chat_type, active, frequency, local_time, "
                "timezone, next_due_at, watermark, created_at, updated_at) "
                "VALUES (?, 'private', ?, 'daily', '09:00', 'UTC', ?, ?, ?, ?)",
                (chat_id, active, tomorrow if active else None, watermark, watermark, watermark),
            )
        for chat_id, state, parts_sent in ((1, "pending", 1), (2, "sent", 2), (3, "pending", 0)):
            connection.execute(
                "INSERT INTO deliveries (chat_id, period, window_start, window_end, state, "
                "parts_total, parts_sent, next_attempt_at, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, 2, ?, ?, ?, ?)",
                (chat_id, period, watermark, period, state, parts_sent, period, period, period),
            )
    connection.close()

    store = await Store.open(path)
    try:
        ledger = store.subscriptions
        due_at = {}
        for chat in (1, 2, 3):
            subscription = await ledger.get(chat)
            assert subscription is not None
            due_at[chat] = subscription.next_due_at
        assert due_at == {
            1: dt.datetime(2026, 3, 4, 9, tzinfo=dt.UTC),
            2: dt.datetime(2026, 3, 5, 9, tzinfo=dt.UTC),
            3: None,
        }
        now = dt.datetime(2026, 3, 4, 9, 1, tzinfo=dt.UTC)
        [group] = await ledger.due_groups(now)
        schedule = group.schedule
        plan = SchedulePlan(
            schedule, latest_due(schedule, at_or_before=now), next_due(schedule, after=now), now
        )
        page = await ledger.owed_page(group, plan, now=now, after=None, limit=10)
        assert [(d.chat_id, d.parts_sent) for d in page.digests] == [(1, 1)]
    finally:
        await store.close()
