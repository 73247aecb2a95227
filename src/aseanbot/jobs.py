"""Repeating jobs on PTB's JobQueue."""

from __future__ import annotations

import logging

from aseanbot.services import AppContext

logger = logging.getLogger(__name__)

# How often due digests are looked for: a digest goes out within this of its minute.
DIGEST_TICK_SECONDS = 30


async def job_send_due_digests(context: AppContext) -> None:
    """Send every digest that is due (and retry pending ones); one pass at a time."""
    await context.services.digest_sender.run_pass()


# Feeds are looked at this often; each source is fetched when its own interval has passed.
FEED_TICK_SECONDS = 300


async def job_ingest_feeds(context: AppContext) -> None:
    """Fetch the feed sources whose interval has passed."""
    from aseanbot.feeds.ingest import ingest_feeds

    report = await ingest_feeds(context.services)
    if report.added:
        logger.info("Feeds brought %d new items", report.added)


# The database's WAL is copied back into it this often (see Store.checkpoint).
CHECKPOINT_TICK_SECONDS = 60


async def job_checkpoint_store(context: AppContext) -> None:
    """Checkpoint the store's WAL outside any user's command."""
    copied = await context.services.opened_store.checkpoint()
    logger.debug("Checkpoint copied %d WAL frames", copied)
