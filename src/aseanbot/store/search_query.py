"""Turn what a user typed into FTS5 MATCH expressions that SQLite always accepts.

Users type free text ("RCEP signed", 'AI "governance"', "NEAR(", emoji). FTS5 has its own
query language in which quotes, `*`, `^`, `:`, parentheses and the words AND/OR/NOT/NEAR are
operators, so raw input can raise a syntax error. Here every word becomes a quoted FTS5
string, which FTS5 reads as plain text whatever it contains.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# More words than this only slows the query down; nobody types a paragraph on purpose.
MAX_TERMS = 16

# Letters and digits of any script. Underscores split words because FTS5's unicode61
# tokenizer treats them as separators, and a word of underscores alone would be an empty
# phrase that matches nothing and so would spoil an all-words query.
_WORD = re.compile(r"[^\W_]+")

# A one-letter prefix would match most of the index; it is searched as a whole word only.
_MIN_PREFIX_LENGTH = 2


def search_terms(text: str) -> tuple[str, ...]:
    """Return the words of `text` to search for: case-folded, in order, at most MAX_TERMS."""
    return tuple(_WORD.findall(text.casefold())[:MAX_TERMS])


def _quoted(term: str) -> str:
    # Terms come from _WORD and hold no quote, but doubling keeps this safe for any string.
    return '"' + term.replace('"', '""') + '"'


def _last_term(term: str, *, prefix: bool) -> str:
    """Match the last word whole or, while the user is still typing it, also as a prefix."""
    if not prefix or not _can_be_prefix(term):
        return _quoted(term)
    return f"({_quoted(term)} OR {_quoted(term)}*)"


def _can_be_prefix(term: str) -> bool:
    """Whether `term`, as the last word, is also searched as the start of a longer word."""
    return len(term) >= _MIN_PREFIX_LENGTH


def match_all_words(terms: tuple[str, ...], *, prefix: bool = True) -> str:
    """Return an FTS5 expression that matches rows containing every term; '' for no terms.

    With `prefix`, the last term also matches words it starts ("decl" → "declaration").
    """
    if not terms:
        return ""
    parts = [_quoted(term) for term in terms[:-1]]
    parts.append(_last_term(terms[-1], prefix=prefix))
    return " AND ".join(parts)


def match_any_word(terms: tuple[str, ...], *, prefix: bool = True) -> str:
    """Return an FTS5 expression that matches rows containing at least one term.

    With `prefix`, the last term also matches words it starts.
    """
    if not terms:
        return ""
    parts = [_quoted(term) for term in terms[:-1]]
    parts.append(_last_term(terms[-1], prefix=prefix))
    return " OR ".join(parts)


@dataclass(frozen=True, slots=True)
class MatchAttempt:
    """One FTS5 expression to try, and whether it asks for any word rather than all."""

    expression: str
    any_word: bool


def match_attempts(terms: tuple[str, ...]) -> tuple[MatchAttempt, ...]:
    """Return the expressions a search tries in order, keeping the first that matches.

    Every word whole first; then the last word also as a prefix (the user may still be
    typing it); then, for several words, any word whole, and any word with the prefix. The
    prefix form comes second because FTS5, with no prefix index, merges the lists of every
    indexed word it starts, which costs far more than the exact words do.
    """
    if not terms:
        return ()
    attempts = [MatchAttempt(match_all_words(terms, prefix=False), any_word=False)]
    prefixed = _can_be_prefix(terms[-1])
    if prefixed:
        attempts.append(MatchAttempt(match_all_words(terms), any_word=False))
    if len(terms) >= 2:
        attempts.append(MatchAttempt(match_any_word(terms, prefix=False), any_word=True))
        if prefixed:
            attempts.append(MatchAttempt(match_any_word(terms), any_word=True))
    return tuple(attempts)
