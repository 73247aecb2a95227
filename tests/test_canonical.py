"""canonical_url, normalized_title and dedupe_keys: one story, one key, across feeds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aseanbot.feeds.canonical import canonical_url, dedupe_keys, normalized_title
from aseanbot.feeds.parse import parse_feed
from tests.feed_server import fixture


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("https://example.org/news/a", "https://example.org/news/a"),
        ("http://example.org/news/a", "https://example.org/news/a"),
        ("HTTPS://WWW.Example.ORG/News/a", "https://example.org/News/a"),  # path keeps case
        ("https://example.org:443/a", "https://example.org/a"),
        ("http://example.org:80/a", "https://example.org/a"),
        ("http://example.org:8080/a", "https://example.org:8080/a"),
        ("https://example.org/a#comments", "https://example.org/a"),
        ("https://example.org/a/", "https://example.org/a"),
        ("https://example.org/", "https://example.org/"),
        ("https://example.org", "https://example.org/"),
        ("https://example.org/a?", "https://example.org/a"),
        ("https://example.org/a?b=2&a=1", "https://example.org/a?a=1&b=2"),
        (
            "https://example.org/a?utm_source=rss&utm_medium=feed&id=7&fbclid=X&gclid=Y",
            "https://example.org/a?id=7",
        ),
        (
            "https://example.org/a?mc_cid=1&mc_eid=2&igshid=3&ref=4&ref_src=5&_ga=6&UTM_Term=7",
            "https://example.org/a",
        ),
        ("https://example.org/a?reference=4", "https://example.org/a?reference=4"),
        ("https://example.org/%7euser/%e2%82%ac", "https://example.org/~user/%E2%82%AC"),
        ("https://example.org/a%2fb", "https://example.org/a%2Fb"),  # an escaped / stays one
        ("https://example.org/caf\u00e9 menu", "https://example.org/caf%C3%A9%20menu"),
        ("https://example.org/a/./b/../c", "https://example.org/a/c"),
        ("https://user:secret@example.org/a", "https://example.org/a"),
        ("https://EXAMPLE.org./a", "https://example.org/a"),
        ("http://b\u00fccher.example/", "https://xn--bcher-kva.example/"),
        ("http://[::1]:8080/x/", "https://[::1]:8080/x"),
        ("//example.org/a", "https://example.org/a"),
        ("  https://example.org/a  ", "https://example.org/a"),
        ("https://wwwexample.org/a", "https://wwwexample.org/a"),  # only "www." goes
    ],
)
def test_canonical_url(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


@pytest.mark.parametrize(
    "url",
    ["", "  ", "not a url", "mailto:press@example.org", "ftp://example.org/a", "http://[::1"],
)
def test_what_is_no_web_url_comes_back_stripped(url: str) -> None:
    assert canonical_url(f" {url} ") == url.strip()


@given(st.text())
def test_canonical_url_never_raises(url: str) -> None:
    assert isinstance(canonical_url(url), str)


_URL_PART = st.text(alphabet="abcAB01-._~%/?&=#:+ é", max_size=20)


@given(
    scheme=st.sampled_from(["http", "https", "HTTP"]),
    host=st.sampled_from(["example.org", "www.Example.org", "example.org:8443"]),
    rest=_URL_PART,
)
def test_canonical_url_is_idempotent(scheme: str, host: str, rest: str) -> None:
    once = canonical_url(f"{scheme}://{host}/{rest}")

    assert canonical_url(once) == once


@pytest.mark.parametrize(
    ("title", "normalized"),
    [
        ("ASEAN: Ministers Meet!", "asean ministers meet"),
        ("asean ministers meet", "asean ministers meet"),
        ("  ASEAN —  ministers’ meet…  ", "asean ministers meet"),
        ("Cybersecurity drill in Hà Nội", "cybersecurity drill in ha noi"),
        ("Đà Nẵng port", "da nang port"),
        ("Ｆｕｌｌｗｉｄｔｈ ＡＳＥＡＮ", "fullwidth asean"),  # NFKC
        ("e-commerce & trade", "e commerce trade"),
        ("STRASSE Straße", "strasse strasse"),  # casefold, not lower
        ("ประชุม อาเซียน", "ประชุม อาเซียน"),  # Thai tone and vowel marks are kept
        ("", ""),
    ],
)
def test_normalized_title(title: str, normalized: str) -> None:
    assert normalized_title(title) == normalized


@pytest.mark.parametrize(
    ("guid", "link", "title", "keys"),
    [
        (
            "g-1",
            "http://www.example.org/a/?utm_source=x",
            "ASEAN: Ministers Meet in Jakarta!",
            (
                "guid:g-1",
                "url:https://example.org/a",
                "title:asean ministers meet in jakarta",
            ),
        ),
        (
            None,
            "https://example.org/a",
            "Synthetic story four words",
            ("url:https://example.org/a", "title:synthetic story four words"),
        ),
        (None, None, "Synthetic: three words", ()),  # too generic for a title key
        ("  ", "", "Press release", ()),  # blank parts give no key
        (
            " tag:example.org,2024:1 ",
            None,
            "",
            ("guid:tag:example.org,2024:1",),
        ),
    ],
)
def test_dedupe_keys(guid: str | None, link: str | None, title: str, keys: tuple[str, ...]) -> None:
    assert dedupe_keys(guid=guid, link=link, title=title) == keys


def test_the_same_story_in_two_feeds_shares_keys_and_the_others_share_none() -> None:
    feed_a = parse_feed(fixture("dup-a.xml"), base_url="https://www.example.com/feeds/a.xml")
    feed_b = parse_feed(fixture("dup-b.xml"), base_url="https://example.com/feeds/b.atom")
    keys_a = [set(dedupe_keys(guid=e.guid, link=e.link, title=e.title)) for e in feed_a]
    keys_b = [set(dedupe_keys(guid=e.guid, link=e.link, title=e.title)) for e in feed_b]

    shared_story_a, unique_a = keys_a
    shared_story_b, unique_b = keys_b
    assert shared_story_a & shared_story_b == {
        "url:https://example.com/news/synthetic-mekong-water-data-pact",
        "title:synthetic mekong countries agree water data pact with chinese partners",
    }
    assert not any(key.startswith("guid:") for key in shared_story_a & shared_story_b)
    everything_else = [shared_story_a, unique_a, shared_story_b, unique_b]
    for i, keys in enumerate(everything_else):
        for j, other in enumerate(everything_else):
            if i != j and {i, j} != {0, 2}:
                assert not keys & other, (i, j)
