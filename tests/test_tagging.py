"""Auto-tagging: whole-word phrases of keywords, names and aliases, acronyms in capitals only."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aseanbot.catalog import Catalog
from aseanbot.loader import read_dataset
from aseanbot.models import Country, Partner, Topic
from aseanbot.tagging import Tagger, Tags, is_acronym, words

DATA = Path(__file__).parents[1] / "data"
DATASET = read_dataset(DATA)
CATALOG = Catalog(DATASET.topics, DATASET.countries, DATASET.partners)
TAGGER = Tagger(CATALOG)


def small_tagger(partner_aliases: tuple[str, ...] = ("U.S.", "Washington")) -> Tagger:
    catalog = Catalog(
        topics=(
            Topic("digital-economy", "Digital economy", "", ("digital economy", "e-commerce")),
            Topic("trade", "Trade", "", ("trade", "free trade area", "DEFA")),
        ),
        countries=(
            Country("ASEAN", "ASEAN (all member states)", ("Southeast Asia",)),
            Country("TH", "Thailand", ("Thai", "Bangkok")),
        ),
        partners=(
            Partner("US", "United States", partner_aliases),
            Partner("EU", "European Union", ("EU", "E.U.")),
            Partner("IN", "India", ("Indian",)),
        ),
    )
    return Tagger(catalog)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ASEAN-U.S. e-commerce", ["ASEAN", "U", "S", "e", "commerce"]),
        ("Thailand's plan", ["Thailand", "plan"]),
        ("Thailand’s plan", ["Thailand", "plan"]),
        ("the ministers' meeting", ["the", "ministers", "meeting"]),
        ("Côte d'Ivoire", ["Côte", "d", "Ivoire"]),
        ("Vie\u0302\u0323t Nam", ["Việt", "Nam"]),  # decomposed accents are composed
        ("ＡＳＥＡＮ 2025", ["ASEAN", "2025"]),  # full-width letters become ASCII
        ("snake_case/5G; ok", ["snake", "case", "5G", "ok"]),
        ("", []),
        (" -- ... ", []),
    ],
)
def test_words_split_at_punctuation_and_drop_possessives(text: str, expected: list[str]) -> None:
    assert words(text) == expected


@pytest.mark.parametrize(
    ("alias", "acronym"),
    [("EU", True), ("U.S.", True), ("ITU", True), ("U", False), ("Eu", False), ("Thai", False)],
)
def test_an_acronym_has_two_capitals_and_no_lower_case(alias: str, acronym: bool) -> None:
    assert is_acronym(alias) is acronym


@pytest.mark.parametrize(
    ("text", "countries", "partners"),
    [
        ("Thai officials met", ("TH",), ()),
        ("talks in Bangkok", ("TH",), ()),
        ("Thailand's digital plan", ("TH",), ()),
        ("a meeting in Hanoi", ("VN",), ()),
        ("Vietnamese firms", ("VN",), ()),
        ("Viet Nam hosts", ("VN",), ()),
        ("Vietnam hosts", ("VN",), ()),
        ("Viet-Nam hosts", ("VN",), ()),
        ("Ha Noi declaration", ("VN",), ()),
        ("Lao People's Democratic Republic", ("LA",), ()),
        ("the Timor-Leste delegation", ("TL",), ()),
        ("Timor Leste", ("TL",), ()),
        ("Southeast Asian nations", ("ASEAN",), ()),
        ("the ASEAN way", ("ASEAN",), ()),
        ("Asean ministers", ("ASEAN",), ()),  # a name matches in any case; only aliases are strict
        ("ＡＳＥＡＮ", ("ASEAN",), ()),
        ("Washington welcomed it", (), ("US",)),
        ("Japanese investors", (), ("JP",)),
        ("New Zealand and Australia", (), ("AU", "NZ")),
        ("the U.S. delegation", (), ("US",)),
        ("ASEAN-U.S. summit", ("ASEAN",), ("US",)),
        ("the USA and the EU", (), ("EU", "US")),
        ("the E.U. position", (), ("EU",)),
        ("the ITU and the UN", (), ("ITU", "UN")),
        ("the PRC and the ROK", (), ("CN", "KR")),
        # Codes are not names: IN, US, UN, APT, ID, MY and TH as words tag nothing.
        ("in the US market", (), ()),
        ("let us in", (), ()),
        ("an apt remark, my id", (), ()),
        ("th", (), ()),
        # Acronym aliases only match in capitals.
        ("eu and itu in lower case", (), ()),
        ("Eu", (), ()),
        ("un-", (), ()),
        ("u.s. in lower case", (), ()),
        # Whole words only.
        ("Thaiwan", (), ()),
        ("Thailandia", (), ()),
        ("Bangkoks", (), ()),
        ("Indiana and Chinatown", (), ()),
        ("Japanesey", (), ()),
    ],
)
def test_countries_and_partners_on_the_shipped_data(
    text: str, countries: tuple[str, ...], partners: tuple[str, ...]
) -> None:
    tags = TAGGER.tag(text)
    assert (tags.countries, tags.partners) == (countries, partners)


@pytest.mark.parametrize(
    ("text", "topics"),
    [
        ("E-Commerce grows", ("digital-economy",)),
        ("the Digital Economy Framework Agreement (DEFA)", ("digital-economy", "trade")),
        ("RCEP enters into force", ("trade",)),
        ("guide on generative AI", ("ai-governance",)),
        ("AI-driven scams", ("ai-governance", "online-safety")),
        ("cross-border data flows", ("data-governance",)),
        ("cyber-attacks on ports", ("cybersecurity",)),
        ("ASEAN-Japan commemorative summit", ("partnerships",)),
        ("the ASEAN-U.S. relationship", ("partnerships",)),
        ("a 5G rollout", ("connectivity",)),
        ("fair weather", ()),
        ("certain said trader", ()),  # "cert", "ai" and "trade" are not inside other words
    ],
)
def test_topics_on_the_shipped_data(text: str, topics: tuple[str, ...]) -> None:
    assert TAGGER.tag(text).topics == topics


def test_tags_come_in_catalog_order_whatever_the_text_order() -> None:
    tags = small_tagger().tag("EU, India and Washington: Bangkok trade, e-commerce, Southeast Asia")
    assert tags == Tags(
        topics=("digital-economy", "trade"),
        countries=("ASEAN", "TH"),
        partners=("US", "EU", "IN"),
    )


def test_a_tag_found_twice_is_listed_once() -> None:
    assert small_tagger().tag("Thai, Thailand, Bangkok, thai") == Tags((), ("TH",), ())


def test_a_phrase_needs_all_its_words_in_order() -> None:
    tagger = small_tagger()
    assert tagger.tag("free trade area").topics == ("trade",)
    assert tagger.tag("digital economy").topics == ("digital-economy",)
    assert tagger.tag("economy digital").topics == ()
    assert tagger.tag("digital and economy").topics == ()
    assert tagger.tag("digital").topics == ()


def test_upper_case_keywords_still_match_in_any_case() -> None:
    """The acronym rule is for aliases; a keyword written DEFA also matches 'defa'."""
    assert small_tagger().tag("the defa talks").topics == ("trade",)


def test_an_acronym_alias_us_would_match_only_in_capitals() -> None:
    """partners.yaml has no "US" alias; if one is added, "us" in a sentence still tags nothing."""
    tagger = small_tagger(partner_aliases=("US",))
    assert tagger.tag("in the US market").partners == ("US",)
    assert tagger.tag("join us today").partners == ()
    assert tagger.tag("Us and them").partners == ()


def test_a_parenthesised_gloss_is_not_part_of_a_name() -> None:
    tagger = small_tagger()
    assert tagger.tag("ASEAN").countries == ("ASEAN",)
    assert tagger.tag("all member states").countries == ()


def test_a_keyword_of_punctuation_alone_is_ignored() -> None:
    catalog = Catalog(topics=(Topic("trade", "Trade", "", ("--", "trade")),))
    assert Tagger(catalog).tag("-- trade --").topics == ("trade",)


def test_an_empty_catalog_tags_nothing() -> None:
    assert Tagger(Catalog()).tag("Thailand and the EU") == Tags((), (), ())


_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=200)


@given(first=_TEXT, second=_TEXT)
def test_two_texts_joined_have_at_least_the_tags_of_each(first: str, second: str) -> None:
    joined = TAGGER.tag(f"{first}\n{second}")
    for part in (TAGGER.tag(first), TAGGER.tag(second)):
        assert set(part.topics) <= set(joined.topics)
        assert set(part.countries) <= set(joined.countries)
        assert set(part.partners) <= set(joined.partners)


@given(prefix=st.text(alphabet="abcxyzÀé09", min_size=1, max_size=5))
def test_a_name_glued_to_other_letters_is_not_found(prefix: str) -> None:
    assert TAGGER.tag(f"{prefix}Thai Bangkok{prefix}").countries == ()


def test_tagging_a_long_text_is_fast() -> None:
    """Linear in the text: a megabyte of repeated phrase starts takes well under seconds."""
    text = "digital digital economy ASEAN Viet Nam U.S. " * 25_000
    started = time.perf_counter()
    tags = TAGGER.tag(text)
    assert time.perf_counter() - started < 5
    assert tags.countries == ("ASEAN", "VN")


def _recovered(field: str) -> tuple[int, int]:
    """How many of the records' hand-assigned codes the tagger finds, and how many there are."""
    found = wanted = 0
    for record in DATASET.records:
        parts = (record.title, record.summary, record.key_focus, record.outcome)
        tags = TAGGER.tag("\n".join(part for part in parts if part))
        hand = set(getattr(record, field))
        wanted += len(hand)
        found += len(hand & set(getattr(tags, field)))
    return found, wanted


@pytest.mark.parametrize(("field", "floor"), [("topics", 0.6), ("countries", 0.7)])
def test_the_tagger_recovers_most_hand_assigned_tags_of_the_records(
    field: str, floor: float
) -> None:
    """Title, summary, key focus and outcome of the 49 records name most of their tags.

    On the shipped data: topics 116/127 (91 %), countries 82/102 (80 %), partners 21/61
    (records list partners that took part without naming them in the text).
    """
    assert len(DATASET.records) == 49
    found, wanted = _recovered(field)
    print(f"{field}: {found}/{wanted} recovered")
    assert found / wanted >= floor, f"{field}: only {found}/{wanted} recovered"
