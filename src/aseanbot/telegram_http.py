"""The Bot API's HTTP client: PTB's request interface on an aiohttp connection pool.

PTB's default client (`HTTPXRequest`) costs 2-4 ms of CPU per request on a small machine, most
of it in httpcore's pool bookkeeping and form encoding; this one costs a fraction of that, which
is what lets a paid broadcast go past a few hundred messages a second. It sends JSON bodies
(multipart only when a request uploads files), keeps connections alive, and keeps PTB's
contract: status and body back to `BaseRequest`, which turns them into the same
`telegram.error` classes; timeouts raise `TimedOut`, transport failures `NetworkError`, and no
error text ever holds the bot token that is part of every API URL.
"""

from __future__ import annotations

import json
import logging
import re
import urllib.request
from typing import TYPE_CHECKING, Final

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData
from yarl import URL

from aseanbot.log_redaction import REDACTED

if TYPE_CHECKING:
    from telegram._utils.types import ODVInput

logger = logging.getLogger(__name__)

DEFAULT_POOL_SIZE: Final = 64
# A bot token in a URL path ("/bot123456:ABC-def/sendMessage") or anywhere in a text.
_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]{8,}")
_PROXY_SCHEMES: Final = frozenset({"http", "https"})
_JSON_HEADERS: Final = {"Content-Type": "application/json"}


def redact_token(text: str) -> str:
    """Return `text` with anything shaped like a bot token replaced."""
    return _TOKEN.sub(REDACTED, text)


