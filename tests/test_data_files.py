"""Checks on the shipped data/ folder, read with PyYAML alone.

These tests do not use the project's loader on purpose: they pin down what the data files
themselves promise (data/README.md), so a broken file fails here even if the loader changes.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from aseanbot.models import RECORD_FIELDS as MODEL_RECORD_FIELDS

REPO = Path(__file__).parents[1]
DATA = REPO / "data"
# CI checks out shared/ beside the clone, so the seed sits two levels above this file.
SEED = Path(__file__).parents[2] / "shared" / "seed"

TOP_LEVEL_KEYS = {"topics", "countries", "partners", "records", "feeds"}
RECORD_FIELDS = set(MODEL_RECORD_FIELDS)
TOPIC_SLUGS = {
    "digital-economy",
    "cybersecurity",
    "ai-governance",
    "data-governance",
    "connectivity",
    "trade",
    "partnerships",
    "sustainability",
    "online-safety",
    "governance",
}
COUNTRY_CODES = {"ASEAN", "BN", "KH", "ID", "LA", "MY", "MM", "PH", "SG", "TH", "VN", "TL"}
PARTNER_CODES = {"APT", "AU", "CN", "EU", "GCC", "IN", "ITU", "JP", "KR", "NZ", "RU", "UN", "US"}
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,57}$")
DATE_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}$")
ARTICLE_URL = "https://world-today-news.com/secretary-general-of-asean-highlights-key-insights-at-us-abc-dinner-dialogue"


def data_files() -> list[Path]:
    """Every YAML file under data/, in the sorted path order the loader reads them."""
    return sorted(p for p in DATA.rglob("*") if p.suffix in {".yaml", ".yml"} and p.is_file())


def read_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def section(key: str) -> list[dict[str, Any]]:
    """The entries of one top-level key, gathered from every data file."""
    entries: list[dict[str, Any]] = []
    for path in data_files():
        entries.extend(read_yaml(path).get(key) or [])
    return entries


def records_by_file() -> list[tuple[str, dict[str, Any]]]:
    return [
        (path.name, record)
        for path in data_files()
        for record in read_yaml(path).get("records") or []
    ]


TOPICS = section("topics")
COUNTRIES = section("countries")
PARTNERS = section("partners")
ALL_RECORDS = records_by_file()
RECORD_PARAMS = [
    pytest.param(record, id=f"{name}:{record.get('id', '?')}") for name, record in ALL_RECORDS
]


def test_data_folder_has_the_expected_files() -> None:
    names = {p.relative_to(DATA).as_posix() for p in data_files()}
    assert {
        "topics.yaml",
        "countries.yaml",
        "partners.yaml",
        "records/asean-facts.yaml",
        "records/asean-digital-update.yaml",
    } <= names


@pytest.mark.parametrize("path", data_files(), ids=lambda p: p.relative_to(DATA).as_posix())
def test_every_file_is_a_mapping_of_known_sections(path: Path) -> None:
    content = read_yaml(path)
    assert isinstance(content, dict)
    assert set(content) <= TOP_LEVEL_KEYS
    assert all(isinstance(value, list) for value in content.values())


def test_exactly_the_ten_topics() -> None:
    slugs = [topic["slug"] for topic in TOPICS]
    assert sorted(slugs) == sorted(TOPIC_SLUGS)


@pytest.mark.parametrize("topic", TOPICS, ids=lambda t: t["slug"])
def test_topic_has_name_description_and_lower_case_keywords(topic: dict[str, Any]) -> None:
    assert topic["name"].strip()
    assert topic["description"].strip()
    keywords = topic["keywords"]
    assert 8 <= len(keywords) <= 20
    assert len(set(keywords)) == len(keywords)
    assert all(isinstance(k, str) and k == k.lower() and k.strip() == k and k for k in keywords)


def test_country_codes_are_asean_and_its_eleven_members() -> None:
    codes = [country["code"] for country in COUNTRIES]
    assert sorted(codes) == sorted(COUNTRY_CODES)


def test_partner_codes_cover_every_code_records_use() -> None:
    codes = [partner["code"] for partner in PARTNERS]
    assert len(codes) == len(set(codes))
    assert set(codes) >= PARTNER_CODES


@pytest.mark.parametrize("entry", COUNTRIES + PARTNERS, ids=lambda e: e["code"])
def test_country_and_partner_entries_have_a_name_and_aliases(entry: dict[str, Any]) -> None:
    assert entry["name"].strip()
    assert all(isinstance(alias, str) and alias.strip() for alias in entry["aliases"])


def test_no_alias_maps_to_two_codes() -> None:
    owners: dict[str, set[str]] = defaultdict(set)
    for entry in COUNTRIES + PARTNERS:
        for alias in [entry["name"], *entry["aliases"]]:
            owners[alias.casefold()].add(entry["code"])
    shared = {alias: codes for alias, codes in owners.items() if len(codes) > 1}
    assert shared == {}


def test_record_ids_are_unique_across_files() -> None:
    seen: dict[str, str] = {}
    duplicates = []
    for name, record in ALL_RECORDS:
        if record["id"] in seen:
            duplicates.append((record["id"], seen[record["id"]], name))
        seen[record["id"]] = name
    assert duplicates == []


@pytest.mark.parametrize("record", RECORD_PARAMS)
def test_record_has_required_fields_in_shape(record: dict[str, Any]) -> None:
    assert set(record) <= RECORD_FIELDS
    assert ID_PATTERN.fullmatch(record["id"])
    assert record["kind"] in {"event", "initiative"}
    assert isinstance(record["title"], str)
    assert record["title"].strip()
    sources = record["sources"]
    assert sources
    assert all(re.match(r"^https?://\S+$", url) for url in sources)


@pytest.mark.parametrize("record", RECORD_PARAMS)
def test_record_codes_and_topics_are_known(record: dict[str, Any]) -> None:
    countries = {c["code"] for c in COUNTRIES}
    partners = {p["code"] for p in PARTNERS}
    slugs = {t["slug"] for t in TOPICS}
    assert record["topics"]
    assert set(record["topics"]) <= slugs
    assert set(record.get("countries", [])) <= countries
    assert set(record.get("partners", [])) <= partners


@pytest.mark.parametrize("record", RECORD_PARAMS)
def test_record_dates_are_iso_and_ordered(record: dict[str, Any]) -> None:
    # Dates are quoted strings, as in the seed, so YAML never turns them into other types.
    for key in ("date", "end_date"):
        if key in record:
            assert isinstance(record[key], str)
            assert DATE_PATTERN.fullmatch(record[key])
            date.fromisoformat(record[key])
    if "end_date" in record:
        assert "date" in record
        assert date.fromisoformat(record["end_date"]) >= date.fromisoformat(record["date"])


def test_asean_facts_equal_the_seed() -> None:
    seed = SEED / "asean-facts.yaml"
    if not seed.is_file():
        pytest.skip(f"seed file not found at {seed}")
    ours = read_yaml(DATA / "records" / "asean-facts.yaml")
    theirs = read_yaml(seed)
    assert len(ours["records"]) == 44
    assert ours == theirs


def test_article_records_state_no_date_place_or_person() -> None:
    """The article gives no dates, places or names, so its records must not claim any."""
    records = read_yaml(DATA / "records" / "asean-digital-update.yaml")["records"]
    assert [r["id"] for r in records] == [
        "article-us-abc-dinner-dialogue",
        "article-indonesia-backs-bangkok-digital-declaration",
        "article-5th-adgmin-opening-ceremony",
        "article-meeting-us-coordinator-digital-policy",
        "article-4th-adgmin-japan-meeting",
    ]
    for record in records:
        assert record["sources"] == [ARTICLE_URL]
        assert not {"date", "end_date", "location", "people"} & set(record)
        assert record["key_focus"]
        assert record["outcome"]
