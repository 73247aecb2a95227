"""Turning user text into FTS5 queries that SQLite always accepts."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aseanbot.store.search_query import (
    MAX_TERMS,
    MatchAttempt,
    match_all_words,
    match_any_word,
    match_attempts,
    search_terms,
)


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("RCEP signed", ("rcep", "signed")),
        ("  AI,governance!! ", ("ai", "governance")),
        ('"digital" AND NOT economy', ("digital", "and", "not", "economy")),
        ("NEAR(a b) * ^x col:y", ("near", "a", "b", "x", "col", "y")),
        ("ASEAN_summit", ("asean", "summit")),
        ("___ --- ***", ()),
        ("", ()),
        ("Straße Việt Nam", ("strasse", "việt", "nam")),
        ("🇹🇭 Thailand 🎉", ("thailand",)),
        ("2025 ADGMIN5", ("2025", "adgmin5")),
        ("a\x00b", ("a", "b")),
    ],
)
def test_search_terms_are_casefolded_words(text: str, terms: tuple[str, ...]) -> None:
    assert search_terms(text) == terms


def test_search_terms_keep_the_first_sixteen_words() -> None:
    words = [f"w{n}" for n in range(40)]

    assert search_terms(" ".join(words)) == tuple(words[:MAX_TERMS])
    assert MAX_TERMS == 16


def test_every_word_is_quoted_and_the_last_is_also_a_prefix() -> None:
    assert match_all_words(("rcep", "sig")) == '"rcep" AND ("sig" OR "sig"*)'
    assert match_any_word(("rcep", "sig")) == '"rcep" OR ("sig" OR "sig"*)'


def test_a_one_letter_last_word_is_not_a_prefix() -> None:
    assert match_all_words(("ai", "x")) == '"ai" AND "x"'
    assert match_all_words(("x",)) == '"x"'


def test_without_prefix_every_word_is_whole() -> None:
    assert match_all_words(("rcep", "sig"), prefix=False) == '"rcep" AND "sig"'
    assert match_any_word(("rcep", "sig"), prefix=False) == '"rcep" OR "sig"'


def test_no_terms_give_no_expression() -> None:
    assert match_all_words(()) == ""
    assert match_any_word(()) == ""
    assert match_attempts(()) == ()


@pytest.mark.parametrize(
    ("terms", "attempts"),
    [
        # Whole words, then the last as a prefix, then any word whole, then any with prefix.
        (
            ("rcep", "sig"),
            [
                ('"rcep" AND "sig"', False),
                ('"rcep" AND ("sig" OR "sig"*)', False),
                ('"rcep" OR "sig"', True),
                ('"rcep" OR ("sig" OR "sig"*)', True),
            ],
        ),
        # One word: no any-word fallback.
        (("bangk",), [('"bangk"', False), ('("bangk" OR "bangk"*)', False)]),
        # A one-letter last word is never a prefix, so nothing is tried twice.
        (("x",), [('"x"', False)]),
        (("ai", "x"), [('"ai" AND "x"', False), ('"ai" OR "x"', True)]),
    ],
)
def test_attempts_try_whole_words_before_the_prefix(
    terms: tuple[str, ...], attempts: list[tuple[str, bool]]
) -> None:
    assert match_attempts(terms) == tuple(MatchAttempt(e, any_word) for e, any_word in attempts)


@pytest.fixture(scope="module")
def fts() -> Iterator[sqlite3.Connection]:
    """An FTS5 table with the store's tokenizer and a few rows."""
    connection = sqlite3.connect(":memory:")
    connection.execute(
        "CREATE VIRTUAL TABLE t USING fts5(title, body, "
        "tokenize = 'porter unicode61 remove_diacritics 2')"
    )
    connection.executemany(
        "INSERT INTO t (title, body) VALUES (?, ?)",
        [
            ("RCEP signed", "Regional Comprehensive Economic Partnership signed in Hanoi"),
            ("Digital ministers meet", "Ministers adopted the Bangkok Digital Declaration"),
            ("Café talks", "Ministers and NEAR partners talked about AND, OR and NOT"),
        ],
    )
    yield connection
    connection.close()


def _titles(connection: sqlite3.Connection, expression: str) -> list[str]:
    rows = connection.execute(
        "SELECT title FROM t WHERE t MATCH ? ORDER BY rowid", (expression,)
    ).fetchall()
    return [row[0] for row in rows]


def test_expressions_find_what_they_should(fts: sqlite3.Connection) -> None:
    assert _titles(fts, match_all_words(search_terms("ministers digital"))) == [
        "Digital ministers meet"
    ]
    # As-you-type: the unfinished last word matches as a prefix.
    assert _titles(fts, match_all_words(search_terms("bangkok decl"))) == ["Digital ministers meet"]
    # Stemming and diacritics: "signing" finds "signed", "cafe" finds "Café".
    assert _titles(fts, match_all_words(search_terms("signing"))) == ["RCEP signed"]
    assert _titles(fts, match_all_words(search_terms("cafe"))) == ["Café talks"]
    # Operator words are plain words.
    assert _titles(fts, match_all_words(search_terms("NEAR and OR not"))) == ["Café talks"]
    assert _titles(fts, match_any_word(search_terms("hanoi bangkok"))) == [
        "RCEP signed",
        "Digital ministers meet",
    ]


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=300))
def test_any_text_gives_an_expression_sqlite_accepts(text: str) -> None:
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE VIRTUAL TABLE t USING fts5(body, tokenize = 'porter unicode61')")
    connection.execute("INSERT INTO t (body) VALUES ('some words')")
    terms = search_terms(text)
    assert len(terms) <= MAX_TERMS
    expressions = [match_all_words(terms), match_any_word(terms)]
    expressions += [attempt.expression for attempt in match_attempts(terms)]
    for expression in expressions:
        if expression:
            connection.execute("SELECT count(*) FROM t WHERE t MATCH ?", (expression,)).fetchone()
    connection.close()
