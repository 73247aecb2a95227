"""What handlers need at run time, held in one object on the Application."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from telegram.ext import CallbackContext, ExtBot

from aseanbot.catalog import Catalog
from aseanbot.config import Settings
from aseanbot.metrics import Metrics

if TYPE_CHECKING:
    from aseanbot.delivery.digests import DigestSender
    from aseanbot.health import HealthServer
    from aseanbot.store import Store

SERVICES_KEY = "services"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Services:
    """Opened in post_init, closed in post_shutdown; handlers reach it as context.services."""

    settings: Settings
    clock: Callable[[], datetime] = utc_now
    store: Store | None = None
    catalog: Catalog = field(default_factory=Catalog)
    digests: DigestSender | None = None
    metrics: Metrics = field(default_factory=Metrics)
    health_server: HealthServer | None = None  # when ASEANBOT_HEALTH_PORT is set

    @property
    def digest_sender(self) -> DigestSender:
        if self.digests is None:
            raise RuntimeError("the digest sender is not set up yet (post_init has not run)")
        return self.digests

    @property
    def opened_store(self) -> Store:
        if self.store is None:
            raise RuntimeError("the store is not open yet (post_init has not run)")
        return self.store

    async def refresh_catalog(self) -> None:
        """Reload topics, countries and partners after the store's reference data changed."""
        store = self.opened_store
        self.catalog = Catalog(
            topics=await store.topics(),
            countries=await store.countries(),
            partners=await store.partners(),
        )


class AppContext(CallbackContext[ExtBot[None], dict, dict, dict]):  # type: ignore[type-arg]
    """The callback context of aseanbot's handlers: adds `services`."""

    @property
    def services(self) -> Services:
        services: Services = self.application.bot_data[SERVICES_KEY]
        return services
