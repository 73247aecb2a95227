"""The health endpoint: `GET /healthz` answers JSON, 200 when healthy and 503 when not.

Healthy means the two things the bot cannot work without: the database answers `SELECT 1`,
and the JobQueue is running with the digest job scheduled. The rest of the answer is for
operators and monitoring: the last successful Bot API call, each feed's state and the
counters in `aseanbot.metrics`, with the digest queue's depth and lag.

The server is tornado's (PTB's webhook server is tornado too), on one route, off unless
ASEANBOT_HEALTH_PORT is set; it is started in post_init and stopped in post_shutdown.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import tornado.httpserver
import tornado.netutil
import tornado.web
from telegram.ext import JobQueue

from aseanbot.metrics import MetricsSnapshot
from aseanbot.models import FeedHealth
from aseanbot.services import Services
from aseanbot.store.probes import DigestBacklog, Probes

logger = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
# A database busy for longer than this (a big import holding its lock) counts as unhealthy:
# Docker's HEALTHCHECK gives the whole request 5 seconds.
STORE_TIMEOUT_SECONDS = 3.0

HealthCheck = Callable[[], Awaitable["HealthReport"]]


@dataclass(frozen=True, slots=True)
class HealthReport:
    """What /healthz answers, collected at `at`."""

    at: dt.datetime
    store_ok: bool
    scheduler_ok: bool
    metrics: MetricsSnapshot
    feeds: tuple[FeedHealth, ...] = ()
    backlog: DigestBacklog | None = None  # None when the store did not answer

    @property
    def healthy(self) -> bool:
        return self.store_ok and self.scheduler_ok

    @property
    def http_status(self) -> int:
        return 200 if self.healthy else 503

    def as_json(self) -> dict[str, Any]:
        """The answer's body, as JSON-ready values (times in ISO 8601, UTC)."""
        backlog = self.backlog
        return {
            "status": "ok" if self.healthy else "unhealthy",
            "store": self.store_ok,
            "scheduler": self.scheduler_ok,
            "last_telegram_ok_at": _iso(self.metrics.last_telegram_ok_at),
            "feeds": [
                {
                    "name": feed.name,
                    "last_success_at": _iso(feed.last_success_at),
                    "consecutive_failures": feed.consecutive_failures,
                }
                for feed in self.feeds
            ],
            "counters": {
                "updates_handled": self.metrics.updates_handled,
                "messages_sent": self.metrics.messages_sent,
                "messages_failed": self.metrics.messages_failed,
                "telegram_429s": self.metrics.retry_after_received,
                "digest_queue_depth": None if backlog is None else backlog.pending,
                "digest_lag_seconds": (
                    None if backlog is None else round(backlog.lag(self.at).total_seconds(), 1)
                ),
            },
        }


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def scheduler_running(job_queue: JobQueue[Any] | None, job_name: str) -> bool:
    """Return whether the JobQueue runs and the job `job_name` has a next run time."""
    if job_queue is None or not job_queue.scheduler.running:
        return False
    return any(job.next_t is not None for job in job_queue.get_jobs_by_name(job_name))


async def collect_health(services: Services, *, scheduler_ok: bool) -> HealthReport:
    """Probe the store and gather the counters; never raises for a failing store."""
    now = services.clock()
    metrics = services.metrics.snapshot()
    store = services.store
    if store is None:  # not opened yet, or closed at shutdown
        return HealthReport(at=now, store_ok=False, scheduler_ok=scheduler_ok, metrics=metrics)
    probes = Probes(store)
    try:
        async with asyncio.timeout(STORE_TIMEOUT_SECONDS):
            store_ok = await probes.ping()
            backlog = await probes.digest_backlog(now)
            feeds = await store.feeds.health()
    except (sqlite3.Error, ValueError, TimeoutError) as error:
        # aiosqlite raises ValueError once its connection is closed.
        logger.warning("Health check: the database did not answer (%s)", error or "timeout")
        return HealthReport(at=now, store_ok=False, scheduler_ok=scheduler_ok, metrics=metrics)
    return HealthReport(
        at=now,
        store_ok=store_ok,
        scheduler_ok=scheduler_ok,
        metrics=metrics,
        feeds=feeds,
        backlog=backlog,
    )


class _HealthHandler(tornado.web.RequestHandler):
    """GET /healthz."""

    def initialize(self, check: HealthCheck) -> None:
        self._check = check

    async def get(self) -> None:
        report = await self._check()
        self.set_status(report.http_status)
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(report.as_json()))


def _log_request(handler: tornado.web.RequestHandler) -> None:
    # Monitoring asks every few seconds: tornado's access line at INFO would flood the log.
    logger.debug("%s %s -> %d", handler.request.method, handler.request.path, handler.get_status())


class HealthServer:
    """An HTTP server with the one route /healthz, on `listen`:`port` (0: any free port)."""

    def __init__(self, check: HealthCheck, *, listen: str, port: int) -> None:
        self._check = check
        self._listen = listen
        self._port = port
        self._server: tornado.httpserver.HTTPServer | None = None

    @property
    def port(self) -> int:
        """The port listened on (the one the OS chose, when created with 0)."""
        return self._port

    async def start(self) -> None:
        """Bind and start answering; raises OSError when the address cannot be bound."""
        application = tornado.web.Application(
            [(HEALTH_PATH, _HealthHandler, {"check": self._check})],
            log_function=_log_request,
        )
        sockets = tornado.netutil.bind_sockets(self._port, address=self._listen)
        self._port = sockets[0].getsockname()[1]
        server = tornado.httpserver.HTTPServer(application, xheaders=False)
        server.add_sockets(sockets)
        self._server = server
        logger.info("Health endpoint at http://%s:%d%s", self._listen, self._port, HEALTH_PATH)

    async def stop(self) -> None:
        """Stop listening and close open connections; safe to call twice."""
        server, self._server = self._server, None
        if server is not None:
            server.stop()
            await server.close_all_connections()
