"""The /settings message: one message whose buttons change the digest and edit it in place.

Every press is checked (rights, then the value against what this bot offers) and saved
through the subscribing rules, so the next due time always follows the new schedule.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace

from telegram import Message, Update

from aseanbot.callbacks import SettingsAction
from aseanbot.catalog import Catalog
from aseanbot.formatting import settings as screens
from aseanbot.formatting.digest import digest_keyboard
from aseanbot.handlers.chat_rights import ensure_may_manage
from aseanbot.handlers.replies import edit_view, reply_view
from aseanbot.handlers.subscriptions import (
    UNSUBSCRIBED_REASON,
    subscribe_chat,
    subscribed_view,
    thread_of,
)
from aseanbot.handlers.views import View
from aseanbot.i18n import t_plain
from aseanbot.models import Subscription
from aseanbot.scheduling import WEEKDAYS, Schedule
from aseanbot.services import AppContext, Services
from aseanbot.subscribing import reschedule, toggle, with_filters

logger = logging.getLogger(__name__)


class StaleSettingsError(ValueError):
    """A settings press whose value this bot does not offer (an old keyboard, or forged)."""


def settings_view(services: Services, subscription: Subscription | None, screen: str) -> View:
    """One settings screen for a chat; the offer to subscribe when it has no subscription."""
    if subscription is None:
        return View(
            screens.render_not_subscribed(services.settings.timezone.key),
            screens.subscribe_keyboard(),
        )
    catalog = services.catalog
    return View(
        screens.render_settings(screen, subscription, catalog),
        screens.settings_keyboard(screen, subscription, catalog),
    )


async def cmd_settings(update: Update, context: AppContext) -> None:
    """Show this chat's digest settings as one message with buttons."""
    chat = update.effective_chat
    if chat is None or not await ensure_may_manage(update, context):
        return
    services = context.services
    subscription = await services.opened_store.subscriptions.get(chat.id)
    await reply_view(update, settings_view(services, subscription, "main"))


async def cb_settings(update: Update, context: AppContext, action: SettingsAction) -> None:
    """Handle a press on a settings button (or a digest's footer)."""
    query = update.callback_query
    chat = update.effective_chat
    if query is None:
        return
    if chat is None:
        await query.answer(t_plain("callback.stale"))
        return
    if not await ensure_may_manage(update, context):
        return
    services = context.services
    subscriptions = services.opened_store.subscriptions
    subscription = await subscriptions.get(chat.id)
    if action.screen == "subscribe":
        saved, state = await subscribe_chat(
            services, chat, thread_id=thread_of(query.message), topics=None
        )
        view = subscribed_view(saved, services.catalog, state)
    elif subscription is None:
        view = settings_view(services, None, "main")
    elif action.screen == "close":
        view = View(screens.render_closed(subscription, services.catalog))
    elif action.screen == "unsubscribe":
        if await subscriptions.deactivate(
            chat.id, reason=UNSUBSCRIBED_REASON, now=services.clock()
        ):
            logger.info("Chat %s unsubscribed with a button", chat.id)
        view = View(screens.render_unsubscribed(), screens.resubscribe_keyboard())
    else:
        try:
            changed, screen = apply_settings_action(
                subscription, action, services.catalog, now=services.clock()
            )
        except StaleSettingsError:
            logger.info("Stale settings press %r in chat %s", action, chat.id)
            await query.answer(t_plain("callback.stale"))
            return
        if changed != subscription:
            await subscriptions.save(changed)
        view = settings_view(services, changed, screen)
    await query.answer()
    if _is_digest(query.message):
        # A press on a digest's footer: the digest stays, the answer comes below it.
        await reply_view(update, view)
    else:
        await edit_view(update, view)


def _is_digest(message: object) -> bool:
    return isinstance(message, Message) and message.reply_markup == digest_keyboard()


def apply_settings_action(
    subscription: Subscription, action: SettingsAction, catalog: Catalog, *, now: dt.datetime
) -> tuple[Subscription, str]:
    """The subscription after a press, and the screen to show next; StaleSettingsError if bad.

    An empty value opens a screen; a value changes the setting that screen is about.
    """
    screen, value = action.screen, action.value
    schedule = subscription.schedule
    if not value:
        if screen in screens.SCREENS:
            return subscription, screen
        if screen == "topic":
            return with_filters(subscription, topics=(), now=now), "topics"
        if screen == "country":
            return with_filters(subscription, countries=(), now=now), "countries"
        raise StaleSettingsError(action)
    if screen == "topic" and catalog.topic(value) is not None:
        order = tuple(topic.slug for topic in catalog.topics)
        topics = toggle(subscription.topics, value, order=order)
        return with_filters(subscription, topics=topics, now=now), "topics"
    members = tuple(country.code for country in screens.member_countries(catalog))
    if screen == "country" and value in members:
        countries = toggle(subscription.countries, value, order=members)
        return with_filters(subscription, countries=countries, now=now), "countries"
    if screen == "empty" and value in screens.SEND_EMPTY_VALUES:
        send_empty = screens.SEND_EMPTY_VALUES[value]
        return with_filters(subscription, send_empty=send_empty, now=now), "main"
    new_schedule = _schedule_for(screen, value, schedule)
    if new_schedule is None:
        raise StaleSettingsError(action)
    # Weekly asks for its day next; every other schedule change is done.
    next_screen = "weekday" if screen == "frequency" and value == "weekly" else "main"
    return reschedule(subscription, new_schedule, now=now), next_screen


def _schedule_for(screen: str, value: str, schedule: Schedule) -> Schedule | None:
    """The schedule a frequency, weekday, time or zone press sets; None for a value not offered."""
    if screen == "frequency" and value in ("daily", "weekly", "off"):
        return replace(schedule, frequency=value)
    if screen == "weekday" and value in WEEKDAYS:
        return replace(schedule, frequency="weekly", weekday=WEEKDAYS.index(value))
    if screen == "time" and value in screens.TIME_CHOICES:
        hours, minutes = value.split(":")
        return replace(schedule, local_time=schedule.local_time.replace(int(hours), int(minutes)))
    if screen == "zone" and value in screens.ZONE_KEYS:
        return replace(schedule, timezone=value)
    return None
