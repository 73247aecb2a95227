"""Read aseanbot's YAML data files into a Dataset, reporting every problem at once.

The format is described in the data-format brief: files whose top-level keys are `topics`,
`countries`, `partners`, `records` (and `feeds`, which belongs to a later feature and is
skipped). `read_dataset` checks shapes only; `validate_references` checks that records name
known topics, countries and partners, which needs what the store already holds.
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import re
from collections.abc import Callable, Collection, Hashable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

try:  # libyaml's parser, several times faster, when PyYAML was built with it
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

from aseanbot.models import (
    ITEM_KINDS,
    RECORD_FIELDS,
    Country,
    Dataset,
    Item,
    Partner,
    Record,
    Topic,
)

logger = logging.getLogger(__name__)

TOP_LEVEL_KEYS = ("topics", "countries", "partners", "records", "feeds")
# Keys that are valid but read by another part of the bot.
_SKIPPED_KEYS = frozenset({"feeds"})
DATA_SUFFIXES = (".yaml", ".yml")

# The id travels in a /start payload (at most 64 characters), hence the length limit.
RECORD_ID_PATTERN = re.compile(r"[a-z0-9][a-z0-9-]{0,57}")
TOPIC_SLUG_PATTERN = re.compile(r"[a-z0-9-]+")
# ISO 3166 alpha-2 codes, ASEAN, and partner codes such as ITU or GCC.
CODE_PATTERN = re.compile(r"[A-Z][A-Z0-9]{1,15}")
_DATE_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}")

# How many problems DataError spells out before summarising the rest.
MAX_LISTED_PROBLEMS = 20

_REQUIRED_RECORD_FIELDS = ("id", "kind", "title", "topics", "sources")


@dataclass(frozen=True, slots=True)
class DataProblem:
    """One thing wrong in a data file, located as precisely as the file allows."""

    file: str
    record_id: str | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = []
        if self.record_id is not None:
            where.append(f'record "{self.record_id}"')
        if self.field is not None:
            where.append(f'field "{self.field}"')
        location = f"{self.file}: {', '.join(where)}" if where else self.file
        return f"{location}: {self.message}"


class DataError(Exception):
    """The data cannot be used; `problems` lists everything that was found wrong."""

    def __init__(self, problems: Iterable[DataProblem]) -> None:
        self.problems: tuple[DataProblem, ...] = tuple(problems)
        super().__init__(self.problems)

    def __str__(self) -> str:
        lines = [str(problem) for problem in self.problems[:MAX_LISTED_PROBLEMS]]
        hidden = len(self.problems) - MAX_LISTED_PROBLEMS
        if hidden > 0:
            lines.append(f"… and {hidden} more")
        return "\n".join(lines)


class _DataLoader(_SafeLoader):
    """A SafeLoader that keeps dates as text and refuses duplicate keys.

    Dates stay text so that an impossible date such as 2025-13-01 becomes a problem report
    instead of an exception from deep inside PyYAML; duplicate keys are refused because YAML
    would otherwise keep the last one silently.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        self.flatten_mapping(node)
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable):
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        "while reading a mapping",
                        node.start_mark,
                        f"found the key {key!r} twice",
                        key_node.start_mark,
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


_DataLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _SafeLoader.yaml_implicit_resolvers.items()
}


class _Invalid(Exception):
    """A field value that cannot be used; the message says why."""


@dataclass(frozen=True, slots=True)
class _DataFile:
    path: Path
    relative: str  # path inside the data folder, for the fingerprint
    display: str  # how problems name the file


def _data_files(path: Path) -> list[_DataFile]:
    """Return the data files at `path` (one file, or a folder read recursively), sorted."""
    if not path.is_dir():
        return [_DataFile(path, path.name, path.as_posix())]
    found = []
    for candidate in path.rglob("*"):
        relative = candidate.relative_to(path)
        if any(part.startswith(".") for part in relative.parts):
            continue  # editor backups and version-control folders
        if candidate.suffix in DATA_SUFFIXES and candidate.is_file():
            found.append(
                _DataFile(candidate, relative.as_posix(), (Path(path.name) / relative).as_posix())
            )
    return sorted(found, key=lambda data_file: data_file.relative)


