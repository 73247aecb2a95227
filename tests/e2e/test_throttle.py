"""Per-user throttling: one polite word, then silence until the window has room; admins exempt."""

from __future__ import annotations

import dataclasses

from aseanbot.handlers.throttle import THROTTLE_KEY, UserThrottle
from aseanbot.services import Services
from tests.e2e.harness import BotHarness


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_window_allows_then_warns_once_then_drops_then_recovers() -> None:
    ticks = Ticks()
    throttle = UserThrottle(limit=3, window=10.0, now=ticks)
    assert [throttle.check(7) for _ in range(5)] == ["allow", "allow", "allow", "warn", "drop"]
    assert throttle.check(8) == "allow"  # other users are not affected
    assert throttle.retry_in(7) == 10
    ticks.now += 10.0
    assert throttle.check(7) == "allow"
    assert [throttle.check(7) for _ in range(3)] == ["allow", "allow", "warn"]


def throttle_bot(bot: BotHarness, *, admin: int | None = None) -> Ticks:
    ticks = Ticks()
    bot.application.bot_data[THROTTLE_KEY] = UserThrottle(limit=4, window=30.0, now=ticks)
    services: Services = bot.application.bot_data["services"]
    if admin is not None:
        services.settings = dataclasses.replace(services.settings, admin_ids=frozenset({admin}))
    return ticks


async def test_a_user_sending_too_fast_is_slowed_down_politely(bot: BotHarness) -> None:
    ticks = throttle_bot(bot)
    user = 4242
    # Each exchange is the command plus the harness's sentinel from the same user: 2 requests.
    first = await bot.say("/about", chat_id=user)
    assert "About aseanbot" in first.text
    second = await bot.say("/about", chat_id=user)
    assert "About aseanbot" in second.text
    # Requests 5 and 6: the first over the limit gets the warning, the next nothing.
    bot.api.mark()
    bot.api.user_message("/about", chat_id=user)
    bot.api.user_message("/about", chat_id=user)
    [warning] = await bot.api.wait_for_messages(1, chat_id=user)
    assert "Please wait" in warning.text
    await bot.say("/help", chat_id=user + 1)  # updates run in order: the 6th is handled now
    ticks.now += 30.0
    again = await bot.say("/latest 1", chat_id=user)
    assert "Latest 1" in again.text
    replies = [m for m in bot.api.sent if m.chat_id == user and "About aseanbot" in m.text]
    assert len(replies) == 2


async def test_button_floods_are_answered_silently(bot: BotHarness) -> None:
    throttle_bot(bot)
    user = 4343
    for _ in range(4):
        bot.api.callback_press("m|help", message_id=1, chat_id=user)
    bot.api.callback_press("m|help", message_id=1, chat_id=user)
    bot.api.callback_press("m|help", message_id=1, chat_id=user)
    answers = await bot.api.wait_for_calls("answerCallbackQuery", 6)
    texts = [c.params.get("text") for c in answers[-2:]]
    assert texts[0] is not None
    assert "Please wait" in texts[0]
    assert texts[1] is None


async def test_admins_are_not_throttled(bot: BotHarness) -> None:
    throttle_bot(bot, admin=5151)
    for _ in range(4):
        exchange = await bot.say("/about", chat_id=5151)
        assert "About aseanbot" in exchange.text
