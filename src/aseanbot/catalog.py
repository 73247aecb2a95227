"""The reference data (topics, countries, partners) held in memory for fast lookups.

Loaded from the store at start and after every import, so handlers resolve a filter word or
a display name without a query.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aseanbot.models import Country, Partner, Topic


@dataclass(frozen=True, slots=True)
class Catalog:
    topics: tuple[Topic, ...] = ()
    countries: tuple[Country, ...] = ()
    partners: tuple[Partner, ...] = ()
    _topic_by_slug: dict[str, Topic] = field(init=False, repr=False, compare=False)
    _country_by_code: dict[str, Country] = field(init=False, repr=False, compare=False)
    _partner_by_code: dict[str, Partner] = field(init=False, repr=False, compare=False)
    # casefolded word or phrase → (kind, code); kind is "topic", "country" or "partner"
    _names: dict[str, tuple[str, str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen dataclass: derived lookups are built once here
        set_(self, "_topic_by_slug", {topic.slug: topic for topic in self.topics})
        set_(self, "_country_by_code", {c.code: c for c in self.countries})
        set_(self, "_partner_by_code", {p.code: p for p in self.partners})
        names: dict[str, tuple[str, str]] = {}
        # Later entries never override earlier ones: topics first, then countries, partners.
        for topic in self.topics:
            for name in (topic.slug, topic.slug.replace("-", " "), topic.name):
                names.setdefault(name.casefold(), ("topic", topic.slug))
        for country in self.countries:
            for name in (country.code, country.name, *country.aliases):
                names.setdefault(name.casefold(), ("country", country.code))
        for partner in self.partners:
            for name in (partner.code, partner.name, *partner.aliases):
                names.setdefault(name.casefold(), ("partner", partner.code))
        set_(self, "_names", names)

    def topic(self, slug: str) -> Topic | None:
        return self._topic_by_slug.get(slug)

    def country(self, code: str) -> Country | None:
        return self._country_by_code.get(code)

    def partner(self, code: str) -> Partner | None:
        return self._partner_by_code.get(code)

    def topic_name(self, slug: str) -> str:
        topic = self._topic_by_slug.get(slug)
        return topic.name if topic else slug

    def country_name(self, code: str) -> str:
        country = self._country_by_code.get(code)
        return country.name if country else code

    def partner_name(self, code: str) -> str:
        partner = self._partner_by_code.get(code)
        return partner.name if partner else code

    def resolve_name(self, text: str) -> tuple[str, str] | None:
        """Map a word or phrase (any case) to ("topic"|"country"|"partner", code)."""
        return self._names.get(" ".join(text.split()).casefold())

    @property
    def longest_name_words(self) -> int:
        return max((len(name.split()) for name in self._names), default=1)

    def resolve_phrases(self, text: str) -> list[tuple[str, tuple[str, str] | None]]:
        """Split text into known names, longest phrase first, and the words left over.

        "viet nam 2025 trade" → [("viet nam", ("country", "VN")), ("2025", None),
        ("trade", ("topic", "trade"))]: "New Zealand" is one name, not two words.
        """
        words = text.replace(",", " ").replace(";", " ").split()
        longest = self.longest_name_words
        found: list[tuple[str, tuple[str, str] | None]] = []
        position = 0
        while position < len(words):
            for size in range(min(longest, len(words) - position), 0, -1):
                phrase = " ".join(words[position : position + size])
                match = self.resolve_name(phrase)
                if match is not None:
                    found.append((phrase, match))
                    position += size
                    break
            else:
                found.append((words[position], None))
                position += 1
        return found
