"""Per-user throttling of commands, messages and button presses.

Each user may make THROTTLE_LIMIT requests in any THROTTLE_WINDOW seconds. The first one over
gets a polite "slow down"; the rest are dropped in silence until the window has room again
(a pressed button is still answered, silently, so its spinner stops). Admins are exempt;
inline queries are not counted (Telegram sends one per keystroke and caches answers).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from telegram import Update
from telegram.ext import ApplicationHandlerStop

from aseanbot.i18n import t, t_plain
from aseanbot.services import AppContext

logger = logging.getLogger(__name__)

THROTTLE_LIMIT = 12
THROTTLE_WINDOW = 30.0
# Forget users idle for a whole window once this many are tracked (memory stays bounded).
_PRUNE_AT = 10_000
THROTTLE_KEY = "throttle"


@dataclass
class UserThrottle:
    """Sliding-window counts per user; `now` is injectable for tests."""

    limit: int = THROTTLE_LIMIT
    window: float = THROTTLE_WINDOW
    now: Callable[[], float] = time.monotonic
    _seen: dict[int, deque[float]] = field(default_factory=dict)
    _warned: set[int] = field(default_factory=set)

    def check(self, user_id: int) -> str:
        """'allow', 'warn' (first request over the limit) or 'drop' (later ones)."""
        now = self.now()
        recent = self._seen.setdefault(user_id, deque())
        while recent and recent[0] <= now - self.window:
            recent.popleft()
        if len(recent) < self.limit:
            recent.append(now)
            self._warned.discard(user_id)
            if len(self._seen) > _PRUNE_AT:
                self._prune(now)
            return "allow"
        if user_id in self._warned:
            return "drop"
        self._warned.add(user_id)
        return "warn"

    def retry_in(self, user_id: int) -> int:
        """Whole seconds until the user's window has room again."""
        recent = self._seen.get(user_id)
        if not recent:
            return 0
        return max(1, round(recent[0] + self.window - self.now()))

    def _prune(self, now: float) -> None:
        idle = [
            user
            for user, times in self._seen.items()
            if not times or times[-1] <= now - self.window
        ]
        for user in idle:
            del self._seen[user]
            self._warned.discard(user)


async def throttle_user(update: Update, context: AppContext) -> None:
    """Stop an update from a user over the limit (after one polite word)."""
    user = update.effective_user
    if user is None or update.inline_query is not None:
        return
    if user.id in context.services.settings.admin_ids:
        return
    throttle: UserThrottle = context.bot_data.setdefault(THROTTLE_KEY, UserThrottle())
    # Anonymous group admins and channel posts all come from one Telegram account
    # (GroupAnonymousBot, Channel_Bot): count them per chat they speak for, not together.
    message = update.effective_message
    sender_chat = message.sender_chat if message is not None else None
    key = sender_chat.id if sender_chat is not None else user.id
    verdict = throttle.check(key)
    if verdict == "allow":
        return
    if verdict == "warn":
        logger.info("Sender %s is sending too fast; throttled", key)
        seconds = throttle.retry_in(key)
        if update.callback_query is not None:
            await update.callback_query.answer(t_plain("throttle.slow_down", seconds=seconds))
        elif update.effective_message is not None and update.effective_chat is not None:
            await update.effective_message.reply_text(t("throttle.slow_down", seconds=seconds))
    elif update.callback_query is not None:
        await update.callback_query.answer()
    raise ApplicationHandlerStop
