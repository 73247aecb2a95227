"""FeedFetcher against the loopback feed server: conditional GET, limits, redirects, pacing."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator

import httpx
import pytest

from aseanbot.feeds.fetch import FeedFetcher, FetchResult
from tests.feed_server import FeedServer, fixture

CAP = 256 * 1024


@pytest.fixture
async def fetcher(feed_server: FeedServer) -> AsyncIterator[FeedFetcher]:
    # Depends on the server so that it closes its connections before the server stops.
    fetcher = FeedFetcher(timeout=2.0, max_bytes=CAP, per_host_interval=0.0)
    try:
        yield fetcher
    finally:
        await fetcher.aclose()


async def test_a_feed_is_fetched_with_its_validators_and_the_bots_user_agent(
    feed_server: FeedServer, fetcher: FeedFetcher
) -> None:
    result = await fetcher.fetch(feed_server.url("/rss2.xml"))

    assert result == FetchResult(
        status="ok",
        body=fixture("rss2.xml"),
        etag=feed_server.etag("/rss2.xml"),
        last_modified=feed_server.last_modified("/rss2.xml"),
        final_url=feed_server.url("/rss2.xml"),
    )
    [request] = feed_server.requests_to("/rss2.xml")
    assert request.headers["user-agent"] == "aseanbot/0.1 (+https://github.com/aseanbot)"
    assert "gzip" in request.headers["accept-encoding"]
    assert "if-none-match" not in request.headers
    assert "if-modified-since" not in request.headers


async def test_an_unchanged_feed_answers_304_to_the_validators_of_the_last_fetch(
    feed_server: FeedServer, fetcher: FeedFetcher
) -> None:
    first = await fetcher.fetch(feed_server.url("/conditional.xml"))
    assert first.status == "ok"
    assert first.etag
    assert first.last_modified

    second = await fetcher.fetch(
        feed_server.url("/conditional.xml"), etag=first.etag, last_modified=first.last_modified
    )

    assert second.status == "not_modified"
    assert second.body is None
    assert (second.etag, second.last_modified) == (first.etag, first.last_modified)
    request = feed_server.requests_to("/conditional.xml")[-1]
    assert request.headers["if-none-match"] == first.etag
    assert request.headers["if-modified-since"] == first.last_modified


async def test_if_modified_since_alone_is_enough_for_a_304(
    feed_server: FeedServer, fetcher: FeedFetcher
) -> None:
    modified = feed_server.last_modified("/conditional.xml")

    result = await fetcher.fetch(feed_server.url("/conditional.xml"), last_modified=modified)

    assert result.status == "not_modified"
    assert result.last_modified == modified
    assert "if-none-match" not in feed_server.requests_to("/conditional.xml")[-1].headers


async def test_a_feed_that_gained_an_entry_is_fetched_again_with_new_validators(
    feed_server: FeedServer, fetcher: FeedFetcher
) -> None:
    first = await fetcher.fetch(feed_server.url("/conditional.xml"))
    grown = fixture("conditional.xml").replace(
        b"<item>",
        b"<item><title>Synthetic: new entry</title><link>https://example.org/new</link>"
        b"</item><item>",
        1,
    )
    feed_server.set_route("/conditional.xml", grown)

    second = await fetcher.fetch(
        feed_server.url("/conditional.xml"), etag=first.etag, last_modified=first.last_modified
    )

    assert second.status == "ok"
    assert second.body == grown
    assert second.etag not in (None, first.etag)
    assert second.last_modified not in (None, first.last_modified)


async def test_a_gzip_encoded_feed_is_decoded(
    feed_server: FeedServer, fetcher: FeedFetcher
) -> None:
    result = await fetcher.fetch(feed_server.url("/gzip.xml"))

    assert result.status == "ok"
    assert result.body == fixture("rss2.xml")
    # The server compresses only when asked: it was asked, so the body was decoded here.
    assert "gzip" in feed_server.requests_to("/gzip.xml")[0].headers["accept-encoding"]


async def test_a_slow_server_times_out_and_the_fetch_fails_quickly(
    feed_server: FeedServer,
) -> None:
    async with FeedFetcher(timeout=0.2, per_host_interval=0.0) as fetcher:
        started = time.monotonic()
        result = await fetcher.fetch(feed_server.url("/slow.xml"))
        elapsed = time.monotonic() - started

    assert result == FetchResult(status="failed", error="timed out after 0.2 s")
    assert elapsed < 1.0


@pytest.mark.parametrize(("path", "error"), [("/notfound", "HTTP 404"), ("/error", "HTTP 500")])
async def test_an_http_error_status_fails_with_its_code(
    feed_server: FeedServer, fetcher: FeedFetcher, path: str, error: str
) -> None:
    result = await fetcher.fetch(feed_server.url(path))

    assert result == FetchResult(status="failed", error=error)


async def test_a_body_past_the_cap_fails_and_the_rest_is_never_read(
    feed_server: FeedServer, fetcher: FeedFetcher
) -> None:
    result = await fetcher.fetch(feed_server.url("/huge.xml"))

    assert result == FetchResult(status="failed", error="response larger than 256 KiB")
    assert "content-length" not in feed_server.requests_to("/huge.xml")[0].headers
    assert not feed_server.huge_completed
    assert feed_server.huge_bytes_sent < feed_server.huge_size


async def test_a_declared_length_past_the_cap_is_refused_before_reading(
    feed_server: FeedServer, fetcher: FeedFetcher
) -> None:
    result = await fetcher.fetch(feed_server.url("/huge-declared.xml"))

    assert result == FetchResult(status="failed", error="response larger than 256 KiB")
    assert not feed_server.huge_completed


async def test_a_gzip_body_that_decodes_past_the_cap_fails(
    feed_server: FeedServer, fetcher: FeedFetcher
) -> None:
    result = await fetcher.fetch(feed_server.url("/gzip-bomb.xml"))

    assert result == FetchResult(status="failed", error="response larger than 256 KiB")


class _CountingBody(httpx.AsyncByteStream):
    """A 4 MiB body in 64 KiB chunks that records how many chunks the client pulled."""

    def __init__(self, chunks_read: list[int]) -> None:
        self.chunks_read = chunks_read

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for index in range(64):
            self.chunks_read.append(index)
            yield b"x" * 65536


def _counting_transport(chunks_read: list[int], *, declare_length: bool) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        headers = {"Content-Length": str(64 * 65536)} if declare_length else {}
        return httpx.Response(200, headers=headers, stream=_CountingBody(chunks_read))

    return httpx.MockTransport(answer)


@pytest.mark.parametrize(("declare_length", "most_chunks"), [(True, 0), (False, 5)])
async def test_the_cap_stops_reading_early(declare_length: bool, most_chunks: int) -> None:
    chunks_read: list[int] = []
    transport = _counting_transport(chunks_read, declare_length=declare_length)
    async with FeedFetcher(max_bytes=CAP, per_host_interval=0.0, transport=transport) as fetcher:
        result = await fetcher.fetch("https://feeds.example.org/synthetic.xml")

    assert result.status == "failed"
    assert result.error == "response larger than 256 KiB"
    assert len(chunks_read) <= most_chunks  # 256 KiB is four chunks; the fifth passes it


async def test_a_redirect_to_itself_fails_without_going_round(
    feed_server: FeedServer, fetcher: FeedFetcher
) -> None:
    result = await fetcher.fetch(feed_server.url("/redirect-loop"))

    assert result == FetchResult(status="failed", error="redirect loop")
    assert len(feed_server.requests_to("/redirect-loop")) == 1


async def test_one_redirect_is_followed_and_the_final_url_reported(
    feed_server: FeedServer, fetcher: FeedFetcher
) -> None:
    result = await fetcher.fetch(feed_server.url("/redirect-once"))

    assert result.status == "ok"
    assert result.body == fixture("rss2.xml")
    assert result.final_url == feed_server.url("/rss2.xml")


@pytest.mark.parametrize(
    ("hops", "status", "error"),
    [(5, "ok", None), (6, "failed", "too many redirects (more than 5)")],
)
async def test_redirect_chains_are_followed_up_to_max_redirects(
    feed_server: FeedServer, fetcher: FeedFetcher, hops: int, status: str, error: str | None
) -> None:
    result = await fetcher.fetch(feed_server.url(f"/redirect-chain?n={hops}"))

    assert (result.status, result.error) == (status, error)
    assert len(feed_server.requests_to("/redirect-chain")) == min(hops, 6)


async def test_a_redirect_away_from_http_is_refused(
    feed_server: FeedServer, fetcher: FeedFetcher
) -> None:
    result = await fetcher.fetch(feed_server.url("/redirect-ftp"))

    assert result.status == "failed"
    assert result.error == "redirect to an unsupported URL scheme 'ftp'"


@pytest.mark.parametrize(
    ("url", "error_start"),
    [
        ("ftp://example.org/synthetic.xml", "unsupported URL scheme 'ftp'"),
        ("file:///etc/passwd", "unsupported URL scheme 'file'"),
        ("javascript:alert(1)", "unsupported URL scheme 'javascript'"),
        ("example.org/synthetic.xml", "unsupported URL scheme '(none)'"),
        ("http:///no-host.xml", "invalid URL"),
    ],
)
async def test_only_http_and_https_urls_are_fetched(
    feed_server: FeedServer, fetcher: FeedFetcher, url: str, error_start: str
) -> None:
    result = await fetcher.fetch(url)

    assert result.status == "failed"
    assert result.error is not None
    assert result.error.startswith(error_start)
    assert feed_server.requests == []


async def test_a_refused_connection_fails_without_raising(fetcher: FeedFetcher) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago and has no listener
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    result = await fetcher.fetch(f"http://127.0.0.1:{port}/rss2.xml")

    assert result.status == "failed"
    assert result.error is not None
    assert result.error.startswith("connection failed")


async def test_requests_to_one_host_are_spaced_but_other_hosts_do_not_wait(
    feed_server: FeedServer,
) -> None:
    interval = 0.4
    async with FeedFetcher(per_host_interval=interval) as fetcher:
        results = await asyncio.gather(
            fetcher.fetch(feed_server.url("/rss2.xml")),
            fetcher.fetch(feed_server.url("/atom.xml")),
            fetcher.fetch(feed_server.url("/rss1.rdf", host="localhost")),
        )

    assert [r.status for r in results] == ["ok", "ok", "ok"]
    by_host: dict[str, list[float]] = {}
    for request in feed_server.requests:
        by_host.setdefault(request.headers["host"].split(":")[0], []).append(request.at)
    first, second = sorted(by_host["127.0.0.1"])
    [other] = by_host["localhost"]
    # Arrival times, not start times: allow for the first request's connection set-up.
    assert second - first >= interval - 0.05
    assert abs(other - first) < interval / 2


async def test_requests_to_one_host_never_overlap(feed_server: FeedServer) -> None:
    feed_server.slow_delay = 0.3
    async with FeedFetcher(timeout=2.0, per_host_interval=0.0) as fetcher:
        started = time.monotonic()
        results = await asyncio.gather(
            fetcher.fetch(feed_server.url("/slow.xml")),
            fetcher.fetch(feed_server.url("/slow.xml")),
        )
        elapsed = time.monotonic() - started

    assert [r.status for r in results] == ["ok", "ok"]
    first, second = (r.at for r in feed_server.requests_to("/slow.xml"))
    assert second - first >= 0.3 - 0.02  # the second began when the first had its answer
    assert elapsed >= 0.6 - 0.02
