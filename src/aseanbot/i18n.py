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
        "/subscribe — a digest of what is new, daily at 08:00 · "
        "<code>/subscribe trade ai-governance</code>\n"
        "/settings — topics, countries, time and zone of the digest\n"
        "/time — the digest's time of day · <code>/time 7:30am</code>\n"
        "/timezone — the digest's time zone · <code>/timezone Manila</code>, "
        "<code>/timezone UTC+7</code>\n"
        "/frequency — daily, weekly or off · <code>/frequency weekly friday</code>\n"
        "/digest — preview the next digest now\n"
        "/unsubscribe — stop the digest\n"
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
    "kind.update": "Update",
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
    # --- subscriptions and settings -------------------------------------------------------
    "command.subscribe": "Get a digest of what is new, daily or weekly",
    "command.digest": "Preview your next digest now",
    "command.settings": "Topics, countries, time and zone of your digest",
    "command.time": "Set the digest's time of day",
    "command.timezone": "Set the digest's time zone",
    "command.frequency": "Daily, weekly or off",
    "command.unsubscribe": "Stop the digest",
    "subscribe.new": "✅ <b>Subscribed.</b> This chat will get a digest of what is new.",
    "subscribe.updated": "✅ <b>Subscription updated.</b>",
    "subscribe.resumed": "✅ <b>Subscribed again.</b> Digests start again with these settings.",
    "subscribe.narrow_hint": (
        "Narrow it down with the buttons below, or change anything with /settings."
    ),
    "subscribe.unknown_topic": (
        "I don't know the topic “{word}”, so nothing was changed. Topics are: {slugs}.\n"
        "For example <code>/subscribe trade ai-governance</code>, or just /subscribe for all."
    ),
    "subscribe.unknown_link": "That subscribe link names a topic I don't have.",
    "subscribe.first": "This chat has no digest yet: subscribe first with /subscribe.",
    "unsubscribe.done": (
        "🔕 <b>Unsubscribed.</b> This chat gets no more digests. "
        "Its topics and schedule are kept in case you come back."
    ),
    "unsubscribe.not_subscribed": (
        "This chat is not subscribed, so there is nothing to stop. /subscribe starts a digest."
    ),
    "rights.admins_only": "Only this group's administrators can change its digest subscription.",
    "time.usage": (
        "Send the time of day for the digest, e.g. <code>/time 7:30am</code>, "
        "<code>/time 19:30</code> or <code>/time 7am</code>."
    ),
    "timezone.usage": (
        "Send a time zone: a city, a zone name or an offset, e.g. "
        "<code>/timezone Manila</code>, <code>/timezone Europe/Berlin</code> or "
        "<code>/timezone UTC+7</code>."
    ),
    "frequency.usage": (
        "Send how often: <code>/frequency daily</code>, <code>/frequency weekly monday</code> "
        "or <code>/frequency off</code>."
    ),
    "schedule.bad_time": (
        "I can't read “{value}” as a time of day. Try <code>/time 07:30</code>, "
        "<code>/time 7am</code> or <code>/time 7:30pm</code>."
    ),
    "schedule.bad_timezone": "I don't know the time zone “{value}”. Did you mean {suggestions}?",
    "schedule.bad_timezone_none": (
        "I don't know the time zone “{value}”. Try a city such as <code>Manila</code>, "
        "a zone such as <code>Asia/Bangkok</code> or an offset such as <code>UTC+7</code>."
    ),
    "schedule.bad_frequency": (
        "“{value}” is not a frequency. Use <code>/frequency daily</code>, "
        "<code>/frequency weekly monday</code> or <code>/frequency off</code>."
    ),
    "schedule.saved": "✅ <b>Schedule saved.</b>",
    "digest.preview_unsubscribed": (
        "<i>This chat is not subscribed: above is what is new in every topic over the last "
        "day.</i> Subscribe to get it regularly."
    ),
    "settings.title": "⚙️ <b>Digest settings</b>",
    "settings.not_subscribed": (
        "This chat has no digest. Subscribe to get what is new in every topic daily at 08:00 "
        "({zone}); then choose topics, countries, time and zone here."
    ),
    "settings.line.topics": "🏷 Topics: {topics}",
    "settings.line.countries": "🌏 Countries: {countries}",
    "settings.line.schedule": "🔁 {schedule}",
    "settings.line.zone": "🌐 Time zone: {zone}",
    "settings.next": "⏭ Next digest: {when}",
    "settings.next_none": "⏭ No digest is scheduled while the frequency is off.",
    "settings.next_stopped": "⏭ No digest: this chat is unsubscribed.",
    "settings.all_topics": "all topics",
    "settings.all_countries": "all member states",
    "settings.all_topics_button": "All topics",
    "settings.all_countries_button": "All member states",
    "settings.schedule.daily": "Daily at {time}",
    "settings.schedule.weekly": "Weekly on {weekday} at {time}",
    "settings.schedule.off": "Off: no digests until you choose daily or weekly",
    "settings.empty.on": "📭 When nothing is new: a short note says so.",
    "settings.empty.off": "📭 When nothing is new: no message.",
    "settings.inactive": "🔕 <b>Unsubscribed</b>: no digests are sent until you subscribe again.",
    "settings.following": "Following: {names}",
    "settings.chosen": "✅ {label}",
    "settings.topics.title": (
        "🏷 <b>Topics</b>\nTap a topic to follow or unfollow it. None chosen means all topics."
    ),
    "settings.countries.title": (
        "🌏 <b>Countries</b>\nTap a member state to follow or unfollow it. "
        "None chosen means all of them."
    ),
    "settings.frequency.title": "🔁 <b>How often</b>\nNow: {schedule}.",
    "settings.weekday.title": "📅 <b>Which day</b> should the weekly digest come, at {time}?",
    "settings.time.title": (
        "🕗 <b>Time of day</b> in {zone}\nNow: {time}. For any other minute, send "
        "<code>/time 7:30am</code>."
    ),
    "settings.zone.title": (
        "🌐 <b>Time zone</b>\nNow: {zone}. For any other, send "
        "<code>/timezone Berlin</code>, a zone such as <code>Europe/Berlin</code> or an offset "
        "such as <code>UTC+7</code>."
    ),
    "settings.closed": "⚙️ <b>Settings saved.</b>",
    "settings.reopen": "Send /settings to change them.",
    "frequency.daily": "Daily",
    "frequency.weekly": "Weekly",
    "frequency.off": "Off",
    "weekday.monday": "Monday",
    "weekday.tuesday": "Tuesday",
    "weekday.wednesday": "Wednesday",
    "weekday.thursday": "Thursday",
    "weekday.friday": "Friday",
    "weekday.saturday": "Saturday",
    "weekday.sunday": "Sunday",
    "button.subscribe": "🔔 Subscribe",
    "button.subscribe_again": "🔔 Subscribe again",
    "button.choose_topics": "🏷 Choose topics",
    "button.choose_countries": "🌏 Choose countries",
    "button.all_settings": "⚙️ All settings",
    "button.settings_topics": "🏷 Topics",
    "button.settings_countries": "🌏 Countries",
    "button.frequency": "🔁 How often",
    "button.weekday": "📅 Day",
    "button.time": "🕗 Time",
    "button.zone": "🌐 Time zone",
    "button.empty_on": "📭 Say when nothing is new: on",
    "button.empty_off": "📭 Say when nothing is new: off",
    "button.back": "◀ Back",
    "button.close": "✖ Close",
    # --- admin (operators only: never in the menu or /help) -------------------------------
    "count.chat.one": "1 chat",
    "count.chat.many": "{count} chats",
    "count.failure.one": "1 failure",
    "count.failure.many": "{count} failures",
    "stats.title": "📊 <b>aseanbot stats</b> · {at}",
    "stats.users": "👤 <b>Users</b>: {total} seen, {week} in the last 7 days",
    "stats.subscriptions": "🔔 <b>Active subscriptions</b>: {total}",
    "stats.by_frequency": "By frequency: {counts}",
    "stats.by_topic": "By topic: {counts}",
    "stats.all_topics": "all topics",
    "stats.count": "{name} {count}",
    "stats.digests": "📬 <b>Digests</b> settled",
    "stats.digests_day": "Last 24 h: {sent} sent · {empty} empty · {failed} failed",
    "stats.digests_week": "Last 7 days: {sent} sent · {empty} empty · {failed} failed",
    "stats.items": "🗂 <b>Items</b>: {total}",
    "stats.origin_data": "data files",
    "stats.feeds": "📡 <b>Feeds</b>",
    "stats.feeds_none": "No feed fetched yet.",
    "stats.feed_ok": "✅ <b>{name}</b> · {items} · last success {success}",
    "stats.feed_failing": (
        "⚠️ <b>{name}</b> · {items} · {failures} in a row · last success {success}"
    ),
    "stats.feed_error": "<i>{error}</i>",
    "stats.never": "never",
    "stats.ago_minutes": "{when} ({minutes} min ago)",
    "stats.ago_hours": "{when} ({hours} h ago)",
    "stats.ago_days": "{when} ({days} d ago)",
    "broadcast.usage": (
        "Send the announcement after the command, e.g. "
        "<code>/broadcast The digest pauses on Sunday for maintenance.</code> "
        "It goes as plain text to every active subscription, after a preview."
    ),
    "broadcast.too_long": (
        "That is {length} characters; a broadcast must fit in one message of {limit}."
    ),
    "broadcast.no_subscribers": "No chat has an active subscription: there is no one to send to.",
    "broadcast.preview": (
        "📢 <b>Broadcast preview</b>: the next message goes to {count}, exactly as shown."
    ),
    "button.broadcast_send": "✅ Send to {count}",
    "button.broadcast_cancel": "✖ Cancel",
    "broadcast.cancelled": "✖ Cancelled: nothing was sent.",
    "broadcast.gone": "This preview was already sent or cancelled. Send /broadcast for a new one.",
    "broadcast.sending": "📤 Sending the broadcast to {count}…",
    "broadcast.done": "✅ Broadcast sent to {sent}, {failed} failed, {deactivated} deactivated.",
    "broadcast.skipped": "{count} unsubscribed before their turn and got nothing.",
    "reload.done": (
        "🔄 <b>Reloaded {path}</b>: {added} added · {updated} updated · {unchanged} unchanged"
    ),
    "reload.added": "Added: {ids}",
    "reload.updated": "Updated: {ids}",
    "reload.more": "{shown} and {more} more",
    "reload.invalid": "❌ <b>{path} is invalid</b>; nothing was changed.\n<pre>{problems}</pre>",
    "ingest.started": "📡 Fetching every feed source now…",
    "ingest.title": "📡 <b>Feeds fetched</b>: {added} new",
    "ingest.none": "No enabled feed source in feeds.yaml: nothing to fetch.",
    "ingest.ok": "✅ <b>{name}</b>: {added} added · {updated} updated · {duplicates} duplicates",
    "ingest.not_modified": "⏸ <b>{name}</b>: unchanged since the last fetch",
    "ingest.skipped": "⏭ <b>{name}</b>: not due yet",
    "ingest.failed": "❌ <b>{name}</b>: {error}",
    "ingest.invalid": (
        "❌ <b>feeds.yaml is invalid</b>; nothing was fetched.\n<pre>{problems}</pre>"
    ),
    # --- digests --------------------------------------------------------------------------
    "digest.header": "📬 <b>Your ASEAN digest</b> — {count} new since {since}",
    "digest.empty": "📭 No new updates since {since}.",
    "digest.more_sources": "<i>+{count} more sources</i>",
    "button.settings": "⚙️ Settings",
    "button.unsubscribe": "🔕 Unsubscribe",
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
    "throttle.slow_down": "🐢 That was a lot at once. Please wait {seconds} s, then try again.",
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
