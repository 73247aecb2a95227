"""Tag a text with the topics, countries and partners it mentions, by whole-word phrases.

How text becomes words (the same for the text and for every keyword, name and alias):

- The text is put in Unicode NFKC form, so full-width letters, ligatures and decomposed
  accents compare equal to their ordinary forms.
- A word is a run of letters, digits and combining marks, in any script. Everything else
  separates words, including "-", ".", "'" and "_": "ASEAN-U.S." is the words ASEAN, U, S and
  "e-commerce" is e, commerce.
- A possessive "'s" (or "’s") at the end of a word is dropped, so "Thailand's" is the word
  Thailand and "Lao People's Democratic Republic" reads the same in data and in text.
- Words compare case-folded, except for acronyms (below).

A keyword, name or alias matches where its words appear in the text consecutively, as whole
words: "Thai" never matches inside "Thaiwan", and "viet nam" matches "Viet-Nam" and "Viet Nam"
alike. Every occurrence counts, including one inside a longer match ("digital economy" inside
"digital economy framework agreement"). Data is never compiled into a regular expression.

Which phrases tag what:

- topics: the topic's `keywords`;
- countries and partners: the `name` (without a trailing gloss in parentheses, so
  "ASEAN (all member states)" is the name ASEAN) and every alias. Codes are not names:
  the code IN would match "in" and US would match "us".
- An alias written in capitals only (at least two capital letters, no lower-case letter,
  such as "EU", "ITU" or "U.S.") is an acronym and matches only the same capitals in the text,
  so "EU" does not match "eu" or "Eu". Names and keywords always match in any case.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from aseanbot.catalog import Catalog

# A word, then an optional possessive 's that is swallowed with it. The combining-marks range
# keeps a decomposed accent that NFKC could not compose inside its word.
_WORD = re.compile(r"((?:[^\W_]|[\u0300-\u036f])+)(?:['\u2019\u02bc][sS](?![^\W_]))?")

_TOPIC, _COUNTRY, _PARTNER = 0, 1, 2


@dataclass(frozen=True, slots=True)
class Tags:
    """What a text mentions; each tuple is in catalog order."""

    topics: tuple[str, ...]
    countries: tuple[str, ...]
    partners: tuple[str, ...]


def words(text: str) -> list[str]:
    """Return the words of `text` in their original case (see the module docstring)."""
    return _WORD.findall(unicodedata.normalize("NFKC", text))


def is_acronym(alias: str) -> bool:
    """True for an alias such as "EU" or "U.S.": two or more capitals and no lower case."""
    return sum(char.isupper() for char in alias) >= 2 and not any(c.islower() for c in alias)


@dataclass(frozen=True, slots=True)
class _Phrase:
    folded: tuple[str, ...]  # the case-folded words to find
    exact: tuple[str, ...] | None  # for an acronym: the words as they must be written
    kind: int  # _TOPIC, _COUNTRY or _PARTNER
    position: int  # index of the topic, country or partner in the catalog


def _strip_gloss(name: str) -> str:
    """'ASEAN (all member states)' → 'ASEAN': a parenthesis explains a name, is not part of it."""
    head, _, _ = name.partition("(")
    return head.strip() or name


class Tagger:
    """Finds a catalog's topics, countries and partners in text; build once per catalog."""

    def __init__(self, catalog: Catalog) -> None:
        self._topics = tuple(topic.slug for topic in catalog.topics)
        self._countries = tuple(country.code for country in catalog.countries)
        self._partners = tuple(partner.code for partner in catalog.partners)
        phrases: set[_Phrase] = set()
        for position, topic in enumerate(catalog.topics):
            phrases.update(_phrases(topic.keywords, (), _TOPIC, position))
        for position, country in enumerate(catalog.countries):
            names = (_strip_gloss(country.name),)
            phrases.update(_phrases(names, country.aliases, _COUNTRY, position))
        for position, partner in enumerate(catalog.partners):
            names = (_strip_gloss(partner.name),)
            phrases.update(_phrases(names, partner.aliases, _PARTNER, position))
        # Each word of the text is looked up once; only phrases starting with it are compared.
        by_first: dict[str, list[_Phrase]] = {}
        for phrase in sorted(phrases, key=lambda p: (p.kind, p.position, p.folded)):
            by_first.setdefault(phrase.folded[0], []).append(phrase)
        self._by_first = {first: tuple(found) for first, found in by_first.items()}

    def tag(self, text: str) -> Tags:
        """Return the topics, countries and partners that `text` mentions."""
        original = words(text)
        folded = [word.casefold() for word in original]
        found: tuple[set[int], set[int], set[int]] = (set(), set(), set())
        for start, first in enumerate(folded):
            for phrase in self._by_first.get(first, ()):
                end = start + len(phrase.folded)
                if end > len(folded) or tuple(folded[start:end]) != phrase.folded:
                    continue
                if phrase.exact is not None and tuple(original[start:end]) != phrase.exact:
                    continue
                found[phrase.kind].add(phrase.position)
        return Tags(
            topics=tuple(self._topics[i] for i in sorted(found[_TOPIC])),
            countries=tuple(self._countries[i] for i in sorted(found[_COUNTRY])),
            partners=tuple(self._partners[i] for i in sorted(found[_PARTNER])),
        )


def _phrases(
    names: Iterable[str], aliases: Iterable[str], kind: int, position: int
) -> list[_Phrase]:
    """Turn names (any case) and aliases (acronyms keep their case) into phrases."""
    phrases = []
    for text, is_alias in [*((name, False) for name in names), *((a, True) for a in aliases)]:
        original = tuple(words(text))
        if not original:
            continue  # punctuation alone names nothing
        exact = original if is_alias and is_acronym(text) else None
        folded = tuple(word.casefold() for word in original)
        phrases.append(_Phrase(folded, exact, kind, position))
    return phrases
