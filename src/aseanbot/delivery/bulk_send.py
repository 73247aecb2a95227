"""Send one bulk message (a digest part, a broadcast) and drop Telegram's answer unread.

`bot.send_message` parses every answer into a `Message`; for a bulk send that nobody reads,
that parse costs about as much CPU as the rest of the send (docs/PERFORMANCE.md). The same
request through `do_api_request` returns the answer as JSON instead, and fails with the same
`telegram.error` exceptions, so callers handle errors exactly as before. It also skips the
bot's `Defaults`, so the options digests and broadcasts rely on are given here.
"""

from __future__ import annotations

import warnings
from typing import Any

from telegram.constants import ParseMode
from telegram.ext import ExtBot
from telegram.warnings import PTBUserWarning

# PTB warns when do_api_request is used for a method it wraps; here that is the point.
warnings.filterwarnings(
    "ignore",
    message=r"Please use 'Bot\.send_message' instead",
    category=PTBUserWarning,
)

# Every bulk text is rendered as Telegram HTML, and carries links that must not unfurl into
# previews (the bot's Defaults say the same for replies).
_OPTIONS = {"parse_mode": ParseMode.HTML.value, "link_preview_options": {"is_disabled": True}}
_BULK = {"bulk": True}


async def send_bulk(
    bot: ExtBot[Any],
    chat_id: int,
    text: str,
    *,
    thread_id: int | None = None,
    keyboard: dict[str, Any] | None = None,
) -> None:
    """Send `text` to a chat (and forum topic) as a bulk request: after command replies.

    `keyboard` is an inline keyboard as the Bot API takes it (`InlineKeyboardMarkup.to_dict()`).
    Raises what `bot.send_message` raises.
    """
    fields: dict[str, Any] = {"chat_id": chat_id, "text": text, **_OPTIONS}
    if thread_id is not None:
        fields["message_thread_id"] = thread_id
    if keyboard is not None:
        fields["reply_markup"] = keyboard
    # A bot without a limiter (the console) must not be given rate_limit_args at all.
    await bot.do_api_request(
        "send_message",
        api_kwargs=fields,
        rate_limit_args=_BULK if bot.rate_limiter is not None else None,
    )