class AiohttpRequest(BaseRequest):
    """PTB's `BaseRequest` on one aiohttp session: a keep-alive pool, JSON bodies.

    The timeouts mean what they mean for `HTTPXRequest`, with one difference: aiohttp has no
    per-write timeout, so a request as a whole is also bounded by the sum of the pool, connect,
    write and read timeouts (when all are set). A proxy comes from `proxy` or, as for httpx,
    from HTTPS_PROXY / HTTP_PROXY / ALL_PROXY (NO_PROXY respected); only HTTP proxies are
    supported, a SOCKS proxy is refused with a clear error.
    """

    __slots__ = (
        "_connect_timeout",
        "_media_write_timeout",
        "_pool_size",
        "_pool_timeout",
        "_proxies",
        "_proxy",
        "_read_timeout",
        "_session",
        "_timeouts",
        "_urls",
        "_write_timeout",
    )

    def __init__(
        self,
        connection_pool_size: int = DEFAULT_POOL_SIZE,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
        proxy: str | None = None,
    ) -> None:
        if connection_pool_size < 1:
            raise ValueError("connection_pool_size must be at least 1")
        if proxy is not None:
            _check_proxy(proxy)
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._proxy = proxy
        self._session: aiohttp.ClientSession | None = None
        # Per (scheme, host): the proxy to use, read from the environment once (aiohttp's own
        # trust_env reads it in a thread on every request).
        self._proxies: dict[tuple[str, str], str | None] = {}
        # The Bot API's URLs are few (one per method); parsing each once saves CPU per send.
        self._urls: dict[str, URL] = {}
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout, in seconds."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the session and its connection pool (again, after a shutdown)."""
        if self._session is None or self._session.closed:
            self._session = self._new_session()

    async def shutdown(self) -> None:
        """Close the session and every pooled connection."""
        if self._session is None or self._session.closed:
            logger.debug("This AiohttpRequest is already shut down")
            return
        await self._session.close()

    def _new_session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=self._pool_size, limit_per_host=0)
        return aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": self.USER_AGENT},
            # Redirects, cookies and env lookups per request are not part of the Bot API.
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
        )

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one request; return the HTTP status and body (PTB maps them to errors)."""
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data is not None and request_data.contains_files
        timeout = self._timeout(
            read_timeout,
            write_timeout,
            connect_timeout,
            pool_timeout,
            media=files,
        )
        body: bytes | aiohttp.FormData | None = None
        headers: dict[str, str] | None = None
        if request_data is not None:
            if files:
                body = _multipart(request_data)
            else:
                body = json.dumps(request_data.parameters, separators=(",", ":")).encode()
                headers = _JSON_HEADERS
        try:
            target = self._url(url)
            async with session.request(
                method,
                target,
                data=body,
                headers=headers,
                timeout=timeout,
                proxy=self._proxy_for(target),
                allow_redirects=False,
            ) as response:
                return response.status, await response.read()
        except TimeoutError as error:
            # aiohttp's connect and read timeouts are TimeoutErrors too; none holds the URL.
            raise TimedOut(_timeout_text(error)) from error
        except (aiohttp.ClientError, ValueError) as error:
            # ValueError: a URL yarl cannot parse (its text holds the URL, so the token).
            text = f"{type(error).__module__.partition('.')[0]}.{type(error).__name__}: {error}"
            safe = redact_token(text)
            if safe != text:
                # The cause's text holds the token: drop it, so no traceback shows it.
                raise NetworkError(safe) from None
            raise NetworkError(text) from error

    def _url(self, url: str) -> URL:
        target = self._urls.get(url)
        if target is None:
            target = URL(url)
            if len(self._urls) < 256:  # file download URLs differ per file: do not grow
                self._urls[url] = target
        return target

    def _timeout(
        self,
        read: ODVInput[float],
        write: ODVInput[float],
        connect: ODVInput[float],
        pool: ODVInput[float],
        *,
        media: bool,
    ) -> aiohttp.ClientTimeout:
        default_write = self._media_write_timeout if media else self._write_timeout
        key = (
            self._read_timeout if isinstance(read, DefaultValue) else read,
            default_write if isinstance(write, DefaultValue) else write,
            self._connect_timeout if isinstance(connect, DefaultValue) else connect,
            self._pool_timeout if isinstance(pool, DefaultValue) else pool,
        )
        timeout = self._timeouts.get(key)
        if timeout is None:
            timeout = _client_timeout(*key)
            if len(self._timeouts) < 64:
                self._timeouts[key] = timeout
        return timeout

    def _proxy_for(self, url: URL) -> str | None:
        if self._proxy is not None:
            return self._proxy
        key = (url.scheme, url.host or "")
        if key not in self._proxies:
            self._proxies[key] = _proxy_from_environment(*key)
        return self._proxies[key]


def _client_timeout(
    read: float | None, write: float | None, connect: float | None, pool: float | None
) -> aiohttp.ClientTimeout:
    """aiohttp's timeouts for PTB's four: its `connect` covers waiting for the pool too."""
    parts = (read, write, connect, pool)
    total = None if any(part is None for part in parts) else sum(p for p in parts if p)
    waiting = None if connect is None or pool is None else connect + pool
    return aiohttp.ClientTimeout(total=total, connect=waiting, sock_connect=connect, sock_read=read)


def _timeout_text(error: TimeoutError) -> str:
    if isinstance(error, aiohttp.ConnectionTimeoutError):
        return (
            "Timed out getting a connection (pool full or server unreachable); "
            "the request was not sent"
        )
    return "Timed out"


def _multipart(request_data: RequestData) -> aiohttp.FormData:
    """A multipart body: the parameters as form fields, then the files."""
    form = aiohttp.FormData()
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, upload in request_data.multipart_data.items():
        filename, content, content_type = upload
        form.add_field(name, content, filename=filename, content_type=content_type)
    return form


def _check_proxy(proxy: str) -> None:
    scheme = URL(proxy).scheme
    if scheme not in _PROXY_SCHEMES:
        raise ValueError(
            f"proxy scheme {scheme!r} is not supported by the aiohttp client; use an http:// proxy"
        )


def _proxy_from_environment(scheme: str, host: str) -> str | None:
    """The proxy the environment sets for `scheme` (or ALL_PROXY), unless NO_PROXY has host."""
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(scheme) or proxies.get("all")
    if not proxy or (host and urllib.request.proxy_bypass(host)):
        return None
    _check_proxy(proxy)
    return proxy
