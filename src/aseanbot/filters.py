"""Turn the words after /events or /initiatives into an ItemQuery, or a clear error."""

from __future__ import annotations

import re
from dataclasses import replace

from aseanbot.catalog import Catalog
from aseanbot.models import ItemQuery

FIRST_YEAR = 1967  # ASEAN was founded on 8 August 1967
LAST_YEAR = 2100

_YEAR = re.compile(r"^\d{4}$")


class FilterError(Exception):
    """A filter word could not be used; `key` and `params` name the message to show."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


def parse_item_filter(text: str, catalog: Catalog, *, kind: str | None) -> ItemQuery:
    """Parse e.g. "digital-economy", "Thailand 2025" or "viet nam japan" into an ItemQuery."""
    query = ItemQuery(kind=kind)
    for phrase, match in catalog.resolve_phrases(text):
        if match is not None:
            query = _add(query, *match, word=phrase)
        elif _YEAR.match(phrase) and FIRST_YEAR <= int(phrase) <= LAST_YEAR:
            query = _add(query, "year", phrase, word=phrase)
        elif _YEAR.match(phrase):
            raise FilterError(
                "filter.year_range", first=FIRST_YEAR, last=LAST_YEAR, word=phrase[:40]
            )
        else:
            raise FilterError("filter.unknown", word=phrase[:60])
    return query


def _add(query: ItemQuery, field_name: str, value: str, *, word: str) -> ItemQuery:
    if getattr(query, field_name) is not None:
        raise FilterError("filter.too_many", kind=field_name, word=word[:60])
    if field_name == "year":
        return replace(query, year=int(value))
    if field_name == "topic":
        return replace(query, topic=value)
    if field_name == "country":
        return replace(query, country=value)
    return replace(query, partner=value)


def describe_query(query: ItemQuery, catalog: Catalog) -> list[str]:
    """Display names of a query's criteria, in a stable order."""
    parts: list[str] = []
    if query.topic:
        parts.append(catalog.topic_name(query.topic))
    if query.country:
        parts.append(catalog.country_name(query.country))
    if query.partner:
        parts.append(catalog.partner_name(query.partner))
    if query.year:
        parts.append(str(query.year))
    return parts
