"""feeds.yaml: the shipped list is valid, and every mistake is reported with its place."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from aseanbot.feeds.config import FeedConfigError, FeedProblem, FeedSource, load_feeds
from aseanbot.loader import DataError, read_dataset

DATA = Path(__file__).parents[1] / "data"
SHIPPED = DATA / "feeds.yaml"
TOPICS = {"digital-economy", "trade", "cybersecurity"}
COUNTRIES = {"ASEAN", "SG", "TH"}

GOOD_ENTRY = """\
  - name: asean-news
    url: https://example.org/feed.xml
    enabled: true
    topics: [digital-economy]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(path: Path) -> tuple[FeedSource, ...]:
    return load_feeds(path, topics=TOPICS, countries=COUNTRIES)


def problems_of(path: Path) -> list[FeedProblem]:
    with pytest.raises(FeedConfigError) as raised:
        load(path)
    problems = [problem for problem in raised.value.problems if isinstance(problem, FeedProblem)]
    assert len(problems) == len(raised.value.problems)
    return problems


def test_the_shipped_feeds_file_is_valid_and_every_unchecked_source_is_disabled() -> None:
    dataset = read_dataset(DATA)
    topics = {topic.slug for topic in dataset.topics}
    countries = {country.code for country in dataset.countries}
    sources = load_feeds(SHIPPED, topics=topics, countries=countries)
    assert len(sources) >= 10
    assert "asean-secretariat" in {source.name for source in sources}
    # No URL in the shipped file could be checked (data/feeds.yaml explains why).
    assert [source.name for source in sources if source.enabled] == []
    assert all(source.url.startswith("https://") for source in sources)


def test_a_full_entry_is_read_with_its_values(tmp_path: Path) -> None:
    text = """\
    feeds:
      - name: sg-news
        url: https://example.org/sg.xml
        enabled: false
        topics: [cybersecurity, trade]
        countries: [SG, ASEAN]
        interval_minutes: 1440
    """
    assert load(write(tmp_path, text)) == (
        FeedSource(
            name="sg-news",
            url="https://example.org/sg.xml",
            enabled=False,
            topics=("cybersecurity", "trade"),
            countries=("SG", "ASEAN"),
            interval_minutes=1440,
        ),
    )


def test_defaults_are_no_countries_and_thirty_minutes(tmp_path: Path) -> None:
    (source,) = load(write(tmp_path, "feeds:\n" + GOOD_ENTRY))
    assert source == FeedSource(
        "asean-news", "https://example.org/feed.xml", True, ("digital-economy",)
    )
    assert (source.countries, source.interval_minutes) == ((), 30)


def test_sources_keep_file_order(tmp_path: Path) -> None:
    text = "feeds:\n" + "".join(
        GOOD_ENTRY.replace("asean-news", name).replace("feed.xml", f"{name}.xml")
        for name in ("zeta", "alpha", "mid")
    )
    assert [source.name for source in load(write(tmp_path, text))] == ["zeta", "alpha", "mid"]


@pytest.mark.parametrize(
    "text",
    ["", "# only a comment\n", "records: []\n", "feeds:\n", "feeds: []\n"],
    ids=["empty", "comment", "other-keys", "null-feeds", "empty-list"],
)
def test_a_file_without_feeds_means_no_sources(tmp_path: Path, text: str) -> None:
    assert load(write(tmp_path, text)) == ()


def test_a_missing_file_means_no_sources(tmp_path: Path) -> None:
    assert load(tmp_path / "nowhere.yaml") == ()


