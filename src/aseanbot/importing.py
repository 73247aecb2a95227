"""Loading data files into the store: on start (when data/ changed) and from the command line."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path

from aseanbot.loader import dataset_fingerprint, read_dataset
from aseanbot.models import ImportReport
from aseanbot.store import Store

logger = logging.getLogger(__name__)

DATA_FINGERPRINT_KEY = "data_fingerprint"


async def import_path(store: Store, path: Path, *, now: datetime) -> ImportReport:
    """Read, validate and store a data file or folder, all or nothing."""
    # File reading and YAML parsing run in a thread: the bot keeps answering meanwhile.
    dataset = await asyncio.to_thread(read_dataset, path)
    return await store.import_dataset(dataset, now=now)


async def sync_data_dir(store: Store, data_dir: Path, *, now: datetime) -> ImportReport | None:
    """Import `data_dir` if its content changed since the last sync; None when unchanged."""
    fingerprint = await asyncio.to_thread(dataset_fingerprint, data_dir)
    if await store.get_meta(DATA_FINGERPRINT_KEY) == fingerprint:
        logger.info("Data in %s is unchanged since the last import", data_dir)
        return None
    return await _import_data_dir(store, data_dir, fingerprint, now=now)


async def import_data_dir(store: Store, data_dir: Path, *, now: datetime) -> ImportReport:
    """Import `data_dir` now (an admin's /reload), and remember its content as imported."""
    fingerprint = await asyncio.to_thread(dataset_fingerprint, data_dir)
    return await _import_data_dir(store, data_dir, fingerprint, now=now)


async def _import_data_dir(
    store: Store, data_dir: Path, fingerprint: str, *, now: datetime
) -> ImportReport:
    # The fingerprint is taken before reading: a file edited meanwhile is imported again at
    # the next start rather than missed.
    report = await import_path(store, data_dir, now=now)
    await store.set_meta(DATA_FINGERPRINT_KEY, fingerprint)
    logger.info(
        "Imported %s: %d added, %d updated, %d unchanged",
        data_dir,
        len(report.added),
        len(report.updated),
        len(report.unchanged),
    )
    return report
