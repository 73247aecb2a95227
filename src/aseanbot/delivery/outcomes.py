"""What a failed send to a subscriber means, the same for digests and broadcasts.

Telegram answers a send that cannot go through with an error whose class and text say what to
do next: follow a group that became a supergroup, drop a forum topic that is gone, stop
sending to a chat that blocked or removed the bot, give up on a message Telegram refuses, or
try again later. `classify_send_error` turns the error into that decision; the callers act on it.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError

from aseanbot.delivery.limiter import retry_after_seconds

# Telegram's texts for chats that can no longer receive anything from the bot.
GONE_CHAT_TEXTS = (
    "chat not found",
    "bot was kicked",
    "not enough rights",
    "have no rights",
    "need administrator rights",
    "chat_write_forbidden",
    "peer_id_invalid",
    "user is deactivated",
)
THREAD_GONE_TEXTS = ("message thread not found", "topic_closed", "topic_deleted")


class Verdict(enum.Enum):
    """What to do after a send failed."""

    MIGRATED = "migrated"  # the group became a supergroup: send again to `new_chat_id`
    THREAD_GONE = "thread_gone"  # the forum topic is gone: send again to the chat itself
    GONE = "gone"  # the chat cannot receive from the bot any more: stop its subscription
    REFUSED = "refused"  # Telegram refused this message: retrying would fail the same way
    RETRY = "retry"  # a timeout, network or server error, or flood control: try again later


@dataclass(frozen=True, slots=True)
class SendFailure:
    """The decision for one failed send, and the reason to log and store."""

    verdict: Verdict
    reason: str  # "<error class>: <Telegram's text>"
    message: str  # Telegram's text alone
    new_chat_id: int | None = None  # set for MIGRATED
    wait: dt.timedelta | None = None  # set for RETRY after a 429: Telegram's retry_after


def classify_send_error(error: TelegramError, *, thread_id: int | None) -> SendFailure:
    """Decide what a send error means; `thread_id` is the forum topic the send went to."""
    reason = f"{type(error).__name__}: {error.message}"
    message = error.message
    if isinstance(error, ChatMigrated):
        return SendFailure(Verdict.MIGRATED, reason, message, new_chat_id=int(error.new_chat_id))
    if isinstance(error, Forbidden):
        return SendFailure(Verdict.GONE, reason, message)
    if isinstance(error, BadRequest):
        text = message.lower()
        if thread_id is not None and any(s in text for s in THREAD_GONE_TEXTS):
            return SendFailure(Verdict.THREAD_GONE, reason, message)
        if any(s in text for s in GONE_CHAT_TEXTS):
            return SendFailure(Verdict.GONE, reason, message)
        return SendFailure(Verdict.REFUSED, reason, message)
    if isinstance(error, RetryAfter):
        wait = dt.timedelta(seconds=retry_after_seconds(error))
        return SendFailure(Verdict.RETRY, reason, message, wait=wait)
    # TimedOut, NetworkError, 5xx and anything else Telegram may answer: worth another try.
    return SendFailure(Verdict.RETRY, reason, message)
