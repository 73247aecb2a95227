"""Build the digest a pass would owe a subscription, for tests of the ledger's writes."""

from __future__ import annotations

import datetime as dt
import json

from aseanbot.models import Subscription
from aseanbot.store.subscriptions import PendingDigest, SchedulePlan
from aseanbot.store.timestamps import format_time


def owed_digest(
    subscription: Subscription,
    period: dt.datetime,
    *,
    next_due_at: dt.datetime | None = None,
    parts_sent: int = 0,
    attempts: int = 0,
) -> PendingDigest:
    """The digest for `period`, as `Subscriptions.owed_page` reads it for a chat due by then."""
    plan = SchedulePlan(subscription.schedule, period, next_due_at, made_at=period)
    profile = (
        json.dumps(list(subscription.topics)),
        json.dumps(list(subscription.countries)),
        format_time(subscription.watermark),
        format_time(period),
        subscription.schedule.timezone,
    )
    return PendingDigest(
        subscription.chat_id,
        subscription.thread_id,
        subscription.send_empty,
        parts_sent,
        attempts,
        profile,
        plan,
    )
