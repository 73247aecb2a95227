"""Export every stored item as records, in the format `bot.py import` reads.

The output is a mapping with one key, `records:`, listing each item's fields in the data
files' order (loader.record_to_mapping), sorted by id so that two exports of the same items
are byte for byte the same: export, import into a fresh database, export again — same text.
Feed items (kind "update") are exported too; where an item came from is not a record field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

import yaml

from aseanbot.loader import record_to_mapping
from aseanbot.models import Item, ItemQuery, Record
from aseanbot.store import Store

EXPORT_FORMATS = ("yaml", "json")
# query_items pages; an export wants them all at once.
_EVERY_ITEM = 2**62
# Import reads JSON with its YAML parser, which refuses some characters written raw (controls
# such as DEL, U+FFFE) and reads NEL (U+0085) as a line break; JSON may escape any character.
_RAW_IN_JSON_NOT_YAML = re.compile(
    "[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)


class _ExportDumper(yaml.SafeDumper):
    """PyYAML's safe dumper, but text holding NEL, U+2028 or U+2029 is double-quoted.

    Plain or single-quoted, PyYAML writes those line breaks raw and its reader folds them;
    double-quoted, it writes them as escapes.
    """


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = '"' if any(char in text for char in "\x85\u2028\u2029") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_ExportDumper.add_representer(str, _represent_text)


async def export_items(store: Store) -> tuple[Item, ...]:
    """Every stored item, sorted by id."""
    page = await store.query_items(ItemQuery(), offset=0, limit=_EVERY_ITEM)
    return tuple(sorted(page.items, key=lambda item: item.id))


def dump_records(records: Iterable[Item | Record], export_format: str) -> str:
    """Items or records as a `records:` document in `export_format` ("yaml" or "json")."""
    document = {"records": [record_to_mapping(record) for record in records]}
    if export_format == "yaml":
        return yaml.dump(document, Dumper=_ExportDumper, sort_keys=False, allow_unicode=True)
    if export_format == "json":
        text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
        return _RAW_IN_JSON_NOT_YAML.sub(lambda match: f"\\u{ord(match[0]):04x}", text)
    raise ValueError(f"export format must be one of {', '.join(EXPORT_FORMATS)}")


def format_for_path(path: str) -> str:
    """The format a file name asks for: json for '.json', else yaml."""
    return "json" if path.lower().endswith(".json") else "yaml"
