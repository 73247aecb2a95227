"""A record's content hash: what an import compares to tell changed records from unchanged."""

from __future__ import annotations

import hashlib
import json

from aseanbot.loader import record_to_mapping
from aseanbot.models import Item, Record


def content_hash(record: Record | Item) -> str:
    """Return the sha256 hex digest of the record's canonical JSON."""
    canonical = json.dumps(
        record_to_mapping(record), ensure_ascii=False, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
