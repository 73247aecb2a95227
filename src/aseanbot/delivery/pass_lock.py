"""One digest pass at a time across processes: the bot's job and `send-digests` from cron.

An advisory lock (flock) on a file beside the database. The operating system releases it when
its holder exits or is killed, so a crash never leaves it held.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from types import TracebackType

try:
    import fcntl
except ImportError:  # Windows: no flock; one process at a time is then the operator's job.
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)


class PassLock:
    """A non-blocking exclusive lock; `acquired` says whether this pass may run."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._fd: int | None = None
        self.acquired = False

    def __enter__(self) -> PassLock:
        if self._path is None or fcntl is None:
            self.acquired = True
            return self
        self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            self._fd = None
            logger.info("Another process is sending digests; this pass is skipped")
            return self
        self.acquired = True
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        self.acquired = False


def lock_path_for(db_path: Path) -> Path | None:
    """The lock file beside a database file; None for an in-memory database."""
    if str(db_path) == ":memory:":
        return None
    return db_path.with_name(db_path.name + ".digests.lock")