# (what is wrong, the entry's lines, field named, words the message must contain)
BAD_ENTRIES = [
    (
        "missing url",
        "- name: a\n  enabled: true\n  topics: [trade]\n",
        "url",
        "missing required field",
    ),
    (
        "ftp url",
        "- name: a\n  url: ftp://example.org/feed\n  enabled: true\n  topics: [trade]\n",
        "url",
        "not an http(s) URL",
    ),
    (
        "url without host",
        "- name: a\n  url: https:///feed\n  enabled: true\n  topics: [trade]\n",
        "url",
        "not an http(s) URL",
    ),
    (
        "url with a space",
        "- name: a\n  url: https://example.org/a feed\n  enabled: true\n  topics: [trade]\n",
        "url",
        "not an http(s) URL",
    ),
    (
        "url not text",
        "- name: a\n  url: [https://example.org]\n  enabled: true\n  topics: [trade]\n",
        "url",
        "expected text, got a list",
    ),
    (
        "unknown topic",
        "- name: a\n  url: https://example.org/f\n  enabled: true\n  topics: [trad]\n",
        "topics",
        "unknown topic 'trad' (did you mean 'trade'?)",
    ),
    (
        "no topics",
        "- name: a\n  url: https://example.org/f\n  enabled: true\n  topics: []\n",
        "topics",
        "at least one topic",
    ),
    (
        "missing topics",
        "- name: a\n  url: https://example.org/f\n  enabled: true\n",
        "topics",
        "missing required field",
    ),
    (
        "topic listed twice",
        "- name: a\n  url: https://example.org/f\n  enabled: true\n  topics: [trade, trade]\n",
        "topics",
        "listed twice",
    ),
    (
        "unknown country",
        "- name: a\n  url: https://example.org/f\n  enabled: true\n  topics: [trade]\n"
        "  countries: [XX]\n",
        "countries",
        "unknown country 'XX'",
    ),
    (
        "interval too short",
        "- name: a\n  url: https://example.org/f\n  enabled: true\n  topics: [trade]\n"
        "  interval_minutes: 4\n",
        "interval_minutes",
        "between 5 and 1440 minutes, got 4",
    ),
    (
        "interval too long",
        "- name: a\n  url: https://example.org/f\n  enabled: true\n  topics: [trade]\n"
        "  interval_minutes: 1441\n",
        "interval_minutes",
        "between 5 and 1440 minutes, got 1441",
    ),
    (
        "interval not whole",
        "- name: a\n  url: https://example.org/f\n  enabled: true\n  topics: [trade]\n"
        "  interval_minutes: 7.5\n",
        "interval_minutes",
        "whole number of minutes",
    ),
    (
        "interval true",
        "- name: a\n  url: https://example.org/f\n  enabled: true\n  topics: [trade]\n"
        "  interval_minutes: true\n",
        "interval_minutes",
        "whole number of minutes",
    ),
    (
        "enabled as text",
        "- name: a\n  url: https://example.org/f\n  enabled: 'on'\n  topics: [trade]\n",
        "enabled",
        "expected true or false, got text",
    ),
    (
        "missing enabled",
        "- name: a\n  url: https://example.org/f\n  topics: [trade]\n",
        "enabled",
        "missing required field",
    ),
    (
        "bad name",
        "- name: Asean News\n  url: https://example.org/f\n  enabled: true\n  topics: [trade]\n",
        "name",
        "not a valid name",
    ),
    (
        "name too long",
        f"- name: {'a' * 41}\n  url: https://example.org/f\n  enabled: true\n  topics: [trade]\n",
        "name",
        "not a valid name",
    ),
    (
        "name starting with a dash",
        "- name: -x\n  url: https://example.org/f\n  enabled: true\n  topics: [trade]\n",
        "name",
        "not a valid name",
    ),
    (
        "unknown field",
        "- name: a\n  url: https://example.org/f\n  enabled: true\n  topics: [trade]\n"
        "  interval: 10\n",
        "interval",
        "unknown field (did you mean 'interval_minutes'?)",
    ),
]


@pytest.mark.parametrize(
    ("entry", "field", "message"),
    [pytest.param(entry, field, message, id=what) for what, entry, field, message in BAD_ENTRIES],
)
def test_a_bad_entry_is_reported_with_file_position_and_field(
    tmp_path: Path, entry: str, field: str, message: str
) -> None:
    path = write(tmp_path, "feeds:\n" + GOOD_ENTRY + textwrap.indent(entry, "  "))
    (problem,) = problems_of(path)
    assert (problem.file, problem.position, problem.field) == (path.as_posix(), 1, field)
    assert message in problem.message
    assert str(problem).startswith(f"{path.as_posix()}: feeds[1] ")
    assert f'field "{field}": ' in str(problem)


