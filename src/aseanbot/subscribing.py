"""Rules for creating and changing subscriptions. Pure: `now` always comes in as an argument."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from aseanbot.models import Subscription
from aseanbot.scheduling import Schedule, next_due

DEFAULT_TIME = dt.time(8, 0)
DEFAULT_WEEKDAY = 0  # Monday
# A new subscriber's first digest covers the period before it subscribed, so it is not empty.
FIRST_WINDOW = {"daily": dt.timedelta(days=1), "weekly": dt.timedelta(days=7)}


def new_subscription(
    *,
    chat_id: int,
    chat_type: str,
    thread_id: int | None,
    topics: tuple[str, ...],
    timezone: str,
    now: dt.datetime,
) -> Subscription:
    """A daily 08:00 subscription in `timezone`, first due at the next 08:00 there."""
    schedule = Schedule(
        frequency="daily", local_time=DEFAULT_TIME, timezone=timezone, weekday=DEFAULT_WEEKDAY
    )
    return Subscription(
        chat_id=chat_id,
        chat_type=chat_type,
        thread_id=thread_id,
        topics=topics,
        schedule=schedule,
        watermark=now - FIRST_WINDOW["daily"],
        created_at=now,
        updated_at=now,
        next_due_at=next_due(schedule, after=now),
    )


def resubscribe(
    subscription: Subscription,
    *,
    thread_id: int | None,
    topics: tuple[str, ...] | None,
    now: dt.datetime,
) -> Subscription:
    """Turn a subscription on again (keeping its settings), optionally with new topics.

    An inactive one starts a fresh window, as a new subscriber would; "off" becomes daily.
    """
    schedule = subscription.schedule
    if schedule.frequency == "off":
        schedule = replace(schedule, frequency="daily")
    watermark = subscription.watermark
    if not subscription.active:
        watermark = max(watermark, now - FIRST_WINDOW[schedule.frequency])
    return replace(
        subscription,
        active=True,
        deactivated_reason=None,
        thread_id=thread_id,
        topics=subscription.topics if topics is None else topics,
        schedule=schedule,
        watermark=watermark,
        updated_at=now,
        next_due_at=_next_due_at(subscription, schedule, now=now),
    )


def reschedule(subscription: Subscription, schedule: Schedule, *, now: dt.datetime) -> Subscription:
    """Apply a new time, zone or frequency: the next digest is due by the new schedule."""
    return replace(
        subscription,
        schedule=schedule,
        updated_at=now,
        next_due_at=_next_due_at(subscription, schedule, now=now) if subscription.active else None,
    )


def _next_due_at(
    subscription: Subscription, schedule: Schedule, *, now: dt.datetime
) -> dt.datetime | None:
    """When the next digest is due under `schedule`.

    An active subscription keeping its schedule keeps its due time: a digest it is owed (due,
    not yet sent: a long pass may take a while to reach it) is still sent.
    """
    keeps = subscription.active and schedule == subscription.schedule
    if keeps and subscription.next_due_at is not None:
        return subscription.next_due_at
    return next_due(schedule, after=now)


def with_filters(
    subscription: Subscription,
    *,
    topics: tuple[str, ...] | None = None,
    countries: tuple[str, ...] | None = None,
    send_empty: bool | None = None,
    now: dt.datetime,
) -> Subscription:
    """Change what a subscription follows; the schedule stays."""
    return replace(
        subscription,
        topics=subscription.topics if topics is None else topics,
        countries=subscription.countries if countries is None else countries,
        send_empty=subscription.send_empty if send_empty is None else send_empty,
        updated_at=now,
    )


def toggle(values: tuple[str, ...], value: str, *, order: tuple[str, ...]) -> tuple[str, ...]:
    """Add or remove `value`, keeping `order` (the catalog's order) for what remains."""
    chosen = set(values) ^ {value}
    return tuple(code for code in order if code in chosen)
