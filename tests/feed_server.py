"""A loopback HTTP server that serves synthetic feeds, and misbehaves on request, for tests.

Routes (GET):
  /rss2.xml /atom.xml /rss1.rdf /relative.xml /dup-a.xml /dup-b.xml /conditional.xml
      fixture feeds from tests/fixtures/feeds/, each with an ETag and a Last-Modified,
      answering 304 to a matching If-None-Match (or, without one, If-Modified-Since)
  /malformed.xml    broken XML that is not a feed
  /slow.xml         the RSS 2.0 feed after `slow_delay` seconds
  /huge.xml         `huge_size` bytes of feed-like XML, chunked (no Content-Length)
  /huge-declared.xml  the same with a Content-Length that announces the size
  /gzip.xml         the RSS 2.0 feed gzip-encoded (when the client accepts gzip)
  /gzip-bomb.xml    a small gzip body that decodes to `huge_size` bytes
  /redirect-once    302 to /rss2.xml          /redirect-loop   302 to itself
  /redirect-chain?n=N  N redirects, then /rss2.xml
  /redirect-ftp     302 to an ftp:// URL
  /notfound         404                       /error           500
Bodies can be added or replaced at run time with `set_route` (a feed gaining an entry gets
a new ETag and a later Last-Modified). Every request is logged with its path and headers.

Run it by hand with ``python -m tests.feed_server --port 8082``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import gzip
import hashlib
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

from aiohttp import web

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"

RSS = "application/rss+xml; charset=utf-8"
ATOM = "application/atom+xml; charset=utf-8"
RDF = "application/rdf+xml; charset=utf-8"
XML = "application/xml; charset=utf-8"

# Fixture files served as they are: path -> (file name, content type).
_FIXTURE_ROUTES = {
    "/rss2.xml": ("rss2.xml", RSS),
    "/atom.xml": ("atom.xml", ATOM),
    "/rss1.rdf": ("rss1.rdf", RDF),
    "/relative.xml": ("relative.xml", RSS),
    "/malformed.xml": ("malformed.xml", XML),
    "/dup-a.xml": ("dup-a.xml", RSS),
    "/dup-b.xml": ("dup-b.xml", ATOM),
    "/conditional.xml": ("conditional.xml", RSS),
}

# Last-Modified times come from a fake clock that moves one hour per change: HTTP dates
# have whole seconds, so two real changes within a second would look like none.
_FIRST_MODIFIED = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
_HUGE_CHUNK = 64 * 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def fixture(name: str) -> bytes:
    """Return the bytes of tests/fixtures/feeds/`name`."""
    return (FIXTURES / name).read_bytes()


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    """One request as it arrived (`at` is time.monotonic(); header names lower-cased)."""

    path: str
    query: str
    headers: dict[str, str]
    at: float


@dataclass(frozen=True, slots=True)
class _Body:
    content: bytes
    content_type: str
    etag: str | None
    last_modified: dt.datetime | None


class FeedServer:
    """Serves the routes above on 127.0.0.1; `await start()`, then `url(path)`."""

    def __init__(self, *, slow_delay: float = 2.0, huge_size: int = 16 * 1024 * 1024) -> None:
        self.slow_delay = slow_delay
        self.huge_size = huge_size
        self.port = 0
        self.requests: list[LoggedRequest] = []
        self.huge_bytes_sent = 0  # body bytes /huge*.xml wrote before finishing or failing
        self.huge_completed = False
        self._bodies: dict[str, _Body] = {}
        self._changes = 0
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._special: dict[str, Handler] = {
            "/slow.xml": self._slow,
            "/huge.xml": self._huge,
            "/huge-declared.xml": self._huge,
            "/gzip.xml": self._gzip,
            "/gzip-bomb.xml": self._gzip_bomb,
            "/redirect-once": self._redirect_once,
            "/redirect-loop": self._redirect_loop,
            "/redirect-chain": self._redirect_chain,
            "/redirect-ftp": self._redirect_ftp,
            "/notfound": self._status(404),
            "/error": self._status(500),
        }
        for path, (name, content_type) in _FIXTURE_ROUTES.items():
            self.set_route(path, fixture(name), content_type=content_type)

    # ----------------------------------------------------------------- lifecycle

    async def start(self, port: int = 0) -> None:
        """Bind 127.0.0.1 (a free port unless one is given) and start answering."""
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._dispatch)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        self.port = sock.getsockname()[1]
        self._stopping = asyncio.Event()
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        """Release slow answers and close the server; safe to call twice."""
        self._stopping.set()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    def url(self, path: str, *, host: str = "127.0.0.1") -> str:
        """The absolute URL of `path` ("localhost" as `host` reaches the same server)."""
        return f"http://{host}:{self.port}{path}"

    # ----------------------------------------------------------------- test controls

    def set_route(
        self,
        path: str,
        body: bytes | str,
        *,
        content_type: str = RSS,
        conditional: bool = True,
    ) -> None:
        """Serve `body` at `path` from now on, with a fresh ETag and Last-Modified.

        With `conditional=False` the route sends no validators and never answers 304.
        """
        content = body.encode() if isinstance(body, str) else body
        self._changes += 1
        etag = f'"{hashlib.sha256(content).hexdigest()[:16]}"' if conditional else None
        modified = _FIRST_MODIFIED + dt.timedelta(hours=self._changes) if conditional else None
        self._bodies[path] = _Body(content, content_type, etag, modified)

    def remove_route(self, path: str) -> None:
        """Answer 404 at `path` from now on."""
        self._bodies.pop(path, None)

    def body(self, path: str) -> bytes:
        """The body currently served at a static `path`."""
        return self._bodies[path].content

    def etag(self, path: str) -> str | None:
        """The ETag currently sent for a static `path`."""
        return self._bodies[path].etag

    def last_modified(self, path: str) -> str | None:
        """The Last-Modified header currently sent for a static `path`."""
        modified = self._bodies[path].last_modified
        return format_datetime(modified, usegmt=True) if modified else None

    def requests_to(self, path: str) -> list[LoggedRequest]:
        """The logged requests for `path`, oldest first."""
        return [r for r in self.requests if r.path == path]

    # ----------------------------------------------------------------- handlers

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(
            LoggedRequest(
                path=request.path,
                query=request.query_string,
                headers={name.lower(): value for name, value in request.headers.items()},
                at=time.monotonic(),
            )
        )
        special = self._special.get(request.path)
        if special is not None:
            return await special(request)
        body = self._bodies.get(request.path)
        if body is None:
            return web.Response(status=404, text="synthetic: no such route")
        return self._serve(request, body)

    def _serve(self, request: web.Request, body: _Body) -> web.Response:
        headers: dict[str, str] = {}
        if body.etag:
            headers["ETag"] = body.etag
        if body.last_modified:
            headers["Last-Modified"] = format_datetime(body.last_modified, usegmt=True)
        if _not_modified(request, body):
            return web.Response(status=304, headers=headers)
        headers["Content-Type"] = body.content_type
        return web.Response(body=body.content, headers=headers)

    async def _slow(self, request: web.Request) -> web.StreamResponse:
        # Wait on the stop event, not a bare sleep, so stop() need not wait for the delay.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), self.slow_delay)
        return web.Response(body=fixture("rss2.xml"), content_type="application/rss+xml")

    async def _huge(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": RSS})
        if request.path == "/huge-declared.xml":
            response.content_length = self.huge_size
        else:
            response.enable_chunked_encoding()
        self.huge_bytes_sent = 0
        self.huge_completed = False
        await response.prepare(request)
        chunk = _huge_chunk()
        try:
            while self.huge_bytes_sent < self.huge_size:
                part = chunk[: self.huge_size - self.huge_bytes_sent]
                await response.write(part)
                self.huge_bytes_sent += len(part)
            await response.write_eof()
        except ConnectionError:  # the client stopped reading and hung up, as it should
            return response
        self.huge_completed = True
        return response

    async def _gzip(self, request: web.Request) -> web.StreamResponse:
        content = fixture("rss2.xml")
        if "gzip" not in request.headers.get("Accept-Encoding", ""):
            return web.Response(body=content, headers={"Content-Type": RSS})
        return web.Response(
            body=gzip.compress(content),
            headers={"Content-Type": RSS, "Content-Encoding": "gzip"},
        )

    async def _gzip_bomb(self, request: web.Request) -> web.StreamResponse:
        bomb = gzip.compress(b" " * self.huge_size, compresslevel=9)
        return web.Response(body=bomb, headers={"Content-Type": RSS, "Content-Encoding": "gzip"})

    async def _redirect_once(self, request: web.Request) -> web.StreamResponse:
        # Absolute, on the host the client used, so the redirect stays with that host.
        return _redirect(f"http://{request.host}/rss2.xml")

    async def _redirect_loop(self, request: web.Request) -> web.StreamResponse:
        return _redirect("/redirect-loop")

    async def _redirect_chain(self, request: web.Request) -> web.StreamResponse:
        left = int(request.query.get("n", "1"))
        return _redirect(f"/redirect-chain?n={left - 1}" if left > 1 else "/rss2.xml")

    async def _redirect_ftp(self, request: web.Request) -> web.StreamResponse:
        return _redirect("ftp://example.org/synthetic-feed.xml")

    def _status(self, status: int) -> Handler:
        async def answer(request: web.Request) -> web.StreamResponse:
            return web.Response(status=status, text=f"synthetic HTTP {status}")

        return answer


def _redirect(location: str) -> web.Response:
    return web.Response(status=302, headers={"Location": location})


def _not_modified(request: web.Request, body: _Body) -> bool:
    """RFC 9110: If-None-Match decides when present; else If-Modified-Since."""
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        if body.etag is None:
            return False
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or body.etag in tags
    if_modified_since = request.headers.get("If-Modified-Since")
    if if_modified_since is None or body.last_modified is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    return body.last_modified <= since


def _huge_chunk() -> bytes:
    """64 KiB of synthetic RSS items: the start of a feed that would be far too long."""
    item = (
        b"<item><title>Synthetic: padding entry for the size cap</title>"
        b"<link>https://example.org/synthetic/padding</link></item>\n"
    )
    head = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Synthetic huge</title>\n'
    return (head + item * (_HUGE_CHUNK // len(item) + 1))[:_HUGE_CHUNK]


async def _serve_forever(port: int) -> None:
    server = FeedServer()
    await server.start(port)
    print(f"Serving synthetic feeds on {server.url('/')}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8082)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(args.port))


if __name__ == "__main__":
    main()