def _describe_type(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _did_you_mean(value: str, choices: Collection[str]) -> str:
    """Return ' (did you mean 'x'?)' for the closest choice, or '' when none is close."""
    for choice in sorted(choices):
        if choice.casefold() == value.casefold():
            return f" (did you mean {choice!r}?)"
    close = difflib.get_close_matches(value, sorted(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _optional_text(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Invalid(f"expected text, got {_describe_type(value)}")
    return value.strip() or None


def _required_text(value: object) -> str:
    text = _optional_text(value)
    if text is None:
        raise _Invalid("must not be empty")
    return text


def _text_list(value: object, *, unique: bool = False) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _Invalid(f"expected a list, got {_describe_type(value)}")
    texts: list[str] = []
    for position, element in enumerate(value, start=1):
        if not isinstance(element, str) or not element.strip():
            raise _Invalid(f"entry {position} is not text: {element!r}")
        text = element.strip()
        if unique and text in texts:
            raise _Invalid(f"{text!r} is listed twice")
        texts.append(text)
    return tuple(texts)


def _required_list(value: object, *, unique: bool = False) -> tuple[str, ...]:
    texts = _text_list(value, unique=unique)
    if not texts:
        raise _Invalid("must list at least one entry")
    return texts


def _date(value: object) -> date | None:
    if value is None:
        return None
    # A datetime is a date too, but a time of day has no place here.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE_PATTERN.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _Invalid(f"not a date (YYYY-MM-DD): {value}")


def _source_urls(value: object) -> tuple[str, ...]:
    urls = _required_list(value)
    for url in urls:
        try:
            parts = urlsplit(url)
        except ValueError:
            raise _Invalid(f"not an http(s) URL: {url}") from None
        if (
            parts.scheme not in ("http", "https")
            or not parts.netloc
            or any(c.isspace() for c in url)
        ):
            raise _Invalid(f"not an http(s) URL: {url}")
    return urls


def _matching(pattern: re.Pattern[str], what: str) -> Callable[[object], str]:
    def parse(value: object) -> str:
        text = _required_text(value)
        if not pattern.fullmatch(text):
            raise _Invalid(f"not a valid {what}: {text!r}")
        return text

    return parse


_parse_record_id = _matching(
    RECORD_ID_PATTERN,
    "id (lower-case letters, digits and '-', starting with a letter or digit, at most 58 long)",
)
_parse_slug = _matching(TOPIC_SLUG_PATTERN, "slug (lower-case letters, digits and '-')")
_parse_code = _matching(CODE_PATTERN, "code (capital letters and digits, such as TH or ITU)")


def _parse_kind(value: object) -> str:
    kind = _required_text(value)
    if kind not in ITEM_KINDS:
        raise _Invalid(f"must be one of {', '.join(ITEM_KINDS)}, got {kind!r}")
    return kind


class _FileReader:
    """Reads the entries of one data file, collecting problems instead of stopping."""

    def __init__(self, display: str, problems: list[DataProblem]) -> None:
        self.display = display
        self.problems = problems

    def problem(self, record_id: str | None, field: str | None, message: str) -> None:
        self.problems.append(DataProblem(self.display, record_id, field, message))

    def field(
        self,
        entry: dict[Any, Any],
        name: str,
        parse: Callable[[object], Any],
        *,
        record_id: str | None,
        label: str,
        required: bool,
    ) -> tuple[bool, Any]:
        """Parse entry[name]; return (ok, value), reporting a problem when not ok."""
        if required and name not in entry:
            self.problem(record_id, label, "missing required field")
            return False, None
        try:
            return True, parse(entry.get(name))
        except _Invalid as invalid:
            self.problem(record_id, label, str(invalid))
            return False, None

    def unknown_keys(
        self, entry: dict[Any, Any], allowed: Collection[str], record_id: str | None, prefix: str
    ) -> bool:
        clean = True
        for key in entry:
            if key not in allowed:
                clean = False
                hint = _did_you_mean(str(key), allowed)
                self.problem(record_id, f"{prefix}{key}", f"unknown field{hint}")
        return clean

    def record(self, entry: object, index: int) -> Record | None:
        if not isinstance(entry, dict):
            self.problem(
                None, f"records[{index}]", f"expected a mapping, got {_describe_type(entry)}"
            )
            return None
        raw_id = entry.get("id")
        record_id = raw_id.strip() if isinstance(raw_id, str) and raw_id.strip() else None
        # Without an id the problem can only be placed by the record's position in the file.
        prefix = "" if record_id is not None else f"records[{index}]."

        def read(name: str, parse: Callable[[object], Any]) -> tuple[bool, Any]:
            return self.field(
                entry,
                name,
                parse,
                record_id=record_id,
                label=prefix + name,
                required=name in _REQUIRED_RECORD_FIELDS,
            )

        results = {
            "id": read("id", _parse_record_id),
            "kind": read("kind", _parse_kind),
            "title": read("title", _required_text),
            "date": read("date", _date),
            "end_date": read("end_date", _date),
            "location": read("location", _optional_text),
            "countries": read("countries", lambda value: _text_list(value, unique=True)),
            "partners": read("partners", lambda value: _text_list(value, unique=True)),
            "topics": read("topics", lambda value: _required_list(value, unique=True)),
            "summary": read("summary", _optional_text),
            "key_focus": read("key_focus", _optional_text),
            "outcome": read("outcome", _optional_text),
            "people": read("people", _text_list),
            "sources": read("sources", _source_urls),
        }
        clean = self.unknown_keys(entry, RECORD_FIELDS, record_id, prefix)
        values = {name: value for name, (_, value) in results.items()}
        start, end = values["date"], values["end_date"]
        if end is not None and results["date"][0]:
            if start is None:
                self.problem(record_id, prefix + "end_date", "end_date needs a date")
                clean = False
            elif end < start:
                self.problem(
                    record_id, prefix + "end_date", f"end_date {end} is before date {start}"
                )
                clean = False
        if not clean or not all(ok for ok, _ in results.values()):
            return None
        return Record(**values, origin=self.display)

    def named_entry(self, entry: object, section: str, index: int) -> dict[str, Any] | None:
        """Check a topic, country or partner entry; return its parsed fields, or None."""
        place = f"{section}[{index}]"
        if not isinstance(entry, dict):
            self.problem(None, place, f"expected a mapping, got {_describe_type(entry)}")
            return None
        fields = _NAMED_ENTRY_FIELDS[section]
        clean = self.unknown_keys(entry, fields, None, f"{place}.")
        parsed: dict[str, Any] = {}
        for name, (parse, required) in fields.items():
            ok, value = self.field(
                entry, name, parse, record_id=None, label=f"{place}.{name}", required=required
            )
            clean = clean and ok
            parsed[name] = value
        return parsed if clean else None


# For each reference section: field name → (parser, required). The first field is the key.
_NAMED_ENTRY_FIELDS: dict[str, dict[str, tuple[Callable[[object], Any], bool]]] = {
    "topics": {
        "slug": (_parse_slug, True),
        "name": (_required_text, True),
        "description": (lambda value: _optional_text(value) or "", False),
        "keywords": (_text_list, False),
    },
    "countries": {
        "code": (_parse_code, True),
        "name": (_required_text, True),
        "aliases": (_text_list, False),
    },
    "partners": {
        "code": (_parse_code, True),
        "name": (_required_text, True),
        "aliases": (_text_list, False),
    },
}


def _load_yaml(data_file: _DataFile, problems: list[DataProblem]) -> tuple[bool, object]:
    """Return (True, document), or (False, None) after recording why it could not be read."""
    try:
        text = data_file.path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        problems.append(
            DataProblem(data_file.display, None, None, f"not UTF-8 text (byte {error.start})")
        )
        return False, None
    except OSError as error:
        problems.append(DataProblem(data_file.display, None, None, f"cannot read: {error}"))
        return False, None
    try:
        return True, yaml.load(text, Loader=_DataLoader)  # _DataLoader is a SafeLoader
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        context = f" ({error.context})" if error.context else ""
        message = f"invalid YAML{where}: {error.problem}{context}"
        problems.append(DataProblem(data_file.display, None, None, message))
    except (yaml.YAMLError, ValueError) as error:
        problems.append(DataProblem(data_file.display, None, None, f"invalid YAML: {error}"))
    return False, None


def read_dataset(path: Path) -> Dataset:
    """Read a data file or folder (recursively, sorted) into a Dataset; raise DataError.

    Every problem in every file is collected before raising, so one run shows them all.
    """
    if not path.exists():
        raise DataError([DataProblem(path.as_posix(), None, None, "no such file or folder")])
    data_files = _data_files(path)
    if not data_files:
        raise DataError([DataProblem(path.as_posix(), None, None, "no *.yaml or *.yml files")])

    problems: list[DataProblem] = []
    topics: list[Topic] = []
    countries: list[Country] = []
    partners: list[Partner] = []
    records: list[Record] = []
    # First file that defined each key, to name both files on a duplicate.
    first_seen: dict[str, dict[str, str]] = {
        "topics": {},
        "countries": {},
        "partners": {},
        "records": {},
    }

    def claim(
        section: str, key: str, reader: _FileReader, record_id: str | None, label: str
    ) -> bool:
        owners = first_seen[section]
        if key in owners:
            what = {"topics": "slug", "records": "id"}.get(section, "code")
            reader.problem(
                record_id, label, f"duplicate {what} {key!r}: already used in {owners[key]}"
            )
            return False
        owners[key] = reader.display
        return True

    for data_file in data_files:
        readable, document = _load_yaml(data_file, problems)
        if not readable:
            continue
        reader = _FileReader(data_file.display, problems)
        if not isinstance(document, dict):
            reader.problem(
                None,
                None,
                f"expected a mapping with the keys {', '.join(TOP_LEVEL_KEYS)}, "
                f"got {_describe_type(document)}",
            )
            continue
        for key, entries in document.items():
            if key in _SKIPPED_KEYS:
                continue
            if key not in TOP_LEVEL_KEYS:
                hint = _did_you_mean(str(key), TOP_LEVEL_KEYS)
                reader.problem(None, str(key), f"unknown top-level key{hint}")
                continue
            if not isinstance(entries, list):
                reader.problem(None, key, f"expected a list, got {_describe_type(entries)}")
                continue
            for index, entry in enumerate(entries):
                if key == "records":
                    record = reader.record(entry, index)
                    raw_id = entry.get("id") if isinstance(entry, dict) else None
                    if isinstance(raw_id, str) and raw_id.strip():
                        unique = claim("records", raw_id.strip(), reader, raw_id.strip(), "id")
                        if record is not None and unique:
                            records.append(record)
                    continue
                key_field = "slug" if key == "topics" else "code"
                parsed = reader.named_entry(entry, key, index)
                if parsed is None:
                    continue
                code = parsed[key_field]
                if not claim(key, code, reader, None, f"{key}[{index}].{key_field}"):
                    continue
                if key == "topics":
                    topics.append(
                        Topic(code, parsed["name"], parsed["description"], parsed["keywords"])
                    )
                elif key == "countries":
                    countries.append(Country(code, parsed["name"], parsed["aliases"]))
                else:
                    partners.append(Partner(code, parsed["name"], parsed["aliases"]))

    if problems:
        raise DataError(problems)
    logger.debug("read %d records from %d data files", len(records), len(data_files))
    return Dataset(tuple(topics), tuple(countries), tuple(partners), tuple(records))


def validate_references(
    dataset: Dataset, *, topics: set[str], countries: set[str], partners: set[str]
) -> None:
    """Raise DataError if a record names a topic, country or partner not in the given sets."""
    problems = []
    for record in dataset.records:
        checks = (
            ("topics", "topic", record.topics, topics),
            ("countries", "country", record.countries, countries),
            ("partners", "partner", record.partners, partners),
        )
        for field, what, codes, known in checks:
            for code in codes:
                if code not in known:
                    message = f"unknown {what} {code!r}{_did_you_mean(code, known)}"
                    problems.append(
                        DataProblem(record.origin or "dataset", record.id, field, message)
                    )
    if problems:
        raise DataError(problems)


def dataset_fingerprint(path: Path) -> str:
    """Return a sha256 hex digest of every data file's relative path and bytes.

    The same content in the same layout gives the same value wherever the folder lives.
    """
    digest = hashlib.sha256()
    for data_file in _data_files(path):
        name = data_file.relative.encode("utf-8")
        content = data_file.path.read_bytes()
        # Length prefixes keep ("ab", "c") and ("a", "bc") apart.
        digest.update(len(name).to_bytes(8, "big") + name)
        digest.update(len(content).to_bytes(8, "big") + content)
    return digest.hexdigest()


def record_to_mapping(record: Record | Item) -> dict[str, object]:
    """Return the record's fields in RECORD_FIELDS order, leaving out empty ones.

    Dates become 'YYYY-MM-DD' strings and tuples become lists, ready for YAML or JSON.
    """
    mapping: dict[str, object] = {}
    for name in RECORD_FIELDS:
        value = getattr(record, name)
        if value is None or value == "" or value == ():
            continue
        if isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        mapping[name] = value
    return mapping
