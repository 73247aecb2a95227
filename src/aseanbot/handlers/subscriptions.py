"""Subscription commands: /subscribe, /unsubscribe, /time, /timezone, /frequency, /digest.

Also the chat's life around them: the bot removed or blocked (my_chat_member) stops the
digest, and a group that became a supergroup takes its subscription along.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from telegram import Chat, MaybeInaccessibleMessage, Message, Update
from telegram.constants import ChatMemberStatus, ChatType

from aseanbot.catalog import Catalog
from aseanbot.formatting import settings as screens
from aseanbot.formatting.digest import digest_keyboard
from aseanbot.handlers.arguments import argument_text
from aseanbot.handlers.chat_rights import ensure_may_manage
from aseanbot.handlers.replies import reply_view
from aseanbot.handlers.views import View
from aseanbot.i18n import t
from aseanbot.models import Subscription
from aseanbot.scheduling import (
    Schedule,
    ScheduleInputError,
    parse_frequency,
    parse_time_of_day,
    resolve_timezone,
)
from aseanbot.services import AppContext, Services
from aseanbot.subscribing import new_subscription, reschedule, resubscribe

logger = logging.getLogger(__name__)

# Deep-link payload prefix: t.me/<bot>?start=sub_<topic> subscribes to that topic.
START_SUBSCRIBE_PREFIX = "sub_"
UNSUBSCRIBED_REASON = "unsubscribed"
_GONE_STATUSES = (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED)


class UnknownTopicError(ValueError):
    """A word after /subscribe names no topic."""

    def __init__(self, word: str) -> None:
        super().__init__(word)
        self.word = word


def parse_topics(text: str, catalog: Catalog) -> tuple[str, ...]:
    """Topic slugs or names ("trade AI governance", "trade, ai-governance") → slugs, catalog order.

    Words are matched longest phrase first, so "AI governance" is one topic, not "governance".
    """
    chosen: set[str] = set()
    for phrase, match in catalog.resolve_phrases(text):
        if match is None or match[0] != "topic":
            raise UnknownTopicError(phrase.split()[0])
        chosen.add(match[1])
    return tuple(topic.slug for topic in catalog.topics if topic.slug in chosen)


def thread_of(message: Message | MaybeInaccessibleMessage | None) -> int | None:
    """The forum topic a message is in, so a digest goes back to that topic; else None."""
    if isinstance(message, Message) and message.is_topic_message:
        return message.message_thread_id
    return None


async def subscribe_chat(
    services: Services, chat: Chat, *, thread_id: int | None, topics: tuple[str, ...] | None
) -> tuple[Subscription, str]:
    """Subscribe a chat, or turn its subscription on again; topics None keeps the current ones.

    Returns the saved subscription and what happened: "new", "updated" or "resumed".
    """
    now = services.clock()
    subscriptions = services.opened_store.subscriptions
    existing = await subscriptions.get(chat.id)
    if existing is None:
        subscription = new_subscription(
            chat_id=chat.id,
            chat_type=str(chat.type),
            thread_id=thread_id,
            topics=topics or (),
            timezone=services.settings.timezone.key,
            now=now,
        )
        state = "new"
    else:
        subscription = resubscribe(existing, thread_id=thread_id, topics=topics, now=now)
        state = "updated" if existing.active else "resumed"
    await subscriptions.save(subscription)
    logger.info("Chat %s subscribed (%s), topics %s", chat.id, state, subscription.topics or "all")
    return subscription, state


def subscribed_view(subscription: Subscription, catalog: Catalog, state: str) -> View:
    return View(
        screens.render_subscribed(subscription, catalog, state=state),
        screens.subscribed_keyboard(),
    )


async def subscribe_and_reply(update: Update, context: AppContext, topics: tuple[str, ...]) -> None:
    """Subscribe the update's chat to `topics` (empty: all) and say what was set."""
    chat = update.effective_chat
    if chat is None or not await ensure_may_manage(update, context):
        return
    services = context.services
    subscription, state = await subscribe_chat(
        services, chat, thread_id=thread_of(update.effective_message), topics=topics
    )
    await reply_view(update, subscribed_view(subscription, services.catalog, state))


async def cmd_subscribe(update: Update, context: AppContext) -> None:
    """Subscribe this chat to a digest: /subscribe [topic …]."""
    catalog = context.services.catalog
    try:
        topics = parse_topics(argument_text(context), catalog)
    except UnknownTopicError as error:
        if await ensure_may_manage(update, context):
            slugs = ", ".join(topic.slug for topic in catalog.topics)
            word = error.word[: screens.INPUT_SHOWN_LIMIT]
            await reply_view(update, View([t("subscribe.unknown_topic", word=word, slugs=slugs)]))
        return
    await subscribe_and_reply(update, context, topics)


