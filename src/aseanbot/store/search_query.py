"""Turn what a user typed into FTS5 MATCH expressions that SQLite always accepts.

Users type free text ("RCEP signed", 'AI "governance"', "NEAR(", emoji). FTS5 has its own
query language in which quotes, `*`, `^`, `:`, parentheses and the words AND/OR/NOT/NEAR are
operators, so raw input can raise a syntax error. Here every word becomes a quoted FTS5
string, which FTS5 reads as plain text whatever it contains.
"""

from __future__ import annotations

import re

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


def _last_term(term: str) -> str:
    """Match the last word whole or, while the user is still typing it, as a prefix."""
    if len(term) < _MIN_PREFIX_LENGTH:
        return _quoted(term)
    return f"({_quoted(term)} OR {_quoted(term)}*)"


def match_all_words(terms: tuple[str, ...]) -> str:
    """Return an FTS5 expression that matches rows containing every term; '' for no terms."""
    if not terms:
        return ""
    parts = [_quoted(term) for term in terms[:-1]]
    parts.append(_last_term(terms[-1]))
    return " AND ".join(parts)


def match_any_word(terms: tuple[str, ...]) -> str:
    """Return an FTS5 expression that matches rows containing at least one term."""
    if not terms:
        return ""
    parts = [_quoted(term) for term in terms[:-1]]
    parts.append(_last_term(terms[-1]))
    return " OR ".join(parts)