def test_the_message_names_the_feed_when_it_has_a_name(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "feeds:\n- name: th-news\n  url: gopher://x\n  enabled: true\n  topics: [trade]\n",
    )
    with pytest.raises(FeedConfigError) as raised:
        load(path)
    assert str(raised.value) == (
        f'{path.as_posix()}: feeds[0] "th-news", field "url": not an http(s) URL: \'gopher://x\''
    )


@pytest.mark.parametrize(
    ("second", "field"),
    [
        (GOOD_ENTRY.replace("feed.xml", "other.xml"), "name"),
        (GOOD_ENTRY.replace("asean-news", "other"), "url"),
        (
            GOOD_ENTRY.replace("asean-news", "other").replace(
                "https://example.org", "HTTPS://Example.ORG"
            ),
            "url",
        ),
    ],
    ids=["name", "url", "url-in-other-case"],
)
def test_duplicate_names_and_urls_are_errors(tmp_path: Path, second: str, field: str) -> None:
    path = write(tmp_path, "feeds:\n" + GOOD_ENTRY + second)
    (problem,) = problems_of(path)
    assert (problem.position, problem.field) == (1, field)
    assert problem.message == f"duplicate {field}: already used by feeds[0]"


def test_a_duplicate_is_found_even_beside_other_problems(tmp_path: Path) -> None:
    second = GOOD_ENTRY.replace("feed.xml", "other.xml").replace("enabled: true", "enabled: 1")
    problems = problems_of(write(tmp_path, "feeds:\n" + GOOD_ENTRY + second))
    assert sorted((p.position, p.field) for p in problems) == [(1, "enabled"), (1, "name")]


def test_every_problem_of_every_entry_is_reported_at_once(tmp_path: Path) -> None:
    text = """\
    feeds:
      - name: one
        url: nope
        enabled: yes-please
        topics: [nothing]
      - just text
      - url: https://example.org/two
        enabled: true
        topics: [trade]
        interval_minutes: 2
    """
    problems = problems_of(write(tmp_path, text))
    assert [(p.position, p.feed, p.field) for p in problems] == [
        (0, "one", "url"),
        (0, "one", "enabled"),
        (0, "one", "topics"),
        (1, None, None),
        (2, None, "name"),
        (2, None, "interval_minutes"),
    ]
    assert problems[3].message == "expected a mapping, got text"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("feeds: {name: x}\n", "expected a list, got a mapping"),
        ("- name: x\n", "expected a mapping with a feeds key, got a list"),
        ("feeds:\n  - name: a\n    name: b\n", "invalid YAML at line 3"),
        ("feeds: [\n", "invalid YAML"),
    ],
    ids=["feeds-not-a-list", "not-a-mapping", "duplicate-key", "broken-yaml"],
)
def test_a_file_of_the_wrong_shape_is_one_problem(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(FeedConfigError) as raised:
        load(path)
    (problem,) = raised.value.problems
    assert problem.file == path.as_posix()
    assert message in problem.message


def test_a_file_that_is_not_utf8_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_bytes(b"feeds:\n  - name: caf\xe9\n")
    with pytest.raises(FeedConfigError, match="not UTF-8"):
        load(path)


def test_the_error_is_a_data_error_and_a_value_error(tmp_path: Path) -> None:
    """The CLI reports a DataError like the data loader's; callers may catch ValueError."""
    path = write(tmp_path, "feeds:\n- name: a\n")
    with pytest.raises(DataError):
        load(path)
    with pytest.raises(ValueError, match=r"feeds\[0\] \"a\", field \"url\": missing"):
        load(path)


def test_the_data_loader_still_skips_the_feeds_file() -> None:
    """feeds.yaml sits in data/, which the data loader reads whole; its key is skipped there."""
    dataset = read_dataset(DATA)
    assert len(dataset.records) == 49