async def cmd_unsubscribe(update: Update, context: AppContext) -> None:
    """Stop this chat's digest."""
    chat = update.effective_chat
    if chat is None or not await ensure_may_manage(update, context):
        return
    services = context.services
    stopped = await services.opened_store.subscriptions.deactivate(
        chat.id, reason=UNSUBSCRIBED_REASON, now=services.clock()
    )
    if not stopped:
        await reply_view(update, View([t("unsubscribe.not_subscribed")]))
        return
    logger.info("Chat %s unsubscribed", chat.id)
    await reply_view(update, View(screens.render_unsubscribed(), screens.resubscribe_keyboard()))


async def cmd_time(update: Update, context: AppContext) -> None:
    """Set the digest's time of day: /time 7:30am."""
    await _change_schedule(
        update,
        context,
        usage="time.usage",
        change=lambda schedule, text: replace(schedule, local_time=parse_time_of_day(text)),
    )


async def cmd_timezone(update: Update, context: AppContext) -> None:
    """Set the digest's time zone: /timezone Manila, /timezone Asia/Bangkok, /timezone UTC+7."""
    await _change_schedule(
        update,
        context,
        usage="timezone.usage",
        change=lambda schedule, text: replace(schedule, timezone=resolve_timezone(text)),
    )


async def cmd_frequency(update: Update, context: AppContext) -> None:
    """Set how often the digest comes: /frequency daily|weekly [weekday]|off."""
    await _change_schedule(update, context, usage="frequency.usage", change=_with_frequency)


def _with_frequency(schedule: Schedule, text: str) -> Schedule:
    frequency, weekday = parse_frequency(text)
    return replace(
        schedule, frequency=frequency, weekday=schedule.weekday if weekday is None else weekday
    )


async def _change_schedule(
    update: Update,
    context: AppContext,
    *,
    usage: str,
    change: Callable[[Schedule, str], Schedule],
) -> None:
    chat = update.effective_chat
    if chat is None or not await ensure_may_manage(update, context):
        return
    text = argument_text(context)
    if not text:
        await reply_view(update, View([t(usage)]))
        return
    services = context.services
    subscriptions = services.opened_store.subscriptions
    subscription = await subscriptions.get(chat.id)
    if subscription is None or not subscription.active:
        await reply_view(update, View([t("subscribe.first")]))
        return
    try:
        schedule = change(subscription.schedule, text)
    except ScheduleInputError as error:
        suggestions = error.params.get("suggestions")
        blocks = screens.render_schedule_error(
            error.key,
            text[: screens.INPUT_SHOWN_LIMIT],
            [str(s) for s in suggestions] if isinstance(suggestions, list) else [],
        )
        await reply_view(update, View(blocks))
        return
    updated = reschedule(subscription, schedule, now=services.clock())
    await subscriptions.save(updated)
    await reply_view(
        update,
        View(screens.render_schedule_saved(updated), screens.settings_button_keyboard()),
    )


async def cmd_digest(update: Update, context: AppContext) -> None:
    """Show the digest this chat would get now, without counting it as sent."""
    chat = update.effective_chat
    message = update.effective_message
    if chat is None or message is None:
        return
    services = context.services
    subscription = await services.opened_store.subscriptions.get(chat.id)
    if subscription is not None and subscription.active:
        parts = await services.digest_sender.preview(subscription)
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            await message.reply_text(part, reply_markup=digest_keyboard() if last else None)
        return
    # Not subscribed: what every topic brought over the last day, as a first digest would.
    sample = new_subscription(
        chat_id=chat.id,
        chat_type=str(chat.type),
        thread_id=None,
        topics=(),
        timezone=services.settings.timezone.key,
        now=services.clock(),
    )
    for part in await services.digest_sender.preview(sample):
        await message.reply_text(part)
    await reply_view(update, View([t("digest.preview_unsubscribed")], screens.subscribe_keyboard()))


async def on_my_chat_member(update: Update, context: AppContext) -> None:
    """Stop the digest of a chat the bot was removed from, or a private chat that blocked it."""
    change = update.my_chat_member
    if change is None or change.new_chat_member.status not in _GONE_STATUSES:
        return
    chat = change.chat
    reason = "bot blocked" if chat.type == ChatType.PRIVATE else "bot removed"
    services = context.services
    stopped = await services.opened_store.subscriptions.deactivate(
        chat.id, reason=reason, now=services.clock()
    )
    # Nothing is sent: the bot can no longer write to this chat.
    logger.info(
        "Chat %s: %s (%s); %s",
        chat.id,
        reason,
        change.new_chat_member.status,
        "its digest is stopped" if stopped else "it had no active digest",
    )


async def on_chat_migrated(update: Update, context: AppContext) -> None:
    """A group became a supergroup: its subscription moves to the new chat id."""
    message = update.effective_message
    if message is None or message.migrate_to_chat_id is None:
        return
    services = context.services
    await services.opened_store.subscriptions.migrate_chat(
        message.chat.id, message.migrate_to_chat_id, now=services.clock()
    )
    logger.info(
        "Chat %s became %s; its digest follows", message.chat.id, message.migrate_to_chat_id
    )
