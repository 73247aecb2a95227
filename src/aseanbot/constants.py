"""Fixed limits and names: things that are not settings an operator changes."""

from __future__ import annotations

# Telegram's limits (Bot API): message text, callback data, inline results per answer.
MESSAGE_LIMIT = 4096
CALLBACK_DATA_LIMIT = 64
INLINE_RESULTS_LIMIT = 50
START_PAYLOAD_LIMIT = 64

LATEST_DEFAULT = 5
LATEST_MAX = 20
PAGE_SIZE = 5
SEARCH_PAGE_SIZE = 5
INLINE_PAGE_SIZE = 10
RELATED_LIMIT = 3
# How much of a user's search text is looked at; the rest is ignored, not an error.
SEARCH_TEXT_LIMIT = 4096

# Deep-link payload prefix: t.me/<bot>?start=event_<id> opens that item.
START_ITEM_PREFIX = "event_"
