"""Every user-facing string, behind one translation function.

Templates are Telegram HTML. Arguments are escaped on the way in unless they are `Html`
(already-formatted markup), so a caller cannot forget to escape a dynamic value.
Only English exists for now; a later language adds a catalog and passes `lang`.
"""

from __future__ import annotations

from aseanbot.formatting.html import Html, escape

DEFAULT_LANGUAGE = "en"

_EN: dict[str, str] = {
    # --- start and help -------------------------------------------------------------------
    "start.welcome": (
        "👋 <b>Welcome to aseanbot</b>, {name}.\n\n"
        "I keep you up to date on ASEAN regional affairs: ministerial meetings, summits, "
        "dialogues with partners, declarations and initiatives — digital economy, "
        "cybersecurity, AI governance, trade, connectivity and more.\n\n"
        "Every item I show links to its source.\n\n"
        "Try /latest, /topics or <code>/search Bangkok declaration</code> — "
        "or just send me a few words."
    ),
    "start.unknown_payload": "That link points to something I don't have. Here is what I can do:",
    "help.title": "<b>What I can do</b>",
    "help.body": (
        "/latest — the newest items · <code>/latest 10</code>\n"
        "/events — events, filtered by topic, country, partner or year · "
        "<code>/events digital-economy</code>, <code>/events Thailand 2025</code>\n"
        "/initiatives — declarations, plans and agreements · <code>/initiatives trade</code>\n"
        "/event — one event in full · <code>/event 5th-adgmin-bangkok-2025</code>\n"
        "/initiative — one initiative in full · "
        "<code>/initiative asean-digital-masterplan-2030</code>\n"
        "/search — search everything · <code>/search Bangkok declaration</code>\n"
        "/topics — topics with item counts\n"
        "/countries — member states with item counts\n"
        "/about — what I am and where my data comes from\n"
        "/help — this message\n\n"
        "In a private chat, any text you send is a search. "
        "In any chat, type <code>@{bot} words</code> to share an item."
    ),
    "help.pointer": "I don't know {command}. Send /help to see what I can do.",
    # --- the command menu (setMyCommands) ---------------------------------------------------
    "command.latest": "Newest items",
    "command.events": "Events, by topic, country, partner or year",
    "command.initiatives": "Declarations, plans and agreements",
    "command.search": "Search everything",
    "command.topics": "Topics with item counts",
    "command.countries": "Member states with item counts",
    "command.event": "One event in full",
    "command.initiative": "One initiative in full",
    "command.about": "What this bot is, and its sources",
    "command.help": "Every command with an example",
    # --- buttons --------------------------------------------------------------------------
    "button.latest": "🆕 Latest",
    "button.topics": "🏷 Topics",
    "button.countries": "🌏 Countries",
    "button.events": "📅 Events",
    "button.initiatives": "📜 Initiatives",
    "button.help": "❓ Help",
    "button.prev": "◀ Prev",
    "button.next": "Next ▶",
    "button.source": "🔗 Source",
    "button.share": "↗ Share",
    "button.more_topic": "More on {topic}",
    "button.open": "{number}",
    # --- lists ----------------------------------------------------------------------------
    "latest.title": "🆕 <b>Latest {count}</b>",
    "latest.bad_count": (
        "/latest takes a number from 1 to {max}, e.g. <code>/latest 10</code>. "
        "“{value}” is not one."
    ),
    "list.title.event": "📅 <b>Events</b>",
    "list.title.initiative": "📜 <b>Initiatives</b>",
    "list.title.any": "🗂 <b>Items</b>",
    "list.filtered": "{title} · {filters}",
    "list.page": "{first}–{last} of {total} · page {page}/{pages}",
    "list.empty": "Nothing matches {filters} yet. Try /topics or /countries to see what I have.",
    "list.empty_store": (
        "I have no items yet. An operator can load them with "
        "<code>python bot.py import data/</code>."
    ),
    "list.open_hint": "Tap a number to open an item.",
    "filter.unknown": (
        "I don't know “{word}” as a filter. Use a topic (/topics), a country code or name "
        "(/countries), a partner such as Japan or EU, or a year such as 2025."
    ),
    "filter.too_many": "Use at most one {kind} in a filter; “{word}” is a second one.",
    "filter.kind.topic": "topic",
    "filter.kind.country": "country",
    "filter.kind.partner": "partner",
    "filter.kind.year": "year",
    "filter.year_range": "I only know years from {first} to {last}; “{word}” is outside that.",
    # --- item cards -----------------------------------------------------------------------
    "kind.event": "Event",
    "kind.initiative": "Initiative",
    "card.usage": (
        "Send the id of the {kind} you want, e.g. <code>/{command} {example}</code>. "
        "Ids are shown in every list."
    ),
    "card.not_found": "I have no {kind} with the id <code>{id}</code>.",
    "card.not_found_suggest": "Did you mean one of these?",
    "card.not_found_none": "Try /search with a few words from its title.",
    "card.is_other_kind": "<code>{id}</code> is an {actual}, not an {wanted}; here it is anyway.",
    "card.date": "📅 {date}",
    "card.location": "📍 {location}",
    "card.countries": "🌏 {countries}",
    "card.partners": "🤝 With {partners}",
    "card.topics": "🏷 {topics}",
    "card.key_focus": "<b>Key focus:</b> {text}",
    "card.outcome": "<b>Outcome:</b> {text}",
    "card.people": "<b>People</b>",
    "card.sources": "<b>Sources</b>",
    "card.related": "<b>Related</b>",
    "card.updated": "<i>Added {added} · updated {updated}</i>",
    "card.added": "<i>Added {added}</i>",
    # --- topics, countries ----------------------------------------------------------------
    "topics.title": "🏷 <b>Topics</b> — tap one to see its items",
    "topics.line": "<b>{name}</b> · {count} · <code>/events {slug}</code>\n<i>{description}</i>",
    "countries.title": "🌏 <b>Countries</b> — tap one to see its items",
    "countries.line": "<b>{name}</b> ({code}) · {count}",
    "count.item.one": "1 item",
    "count.item.many": "{count} items",
    "count.result.one": "1 result",
    "count.result.many": "{count} results",
    # --- search ---------------------------------------------------------------------------
    "search.usage": (
        "Send a few words to search, e.g. <code>/search Bangkok declaration</code>. "
        "In a private chat you can just send the words."
    ),
    "search.no_words": (
        "I found no words to search for in that. Try letters or numbers, "
        "e.g. <code>/search AI safety</code>."
    ),
    "search.none": "Nothing found for {query}. Try fewer or different words, or browse /topics.",
    "search.title": "🔎 <b>{count}</b> for {query}",
    "search.any_word": "<i>No item has all these words; showing items with any of them.</i>",
    "search.page": "{first}–{last} of {total}",
    "search.refine": "<i>Showing the first {shown}. Add words to narrow it down.</i>",
    # --- about ----------------------------------------------------------------------------
    "about.body": (
        "ℹ️ <b>About aseanbot</b>\n\n"
        "An open-source bot that follows ASEAN regional affairs: meetings, summits, "
        "partner dialogues, declarations and initiatives.\n\n"
        "<b>Data</b>: {items} items ({events} events, {initiatives} initiatives) "
        "resting on {sources} source pages. Every item links to its sources; "
        "facts the sources did not state are left out.\n"
        "<b>Last update</b>: {updated}\n"
        "<b>Version</b>: {version}"
    ),
    "about.never": "never",
    # --- inline mode ----------------------------------------------------------------------
    "inline.description": "{date}{summary}",
    "inline.nothing_title": "Nothing found for “{query}”",
    "inline.nothing_text": "Nothing found for “{query}” in aseanbot.",
    # --- console mode (plain text, shown in a terminal) -----------------------------------
    "console.intro": (
        "aseanbot console — type a command (/help, /latest, /events trade) or words to search.\n"
        "Pick a button by its number. Type quit or press Ctrl-D to leave."
    ),
    "console.prompt": "you › ",
    "console.no_button": "no button [{number}] here: pick 1–{last}",
    "console.no_buttons": "the last message has no buttons: type a command or words",
    "console.opens_url": "opens {url} in a browser",
    "console.share": "in Telegram this shares the item in a chat you pick, via @{bot} {query}",
    # --- callbacks and errors ---------------------------------------------------------------
    "callback.stale": "This button is out of date. Send the command again.",
    "callback.gone": "That item is no longer available.",
    "error.internal": "Sorry, something went wrong on my side. Please try again in a moment.",
}

_CATALOGS = {DEFAULT_LANGUAGE: _EN}


def t(key: str, lang: str = DEFAULT_LANGUAGE, /, **params: object) -> str:
    """Return the message `key` in `lang`, with every non-Html parameter HTML-escaped."""
    catalog = _CATALOGS.get(lang, _EN)
    template = catalog.get(key) or _EN[key]
    if not params:
        return template
    return template.format(**{name: escape(value) for name, value in params.items()})


def t_plain(key: str, lang: str = DEFAULT_LANGUAGE, /, **params: object) -> str:
    """Like t(), for plain-text places (button labels, inline titles): nothing is escaped."""
    catalog = _CATALOGS.get(lang, _EN)
    template = catalog.get(key) or _EN[key]
    return template.format(**params) if params else template


def plural(count: int, noun: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """'1 item' or 'N items' (noun "item" or "result") in `lang`."""
    if count == 1:
        return t(f"count.{noun}.one", lang)
    return t(f"count.{noun}.many", lang, count=count)


__all__ = ["DEFAULT_LANGUAGE", "Html", "plural", "t", "t_plain"]
