"""Canonical forms of links and titles, and the keys that dedupe one story across feeds.

Two feeds (or two runs of one feed) often carry the same story under different guids, with
links that differ only in tracking parameters, `www.`, scheme or a trailing slash, and titles
that differ only in case or punctuation. These pure functions map such variants to one form.
"""

from __future__ import annotations

import contextlib
import re
import string
import unicodedata
from urllib.parse import quote, unquote_plus, urlsplit

# Query parameters that only say how a reader arrived, never which page they asked for.
_TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "ref",
        "ref_src",
        "ref_url",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "__hstc",
        "__hssc",
        "__hsfp",
        "mkt_tok",
        "li_fat_id",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "wickedid",
        "s_cid",
        "cmpid",
        "ncid",
        "sr_share",
    }
)
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hsa_")

_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
_PATH_SAFE = frozenset("/!$&'()*+,;=:@")
# Inside one query pair '&' is already split off; '=' may appear in a value.
_QUERY_SAFE = frozenset("!$'()*+,;=:@/?")
_HEX = frozenset(string.hexdigits)
_DEFAULT_PORTS = (80, 443)

# A title with fewer words than this ("Press release", "Weekly update") names no one story.
MIN_TITLE_KEY_WORDS = 4

# Letters NFKD does not split into a base letter and an accent.
_LETTER_FOLDS = str.maketrans(
    {"đ": "d", "ð": "d", "ø": "o", "ł": "l", "æ": "ae", "œ": "oe", "ı": "i"}
)
_APOSTROPHES = re.compile(r"['’ʼ‘`´]")


def canonical_url(url: str) -> str:
    """Return the form of `url` that two links to the same page share.

    http and https count as one (the result says https); the host is lower-cased without
    `www.`, a default port, user info or fragment; tracking parameters are dropped and the
    rest sorted; percent-escapes are normalised and a trailing slash dropped (except the
    root "/"). Anything that is not an http(s) URL comes back stripped, unchanged.
    """
    stripped = url.strip()
    try:
        return _canonical_url(stripped)
    except (ValueError, UnicodeError):
        return stripped


def _canonical_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https", "") or not parts.netloc:
        return url
    host = _canonical_host(parts.hostname or "")
    if not host:
        return url
    port = parts.port  # raises ValueError for a port that is not a number in range
    netloc = host if port is None or port in _DEFAULT_PORTS else f"{host}:{port}"
    path = _remove_dot_segments(_normalize_escapes(parts.path, _PATH_SAFE)).rstrip("/") or "/"
    query = _canonical_query(parts.query)
    return f"https://{netloc}{path}{'?' + query if query else ''}"


def _canonical_host(hostname: str) -> str:
    host = hostname.lower().rstrip(".")
    if ":" in host:  # an IPv6 literal; urlsplit took its brackets off
        return f"[{host}]"
    # One spelling for internationalised names: the ASCII (punycode) one.
    with contextlib.suppress(UnicodeError):
        host = host.encode("idna").decode("ascii")
    return host.removeprefix("www.")


def _canonical_query(query: str) -> str:
    pairs: list[str] = []
    for pair in query.split("&"):
        if not pair:
            continue
        name = pair.split("=", 1)[0]
        if _is_tracking(unquote_plus(name).strip().lower()):
            continue
        pairs.append(_normalize_escapes(pair, _QUERY_SAFE))
    return "&".join(sorted(pairs))


def _is_tracking(name: str) -> bool:
    return name in _TRACKING_PARAMS or name.startswith(_TRACKING_PREFIXES)


def _normalize_escapes(text: str, safe: frozenset[str]) -> str:
    """Decode escapes of unreserved characters, upper-case the rest, escape what needs it."""
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        digits = text[i + 1 : i + 3]
        if char == "%" and len(digits) == 2 and set(digits) <= _HEX:
            decoded = chr(int(digits, 16))
            out.append(decoded if decoded in _UNRESERVED else f"%{digits.upper()}")
            i += 3
            continue
        if char in _UNRESERVED or char in safe:
            out.append(char)
        else:
            out.append(quote(char, safe=""))  # UTF-8 escapes; a lone '%' becomes %25
        i += 1
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    """Resolve '.' and '..' segments as RFC 3986 (section 5.2.4) says."""
    if "." not in path or not path.startswith("/"):
        return path
    segments: list[str] = []
    for segment in path.split("/")[1:]:
        if segment == "..":
            if segments:
                segments.pop()
        elif segment != ".":
            segments.append(segment)
    trailing = "/" if path.endswith(("/.", "/..")) else ""
    return "/" + "/".join(segments) + trailing


def normalized_title(title: str) -> str:
    """Return `title` compared loosely: case, accents, punctuation and spacing ignored.

    "ASEAN: Ministers Meet!" and "asean ministers meet" give the same result. Accents are
    taken off Latin letters only: Thai, Lao, Khmer or Myanmar vowel and tone marks are
    letters' parts there, not decoration.
    """
    text = unicodedata.normalize("NFKC", title).casefold().translate(_LETTER_FOLDS)
    text = _APOSTROPHES.sub("", text)
    kept: list[str] = []
    latin_base = False
    for char in unicodedata.normalize("NFKD", text):
        category = unicodedata.category(char)
        if category.startswith("M"):
            if not latin_base:
                kept.append(char)
            continue
        latin_base = ord(char) < 0x0370  # Basic Latin up to the IPA and spacing modifiers
        kept.append(" " if category[0] in "PSZC" else char)
    return " ".join(unicodedata.normalize("NFC", "".join(kept)).split())


def dedupe_keys(*, guid: str | None, link: str | None, title: str) -> tuple[str, ...]:
    """Return the keys under which one story is known: guid, canonical link, loose title.

    Absent parts give no key, and neither does a title of fewer than four words once
    normalised (too generic to tell stories apart).
    """
    keys: list[str] = []
    if guid and guid.strip():
        keys.append(f"guid:{guid.strip()}")
    if link and link.strip():
        keys.append(f"url:{canonical_url(link)}")
    words = normalized_title(title)
    if len(words.split()) >= MIN_TITLE_KEY_WORDS:
        keys.append(f"title:{words}")
    return tuple(keys)
