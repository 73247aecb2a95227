"""parse_feed and html_to_text: each feed format to clean entries, HTML to plain text."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aseanbot.feeds.parse import (
    SUMMARY_LIMIT,
    FeedEntry,
    FeedParseError,
    html_to_text,
    parse_feed,
)
from tests.feed_server import fixture

BASE = "https://feeds.example.net/synthetic/feed.xml"


def test_rss2_entries_are_clean_absolute_and_dated_in_utc() -> None:
    entries = parse_feed(fixture("rss2.xml"), base_url=BASE)

    assert entries == (
        FeedEntry(
            title="Synthetic: Thai ministry hosts digital economy workshop in Bangkok",
            link="https://example.org/news/thai-digital-economy-workshop",
            guid="synthetic-rss2-0001",
            summary=(
                "Synthetic entry: officials & partners met in Bangkok to discuss e-commerce "
                "rules. Second paragraph with “quoted” text."
            ),
            published=dt.date(2024, 1, 1),  # 01:30 at +08:00 is still 1 January in UTC
        ),
        FeedEntry(
            title="Synthetic: Hanoi cybersecurity drill with Japanese experts",
            link="https://example.org/news/hanoi-cybersecurity-drill",  # the permalink guid
            guid="https://example.org/news/hanoi-cybersecurity-drill",
            summary=(
                "Synthetic entry: a made-up drill in Hanoi, Viet Nam, with partners from Tokyo."
            ),
            published=dt.date(2024, 1, 10),
        ),
        FeedEntry(
            title="Synthetic: Singapore and Malaysia test cross-border e-commerce rules",
            link="https://example.org/news/sg-my-e-commerce-sandbox",
            guid="synthetic-rss2-0003",
            summary="Synthetic heading Synthetic point one Synthetic point two",  # content:encoded
            published=None,
        ),
        FeedEntry(
            title="",
            link="https://example.org/news/untitled-synthetic-note",
            guid="synthetic-rss2-0004",
            summary="Synthetic entry with a summary but no title, about ASEAN trade ministers.",
            published=None,
        ),
        # synthetic-rss2-0005 has neither title nor summary: dropped.
        FeedEntry(
            title="Synthetic: Manila data centre opens without a link",
            link=None,  # its guid "synthetic-rss2-0006-not-a-url" is no permalink
            guid="synthetic-rss2-0006-not-a-url",
            summary="Synthetic entry whose guid is no URL, so it has no link.",
            published=None,
        ),
    )


def test_atom_entries_take_the_alternate_link_and_the_published_date() -> None:
    entries = parse_feed(fixture("atom.xml"), base_url="https://example.com/feeds/atom.xml")

    assert entries == (
        FeedEntry(
            title=(
                "Synthetic: Jakarta hosts ASEAN AI governance dialogue with EU partners & experts"
            ),
            link="https://example.com/wire/jakarta-ai-governance-dialogue",
            guid="urn:uuid:6c0d5e4e-0000-4000-8000-000000000001",
            summary="Synthetic entry: delegates in Jakarta compared AI guides.",
            published=dt.date(2024, 2, 4),  # 23:30 at -05:00 is the 4th in UTC
        ),
        FeedEntry(
            title="Synthetic: Philippine regulators and US agency sign data privacy note in Manila",
            link="https://example.com/wire/manila-data-privacy-note",  # relative href resolved
            guid="urn:uuid:6c0d5e4e-0000-4000-8000-000000000002",
            summary=(
                "Synthetic entry: the Philippines and a Washington agency agreed on nothing "
                "real. Tab and newline spacing."
            ),
            published=dt.date(2024, 2, 1),  # from <updated>: no <published>
        ),
    )


def test_rss1_entries_are_dated_from_dc_date() -> None:
    entries = parse_feed(fixture("rss1.rdf"), base_url="https://example.org/rdf/feed.rdf")

    assert entries == (
        FeedEntry(
            title="Synthetic: Vientiane workshop on rural broadband for Lao provinces",
            link="https://example.org/rdf/vientiane-rural-broadband",
            guid="https://example.org/rdf/vientiane-rural-broadband",
            summary="Synthetic entry: Lao officials & a Korean partner talked broadband.",
            published=dt.date(2024, 3, 4),  # 02:00 at +07:00
        ),
        FeedEntry(
            title="Synthetic: Phnom Penh fintech sandbox opens to Cambodian startups",
            link="https://example.org/rdf/phnom-penh-fintech-sandbox",
            guid="https://example.org/rdf/phnom-penh-fintech-sandbox",
            summary="Synthetic entry: a made-up sandbox in Cambodia.",
            published=dt.date(2024, 3, 6),
        ),
    )


def test_relative_links_resolve_against_the_feed_url_and_script_links_are_dropped() -> None:
    entries = parse_feed(fixture("relative.xml"), base_url=BASE)

    assert [(e.guid, e.link) for e in entries] == [
        ("synthetic-rel-1", "https://feeds.example.net/news/brunei-smart-grid"),
        ("synthetic-rel-2", "https://feeds.example.net/synthetic/items/yangon-port?id=3&lang=en"),
        ("synthetic-rel-3", None),
    ]


def test_guids_are_kept_as_written_not_resolved_against_the_feed_url() -> None:
    """feedparser would turn guid "42" into a URL under the feed's; that changes with the URL."""
    body = _rss("<item><title>Synthetic item</title><guid isPermaLink='false'>42</guid></item>")

    [entry] = parse_feed(body, base_url=BASE)

    assert entry.guid == "42"


