"""Fetch feed documents politely and safely over HTTP(S).

Politely: a conditional GET (ETag / Last-Modified) so an unchanged feed costs one 304, a
User-Agent that names the bot, and requests to one host that never overlap and start at
least `per_host_interval` seconds apart. Safely: only http(s) URLs, a time limit per
request, a cap on the decoded body size (a gzip bomb stops at the cap too), and a bounded,
loop-checked redirect chain. Network problems never raise: they come back as a "failed"
result with a short reason a person can read.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import zlib
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal, Self

import httpx

logger = logging.getLogger(__name__)

FetchStatus = Literal["ok", "not_modified", "failed"]

_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
_WEB_SCHEMES = ("http", "https")
_MiB = 1024 * 1024
_KiB = 1024


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one fetch gave: a body ("ok"), nothing new ("not_modified") or an error."""

    status: FetchStatus
    body: bytes | None = None
    etag: str | None = None  # validators to send next time (the server's, or the ones sent)
    last_modified: str | None = None
    final_url: str | None = None  # the URL after redirects
    error: str | None = None  # short and human: "HTTP 404", "timed out after 10 s", ...


class _Failed(Exception):
    """A fetch failed; the message becomes `FetchResult.error`."""


@dataclass(frozen=True, slots=True)
class _Redirect:
    location: str  # absolute


@dataclass(slots=True)
class _HostTurn:
    """Whose turn it is at one host: held for a whole request, and when the last one began."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_start: float = -math.inf


class FeedFetcher:
    """Fetches feeds through one shared HTTP client; close it with `aclose()`."""

    def __init__(
        self,
        *,
        timeout: float = 15.0,
        max_bytes: int = 2 * 1024 * 1024,
        max_redirects: int = 5,
        per_host_interval: float = 2.0,
        user_agent: str = "aseanbot/0.1 (+https://github.com/aseanbot)",
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._max_redirects = max_redirects
        self._interval = per_host_interval
        self._turns: dict[str, _HostTurn] = {}
        self._client = httpx.AsyncClient(
            headers={
                "User-Agent": user_agent,
                "Accept": _ACCEPT,
                # Only the encodings decoded here (with a size cap), whatever else is installed.
                "Accept-Encoding": "gzip, deflate",
            },
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,  # followed by hand: each hop is checked and spaced
            transport=transport,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client and its connections."""
        await self._client.aclose()

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """GET `url`, sending `etag` / `last_modified` from the last fetch as conditions.

        Returns "ok" with the body, "not_modified" on 304 (with the validators to keep) or
        "failed" with a short reason; never raises for network or HTTP problems.
        """
        # A validator that is not ASCII cannot go into a header: fetch unconditionally.
        etag = etag if etag and etag.isascii() else None
        last_modified = last_modified if last_modified and last_modified.isascii() else None
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            result = await self._follow(_web_url(url), headers, etag, last_modified)
        except _Failed as error:
            logger.debug("Fetching %s failed: %s", url, error)
            return FetchResult(status="failed", error=str(error))
        logger.debug("Fetched %s: %s", url, result.status)
        return result

    async def _follow(
        self,
        url: httpx.URL,
        headers: dict[str, str],
        etag: str | None,
        last_modified: str | None,
    ) -> FetchResult:
        seen = {_without_fragment(url)}
        for _ in range(self._max_redirects + 1):
            answer = await self._hop(url, headers)
            if isinstance(answer, FetchResult):
                if answer.status == "not_modified":
                    # Keep the validators that matched when the 304 does not repeat them.
                    return FetchResult(
                        status="not_modified",
                        etag=answer.etag or etag,
                        last_modified=answer.last_modified or last_modified,
                        final_url=answer.final_url,
                    )
                return answer
            url = _web_url(answer.location, redirect=True)
            if _without_fragment(url) in seen:
                raise _Failed("redirect loop")
            seen.add(_without_fragment(url))
        raise _Failed(f"too many redirects (more than {self._max_redirects})")

    async def _hop(self, url: httpx.URL, headers: dict[str, str]) -> FetchResult | _Redirect:
        """One request, made in its host's turn."""
        turn = self._turns.setdefault(url.host, _HostTurn())
        async with turn.lock:
            wait = turn.last_start + self._interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            turn.last_start = time.monotonic()
            try:
                async with asyncio.timeout(self._timeout):
                    return await self._request(url, headers)
            except (TimeoutError, httpx.TimeoutException) as error:
                raise _Failed(f"timed out after {self._timeout:g} s") from error
            except httpx.HTTPError as error:
                raise _Failed(_describe(error)) from error
            except httpx.InvalidURL as error:  # a Location that is no URL
                raise _Failed(f"invalid redirect URL: {error}") from error

    async def _request(self, url: httpx.URL, headers: dict[str, str]) -> FetchResult | _Redirect:
        request = self._client.build_request("GET", url, headers=headers)
        response = await self._client.send(request, stream=True)
        try:
            code = response.status_code
            final_url = str(response.url)
            if code in _REDIRECT_CODES:
                location = response.headers.get("Location")
                if not location:
                    raise _Failed(f"HTTP {code} redirect without a Location")
                return _Redirect(str(response.url.join(location)))
            if code == 304:
                return _result("not_modified", response, final_url)
            if not 200 <= code < 300:
                raise _Failed(f"HTTP {code}")
            declared = _content_length(response)
            if declared is not None and declared > self._max_bytes:
                raise _Failed(self._too_large())
            body = await self._read_capped(response)
            return _result("ok", response, final_url, body)
        finally:
            await response.aclose()

    async def _read_capped(self, response: httpx.Response) -> bytes:
        """Read and decode the body, stopping as soon as it passes max_bytes."""
        decoder = _decoder(response.headers.get("Content-Encoding", ""))
        body = bytearray()
        async for chunk in response.aiter_raw():
            if decoder is None:
                body += chunk
            else:
                data = chunk
                while data:
                    try:
                        # Never more than one byte past the cap, however well it compresses.
                        body += decoder.decompress(data, self._max_bytes - len(body) + 1)
                    except zlib.error as error:
                        raise _Failed("could not decode the compressed body") from error
                    if len(body) > self._max_bytes:
                        break
                    data = decoder.unconsumed_tail
            if len(body) > self._max_bytes:
                raise _Failed(self._too_large())
        if decoder is not None:
            body += decoder.flush()
            if len(body) > self._max_bytes:
                raise _Failed(self._too_large())
        return bytes(body)

    def _too_large(self) -> str:
        return f"response larger than {_size(self._max_bytes)}"


