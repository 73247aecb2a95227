"""Reading the YAML data folder: shapes, every problem reported at once, fingerprints."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml

from aseanbot.loader import (
    DataError,
    DataProblem,
    dataset_fingerprint,
    read_dataset,
    record_to_mapping,
    validate_references,
)
from aseanbot.models import RECORD_FIELDS, Dataset, Record
from tests.conftest import SAMPLE_FILES, write_data_folder

REAL_DATA = Path(__file__).resolve().parents[1] / "data"

GOOD_RECORD = {
    "id": "good-record",
    "kind": "event",
    "title": "A good record",
    "date": "2025-01-16",
    "topics": ["trade"],
    "sources": ["https://example.org/good"],
}


def _records_yaml(*records: dict[str, object]) -> str:
    return yaml.safe_dump({"records": list(records)}, sort_keys=False, allow_unicode=True)


def _with(**changes: object) -> dict[str, object]:
    """GOOD_RECORD with fields replaced; a value of ... removes the field."""
    record = {**GOOD_RECORD, **changes}
    return {key: value for key, value in record.items() if value is not ...}


def _problems_for(tmp_path: Path, text: str) -> tuple[str, DataError]:
    """Add `text` as a file that sorts after the sample files; return the error and its text."""
    folder = write_data_folder(tmp_path / "data", {**SAMPLE_FILES, "updates/bad.yaml": text})
    with pytest.raises(DataError) as caught:
        read_dataset(folder)
    return str(caught.value), caught.value


def test_reads_the_sample_folder(dataset_dir: Path) -> None:
    """Every file of the folder is read, in sorted path order, `feeds` skipped."""
    dataset = read_dataset(dataset_dir)

    assert [topic.slug for topic in dataset.topics] == ["digital-economy", "trade", "ai-governance"]
    assert [country.code for country in dataset.countries] == ["ASEAN", "TH", "VN", "SG"]
    assert [partner.code for partner in dataset.partners] == ["US", "JP", "CN"]
    assert dataset.countries[1].aliases == ("Thai", "Bangkok")
    assert dataset.countries[3].aliases == ()
    assert dataset.topics[0].keywords == ("digital economy", "e-commerce", "DEFA")
    # records/a.yaml sorts before records/b.yml
    assert [record.id for record in dataset.records] == [
        "rcep-signed-hanoi-2020",
        "5th-adgmin-bangkok-2025",
        "asean-ai-guide-2024",
        "defa-negotiations",
        "aem-retreat-2025",
    ]
    adgmin = dataset.records[1]
    assert adgmin.date == date(2025, 1, 16)  # an unquoted YAML date
    assert adgmin.end_date == date(2025, 1, 17)
    assert adgmin.sources == ("https://example.org/adgmin5", "http://example.net/adgmin5-second")
    assert adgmin.origin == "data/records/a.yaml"
    assert dataset.records[0].date == date(2020, 11, 15)  # a quoted one
    assert dataset.records[0].people == (
        "Nguyen Xuan Phuc, Prime Minister of Viet Nam (summit chair)",
    )
    assert dataset.records[3].date is None
    assert dataset.records[3].location is None


def test_reads_a_single_file(tmp_path: Path) -> None:
    path = tmp_path / "one.yaml"
    path.write_text(_records_yaml(GOOD_RECORD), encoding="utf-8")

    dataset = read_dataset(path)

    assert [record.id for record in dataset.records] == ["good-record"]
    assert dataset.topics == ()


def test_folder_is_read_recursively_in_sorted_order_ignoring_other_files(tmp_path: Path) -> None:
    files = {
        "z.yaml": _records_yaml(_with(id="from-z")),
        "a/deep/b.yml": _records_yaml(_with(id="from-a-deep-b")),
        "a/c.yaml": _records_yaml(_with(id="from-a-c")),
        "notes.txt": "records: [this is not read]",
        ".hidden/x.yaml": "not: [valid",
        "records.yaml.bak": "::::",
    }
    dataset = read_dataset(write_data_folder(tmp_path / "data", files))

    assert [record.id for record in dataset.records] == ["from-a-c", "from-a-deep-b", "from-z"]
    assert dataset.records[1].origin == "data/a/deep/b.yml"


def test_problem_text_names_file_record_and_field(tmp_path: Path) -> None:
    text, error = _problems_for(tmp_path, _records_yaml(_with(id="abc", date="2025-13-01")))

    assert error.problems == (
        DataProblem("data/updates/bad.yaml", "abc", "date", "not a date (YYYY-MM-DD): 2025-13-01"),
    )
    assert (
        text
        == 'data/updates/bad.yaml: record "abc", field "date": not a date (YYYY-MM-DD): 2025-13-01'
    )


# (name, records-file text, record id expected in the message, field, message fragment)
RECORD_PROBLEMS = [
    ("missing kind", _records_yaml(_with(kind=...)), "good-record", "kind", "missing required"),
    ("missing title", _records_yaml(_with(title=...)), "good-record", "title", "missing required"),
    ("missing topics", _records_yaml(_with(topics=...)), "good-record", "topics", "missing"),
    ("missing sources", _records_yaml(_with(sources=...)), "good-record", "sources", "missing"),
    ("empty title", _records_yaml(_with(title="  ")), "good-record", "title", "must not be empty"),
    ("null title", _records_yaml(_with(title=None)), "good-record", "title", "must not be empty"),
    ("empty topics", _records_yaml(_with(topics=[])), "good-record", "topics", "at least one"),
    ("empty sources", _records_yaml(_with(sources=[])), "good-record", "sources", "at least one"),
    ("title a number", _records_yaml(_with(title=5)), "good-record", "title", "expected text"),
    ("topics as text", _records_yaml(_with(topics="trade")), "good-record", "topics", "a list"),
    ("people not text", _records_yaml(_with(people=[1])), "good-record", "people", "not text"),
    ("summary a list", _records_yaml(_with(summary=["a"])), "good-record", "summary", "text"),
    ("bad id", _records_yaml(_with(id="Bad_ID")), "Bad_ID", "id", "not a valid id"),
    ("id too long", _records_yaml(_with(id="a" * 59)), "a" * 59, "id", "not a valid id"),
    ("id leading dash", _records_yaml(_with(id="-abc")), "-abc", "id", "not a valid id"),
    ("bad kind", _records_yaml(_with(kind="meeting")), "good-record", "kind", "event, initiative"),
    ("month 13", _records_yaml(_with(date="2025-13-01")), "good-record", "date", "not a date"),
    ("short date", _records_yaml(_with(date="2025-1-5")), "good-record", "date", "not a date"),
    ("words date", _records_yaml(_with(date="16 Jan 2025")), "good-record", "date", "not a date"),
    ("compact date", _records_yaml(_with(date="20250116")), "good-record", "date", "not a date"),
    (
        "unquoted impossible date",
        "records:\n- id: r1\n  kind: event\n  title: T\n  date: 2025-02-30\n"
        "  topics: [trade]\n  sources: [https://example.org/]\n",
        "r1",
        "date",
        "not a date (YYYY-MM-DD): 2025-02-30",
    ),
    (
        "date with a time",
        "records:\n- id: r1\n  kind: event\n  title: T\n  date: 2025-01-16 10:00:00\n"
        "  topics: [trade]\n  sources: [https://example.org/]\n",
        "r1",
        "date",
        "not a date",
    ),
    (
        "end_date without date",
        _records_yaml(_with(date=..., end_date="2025-01-17")),
        "good-record",
        "end_date",
        "needs a date",
    ),
    (
        "end_date before date",
        _records_yaml(_with(end_date="2025-01-15")),
        "good-record",
        "end_date",
        "before date",
    ),
    (
        "ftp source",
        _records_yaml(_with(sources=["ftp://x.org/a"])),
        "good-record",
        "sources",
        "URL",
    ),
    ("bare source", _records_yaml(_with(sources=["example.org"])), "good-record", "sources", "URL"),
    (
        "script source",
        _records_yaml(_with(sources=["javascript:alert(1)"])),
        "good-record",
        "sources",
        "not an http(s) URL",
    ),
    (
        "unknown field",
        _records_yaml(_with(sumary="typo")),
        "good-record",
        "sumary",
        "did you mean 'summary'",
    ),
    (
        "topic listed twice",
        _records_yaml(_with(topics=["trade", "trade"])),
        "good-record",
        "topics",
        "listed twice",
    ),
    (
        "duplicate id in one file",
        _records_yaml(GOOD_RECORD, GOOD_RECORD),
        "good-record",
        "id",
        "already used in data/updates/bad.yaml",
    ),
    (
        "duplicate id across files",
        _records_yaml(_with(id="rcep-signed-hanoi-2020")),
        "rcep-signed-hanoi-2020",
        "id",
        "already used in data/records/a.yaml",
    ),
]


@pytest.mark.parametrize(
    ("text", "record_id", "field", "fragment"),
    [case[1:] for case in RECORD_PROBLEMS],
    ids=[case[0] for case in RECORD_PROBLEMS],
)
def test_each_record_problem_names_file_record_and_field(
    tmp_path: Path, text: str, record_id: str, field: str, fragment: str
) -> None:
    message, error = _problems_for(tmp_path, text)

    assert len(error.problems) == 1, message
    assert f'data/updates/bad.yaml: record "{record_id}", field "{field}": ' in message
    assert fragment in message


# (name, file text, field expected in the message or None, message fragment)
FILE_PROBLEMS = [
    ("syntax error", "records:\n  - id: x\n   kind: event\n", None, "invalid YAML at line 3"),
    ("unclosed list", "records: [a, b\n", None, "invalid YAML at line"),
    ("duplicate yaml key", "records: []\nrecords: []\n", None, "found the key 'records' twice"),
    ("a list", "- a\n- b\n", None, "expected a mapping"),
    ("empty file", "", None, "expected a mapping"),
    ("unknown key", "recrods: []\n", "recrods", "did you mean 'records'"),
    ("records a mapping", "records:\n  id: x\n", "records", "expected a list"),
    ("record not a mapping", "records:\n  - just text\n", "records[0]", "expected a mapping"),
    ("record without id", _records_yaml(_with(id=...)), "records[0].id", "missing required"),
    ("topic without name", "topics:\n  - slug: extra\n", "topics[0].name", "missing required"),
    ("topic bad slug", "topics:\n  - slug: Extra Topic\n    name: X\n", "topics[0].slug", "slug"),
    ("country lower-case", "countries:\n  - code: th\n    name: T\n", "countries[0].code", "code"),
    ("country unknown field", "countries:\n  - code: XX\n    name: X\n    alias: [a]\n",
     "countries[0].alias", "did you mean 'aliases'"),
    ("partner without code", "partners:\n  - name: Nowhere\n", "partners[0].code", "missing"),
    ("duplicate topic", "topics:\n  - slug: trade\n    name: Trade again\n", "topics[0].slug",
     "duplicate slug 'trade': already used in data/topics.yaml"),
    ("duplicate country", "countries:\n  - code: TH\n    name: Thailand\n", "countries[0].code",
     "duplicate code 'TH': already used in data/countries.yaml"),
    ("duplicate partner", "partners:\n  - code: US\n    name: USA\n", "partners[0].code",
     "duplicate code 'US': already used in data/partners.yaml"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "field", "fragment"),
    [case[1:] for case in FILE_PROBLEMS],
    ids=[case[0] for case in FILE_PROBLEMS],
)
def test_each_file_problem_names_the_file(
    tmp_path: Path, text: str, field: str | None, fragment: str
) -> None:
    message, error = _problems_for(tmp_path, text)

    assert len(error.problems) == 1, message
    assert message.startswith("data/updates/bad.yaml: ")
    if field is not None:
        assert f'field "{field}"' in message
    assert fragment in message


def test_feeds_are_skipped(tmp_path: Path) -> None:
    folder = write_data_folder(
        tmp_path / "data", {**SAMPLE_FILES, "feeds.yaml": "feeds:\n  - anything: [1, 2]\n"}
    )
    assert len(read_dataset(folder).records) == 5


def test_every_problem_in_every_file_is_reported_at_once(tmp_path: Path) -> None:
    files = {
        **SAMPLE_FILES,
        "updates/bad.yaml": _records_yaml(
            _with(id="one", kind="party"), _with(id="two", date="tomorrow", sources=["x"])
        ),
        "updates/worse.yaml": "records: [unclosed\n",
    }
    with pytest.raises(DataError) as caught:
        read_dataset(write_data_folder(tmp_path / "data", files))

    located = [(p.file, p.record_id, p.field) for p in caught.value.problems]
    assert located == [
        ("data/updates/bad.yaml", "one", "kind"),
        ("data/updates/bad.yaml", "two", "date"),
        ("data/updates/bad.yaml", "two", "sources"),
        ("data/updates/worse.yaml", None, None),
    ]
    assert len(str(caught.value).splitlines()) == 4


def test_error_text_lists_twenty_problems_then_counts_the_rest() -> None:
    problems = [DataProblem("f.yaml", f"r{n}", "title", "must not be empty") for n in range(25)]

    lines = str(DataError(problems)).splitlines()

    assert len(lines) == 21
    assert lines[0] == 'f.yaml: record "r0", field "title": must not be empty'
    assert lines[-1] == "… and 5 more"


def test_missing_path_and_empty_folder_are_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        read_dataset(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"no \*\.yaml"):
        read_dataset(tmp_path / "empty")


def test_validate_references_names_file_record_field_and_code(dataset_dir: Path) -> None:
    dataset = read_dataset(dataset_dir)
    topics = {topic.slug for topic in dataset.topics}
    countries = {country.code for country in dataset.countries}
    partners = {partner.code for partner in dataset.partners}
    validate_references(dataset, topics=topics, countries=countries, partners=partners)

    with pytest.raises(DataError) as caught:
        validate_references(
            dataset,
            topics=(topics - {"digital-economy"}) | {"digtal-economy"},
            countries=countries - {"SG"},
            partners=partners,
        )

    assert [str(problem) for problem in caught.value.problems] == [
        'data/records/a.yaml: record "5th-adgmin-bangkok-2025", field "topics": '
        "unknown topic 'digital-economy' (did you mean 'digtal-economy'?)",
        'data/records/b.yml: record "asean-ai-guide-2024", field "countries": '
        "unknown country 'SG'",
        'data/records/b.yml: record "defa-negotiations", field "topics": '
        "unknown topic 'digital-economy' (did you mean 'digtal-economy'?)",
    ]


def test_validate_references_suggests_the_known_slug(tmp_path: Path) -> None:
    record = Record(
        id="r1",
        kind="event",
        title="T",
        sources=("https://example.org",),
        topics=("digtal-economy",),
        partners=("us",),
        origin="data/records/x.yaml",
    )
    with pytest.raises(DataError) as caught:
        validate_references(
            Dataset(records=(record,)),
            topics={"digital-economy", "trade"},
            countries=set(),
            partners={"US"},
        )

    assert str(caught.value).splitlines() == [
        'data/records/x.yaml: record "r1", field "topics": '
        "unknown topic 'digtal-economy' (did you mean 'digital-economy'?)",
        'data/records/x.yaml: record "r1", field "partners": '
        "unknown partner 'us' (did you mean 'US'?)",
    ]


def test_fingerprint_is_stable_and_follows_content(dataset_dir: Path, tmp_path: Path) -> None:
    first = dataset_fingerprint(dataset_dir)
    assert first == dataset_fingerprint(dataset_dir)
    assert len(first) == 64
    # The same content elsewhere gives the same value; other files do not count.
    copy = tmp_path / "elsewhere" / "copy"
    shutil.copytree(dataset_dir, copy)
    (copy / "README.md").write_text("not data", encoding="utf-8")
    assert dataset_fingerprint(copy) == first

    records = copy / "records" / "a.yaml"
    records.write_bytes(records.read_bytes().replace(b"4th RCEP", b"5th RCEP"))
    changed = dataset_fingerprint(copy)
    assert changed != first

    (copy / "records" / "a.yaml").rename(copy / "records" / "a2.yaml")
    assert dataset_fingerprint(copy) not in (first, changed)


SEED_RECORD_YAML = """\
records:
- id: 1st-adgmin-virtual-2021
  kind: event
  title: 1st ASEAN Digital Ministers' Meeting (ADGMIN1)
  date: '2021-01-21'
  end_date: '2021-01-22'
  location: virtual
  countries:
  - MY
  - ASEAN
  partners:
  - US
  - ITU
  topics:
  - digital-economy
  - data-governance
  summary: 'Malaysia hosted the inaugural ASEAN Digital Ministers'' Meeting, held online because of
    COVID-19 and themed ''ASEAN: A Digitally Connected Community''.'
  key_focus: Digital transformation as a pillar of post-COVID recovery
  outcome: Adopted the ASEAN Digital Masterplan 2025 and the Putrajaya Declaration
  people:
  - Saifuddin Abdullah, Malaysian Communications and Multimedia Minister (chair)
  sources:
  - https://en.vietnamplus.vn/asean-digital-ministers-convene-first-meeting/195088.vnp
  - http://namnewsnetwork.org/?p=110347