def test_an_html_summary_becomes_plain_text_without_scripts_or_entities() -> None:
    description = (
        "<![CDATA[<h1>Synthetic</h1><p>A&amp;B &lt;tag&gt; &eacute;t&eacute;</p>"
        "<script>document.write('evil')</script><style>.x{color:red}</style>"
        "<noscript>enable js</noscript><p>Last</p>]]>"
    )
    body = _rss(f"<item><title>Synthetic</title><description>{description}</description></item>")

    [entry] = parse_feed(body, base_url=BASE)

    assert entry.summary == "Synthetic A&B <tag> été Last"


def test_a_long_summary_is_cut_at_a_word_boundary_with_an_ellipsis() -> None:
    words = " ".join(f"synthetic{n:04d}" for n in range(300))  # 14 characters a word
    body = _rss(f"<item><title>Synthetic</title><description>{words}</description></item>")

    [entry] = parse_feed(body, base_url=BASE)

    assert len(entry.summary) <= SUMMARY_LIMIT
    assert len(entry.summary) > SUMMARY_LIMIT - 20
    assert entry.summary.endswith("…")
    assert words.startswith(entry.summary.removesuffix("…"))
    assert words[len(entry.summary) - 1] == " "  # the cut fell between two words


def test_an_html_title_becomes_one_line_of_text() -> None:
    body = _rss(
        "<item><title>Synthetic:\n  <b>bold</b>   &amp;\ttitle</title>"
        "<link>https://example.org/x</link></item>"
    )

    [entry] = parse_feed(body, base_url=BASE)

    assert entry.title == "Synthetic: bold & title"


def test_an_empty_feed_has_no_entries() -> None:
    assert parse_feed(_rss(""), base_url=BASE) == ()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (fixture("malformed.xml"), "not well-formed XML"),
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"<!DOCTYPE html><html><head><title>Synthetic page</title></head></html>", "no RSS"),
        (b'<?xml version="1.0"?><catalog><book>Synthetic</book></catalog>', "no RSS"),
        (b"\x89PNG\r\n\x1a\n\x00\x00synthetic", "not well-formed XML"),
    ],
)
def test_a_document_that_is_not_a_feed_raises_feed_parse_error(body: bytes, reason: str) -> None:
    with pytest.raises(FeedParseError, match=reason):
        parse_feed(body, base_url=BASE)


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>One</p><p>Two</p>", "One\nTwo"),
        ("a<br>b<br/>c", "a\nb\nc"),
        ("<ul><li>x</li><li>y</li></ul>", "x\ny"),
        ("<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\nc"),
        ("<b>bo</b><i>ld</i>", "bold"),  # inline tags join, as the reader sees them
        ("Fish &amp; chips &#8212; &#x41; &nbsp;x", "Fish & chips — A x"),
        ("<script>alert(1)</script>seen<style>p{}</style>", "seen"),
        ("<script>never closed <p>hidden", ""),
        ("<div><svg><text>drawn</text></svg>kept</div>", "kept"),
        ("a<!-- comment -->b", "ab"),
        ("1 < 2 and 3 > 2", "1 < 2 and 3 > 2"),
        ("  spaced \n\n\n  out  ", "spaced out"),
        ("<p>  spaced </p>\n\n<p>\n  out  </p>", "spaced\nout"),
        ("zero\u200bwidth soft\xadhyphen", "zerowidth softhyphen"),
        ("", ""),
    ],
)
def test_html_to_text(html: str, text: str) -> None:
    assert html_to_text(html) == text


@given(st.text(alphabet=st.characters(blacklist_characters="<&\u200b\u200c\ufeff\xad")))
def test_text_without_markup_only_has_its_spacing_collapsed(text: str) -> None:
    """As in a browser, line breaks in the source are spaces; only elements break lines."""
    assert html_to_text(text) == " ".join(text.split())


@given(st.text())
def test_html_to_text_never_raises_and_leaves_no_blank_or_padded_lines(html: str) -> None:
    for line in html_to_text(html).split("\n"):
        assert line == " ".join(line.split())


def _rss(items: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Synthetic feed</title><link>https://example.org/</link>{items}</channel></rss>"
    ).encode()