def _web_url(url: str, *, redirect: bool = False) -> httpx.URL:
    """Parse an http(s) URL with a host, or raise _Failed saying what is wrong with it."""
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError, ValueError) as error:
        raise _Failed(f"invalid URL: {error}") from error
    if parsed.scheme not in _WEB_SCHEMES:
        problem = f"unsupported URL scheme {parsed.scheme or '(none)'!r}"
        raise _Failed(
            f"redirect to an {problem}" if redirect else f"{problem} (http or https only)"
        )
    if not parsed.host:
        raise _Failed("invalid URL: no host")
    return parsed


def _result(
    status: FetchStatus, response: httpx.Response, final_url: str, body: bytes | None = None
) -> FetchResult:
    """A result carrying the response's validators, to send with the next fetch."""
    return FetchResult(
        status=status,
        body=body,
        etag=response.headers.get("ETag") or None,
        last_modified=response.headers.get("Last-Modified") or None,
        final_url=final_url,
    )


def _without_fragment(url: httpx.URL) -> str:
    return str(url.copy_with(fragment=None))


def _content_length(response: httpx.Response) -> int | None:
    try:
        return int(response.headers["Content-Length"])
    except (KeyError, ValueError):
        return None


def _decoder(content_encoding: str) -> zlib._Decompress | None:
    """A decompressor for the response's Content-Encoding (None: the body is as sent)."""
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        return None
    if codings == ["gzip"] or codings == ["x-gzip"]:
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if codings == ["deflate"]:
        return zlib.decompressobj()
    raise _Failed(f"unsupported content encoding {content_encoding!r}")


def _size(count: int) -> str:
    if count % _MiB == 0:
        return f"{count // _MiB} MiB"
    if count % _KiB == 0:
        return f"{count // _KiB} KiB"
    return f"{count} bytes"


def _describe(error: httpx.HTTPError) -> str:
    """A short reason for a transport error, without a traceback's worth of detail."""
    detail = " ".join(str(error).split()) or type(error).__name__
    if len(detail) > 160:
        detail = detail[:159] + "…"
    if isinstance(error, httpx.ConnectError):
        return f"connection failed: {detail}"
    if isinstance(error, httpx.RemoteProtocolError):
        return f"broken HTTP response: {detail}"
    return f"{type(error).__name__}: {detail}"