"""


def test_record_to_mapping_round_trips_a_seed_record(tmp_path: Path) -> None:
    path = tmp_path / "seed.yaml"
    path.write_text(SEED_RECORD_YAML, encoding="utf-8")
    raw = yaml.safe_load(SEED_RECORD_YAML)["records"][0]

    mapping = record_to_mapping(read_dataset(path).records[0])

    assert mapping == raw
    assert list(mapping) == list(RECORD_FIELDS)  # every field set, in the file's order
    # Writing the mapping back and reading it again gives the same record.
    again = tmp_path / "again.yaml"
    again.write_text(yaml.safe_dump({"records": [mapping]}, sort_keys=False), encoding="utf-8")
    assert read_dataset(again).records == read_dataset(path).records


def test_record_to_mapping_leaves_out_empty_fields() -> None:
    record = Record(
        id="r1",
        kind="initiative",
        title="T",
        sources=("https://example.org",),
        topics=("trade",),
        date=date(2024, 2, 2),
    )

    assert record_to_mapping(record) == {
        "id": "r1",
        "kind": "initiative",
        "title": "T",
        "date": "2024-02-02",
        "topics": ["trade"],
        "sources": ["https://example.org"],
    }


def _real_data_is_complete() -> bool:
    needed = ("topics.yaml", "countries.yaml", "partners.yaml")
    return all((REAL_DATA / name).is_file() for name in needed) and any(
        (REAL_DATA / "records").glob("*.yaml")
    )


@pytest.mark.skipif(not _real_data_is_complete(), reason="data/ is not complete yet")
def test_the_real_data_folder_reads_and_its_references_resolve() -> None:
    dataset = read_dataset(REAL_DATA)

    validate_references(
        dataset,
        topics={topic.slug for topic in dataset.topics},
        countries={country.code for country in dataset.countries},
        partners={partner.code for partner in dataset.partners},
    )
    assert len(dataset.topics) == 10
    assert "ASEAN" in {country.code for country in dataset.countries}
    assert len(dataset.records) >= 44
    # What the loader kept is what the files say.
    for path in sorted((REAL_DATA / "records").glob("*.yaml")):
        raw_records = yaml.safe_load(path.read_text(encoding="utf-8"))["records"]
        loaded = {record.id: record for record in dataset.records}
        for raw in raw_records:
            assert record_to_mapping(loaded[raw["id"]]) == raw
