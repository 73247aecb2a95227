"""Settings: one frozen dataclass built from the environment (and `.env`), validated once."""

from __future__ import annotations

import ipaddress
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_DB_PATH = "var/aseanbot.db"
DEFAULT_DATA_DIR = "data"
DEFAULT_TIMEZONE = "Asia/Jakarta"
DEFAULT_DIGEST_GRACE_HOURS = 6.0
MAX_DIGEST_GRACE_HOURS = 168.0
DEFAULT_WEBHOOK_LISTEN = "127.0.0.1"
DEFAULT_WEBHOOK_PORT = 8443
DEFAULT_HEALTH_LISTEN = "127.0.0.1"

# Telegram bot tokens are "<bot id>:<35 characters>"; checked loosely so a typo is caught early.
_TOKEN_PATTERN = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{20,}$")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Telegram's rule for a webhook's secret_token (it comes back in X-Telegram-Bot-Api-Secret-Token).
_SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# A webhook URL's path becomes the route of PTB's webhook server, which reads it as a regular
# expression: only characters that stand for themselves there (a dot matches any character,
# which only widens the route by one character).
_WEBHOOK_PATH_PATTERN = re.compile(r"^[A-Za-z0-9._~/-]*$")
_HOSTNAME_PATTERN = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")


class ConfigError(Exception):
    """A setting is missing or invalid; the message names the variable, never a secret value."""


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    """What webhook mode needs, all present and valid (see Settings.require_webhook)."""

    url: str  # the public https URL Telegram posts updates to
    secret: str = field(repr=False)  # Telegram sends it back with every update
    listen: str = DEFAULT_WEBHOOK_LISTEN
    port: int = DEFAULT_WEBHOOK_PORT

    @property
    def url_path(self) -> str:
        """The path the local server answers on: the public URL's (a proxy passes it on)."""
        return urlsplit(self.url).path or "/"


@dataclass(frozen=True, slots=True)
class Settings:
    token: str | None = field(repr=False)
    api_base_url: str
    db_path: Path
    data_dir: Path
    admin_ids: frozenset[int]
    timezone: ZoneInfo
    log_level: int
    # Digests that fell due while the bot was down are still sent if this recent.
    digest_grace: timedelta = timedelta(hours=DEFAULT_DIGEST_GRACE_HOURS)
    # Webhook mode (`run --webhook`): checked when it is asked for, by require_webhook().
    webhook_url: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    webhook_listen: str = DEFAULT_WEBHOOK_LISTEN
    webhook_port: int = DEFAULT_WEBHOOK_PORT
    # The /healthz endpoint: off without a port.
    health_port: int | None = None
    health_listen: str = DEFAULT_HEALTH_LISTEN

    def require_token(self) -> str:
        """Return the bot token, or fail with the line an operator needs to fix it."""
        if not self.token:
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN is not set: put the token from @BotFather in .env "
                "(see .env.example) or the environment"
            )
        return self.token

    def require_webhook(self) -> WebhookSettings:
        """Return what webhook mode needs, or fail naming the setting that is missing."""
        if self.webhook_url is None:
            raise ConfigError(
                "ASEANBOT_WEBHOOK_URL is not set: webhook mode needs the public https URL "
                "Telegram posts updates to, such as https://bot.example.org/telegram"
            )
        if self.webhook_secret is None:
            raise ConfigError(
                "ASEANBOT_WEBHOOK_SECRET is not set: webhook mode needs a random secret of "
                '1-256 characters A-Z, a-z, 0-9, _ and - (python -c "import secrets; '
                'print(secrets.token_urlsafe(32))" makes one)'
            )
        if self.health_port == self.webhook_port:
            raise ConfigError(
                f"ASEANBOT_HEALTH_PORT must differ from ASEANBOT_WEBHOOK_PORT "
                f"(both are {self.webhook_port})"
            )
        return WebhookSettings(
            url=self.webhook_url,
            secret=self.webhook_secret,
            listen=self.webhook_listen,
            port=self.webhook_port,
        )

    @property
    def api_file_base_url(self) -> str:
        """The file endpoint that goes with api_base_url (…/bot → …/file/bot)."""
        base = self.api_base_url
        if base.endswith("/bot"):
            return base[: -len("/bot")] + "/file/bot"
        return base.rstrip("/") + "/file/bot"


# The proxy variables the HTTP clients (Bot API, feeds) follow, as curl and httpx read them.
_PROXY_VARIABLES = (
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
)


def _check_proxies(get: Callable[[str], str | None]) -> None:
    """Only HTTP proxies: a SOCKS one would fail at the first request, deep in a library."""
    for name in _PROXY_VARIABLES:
        value = get(name)
        if value is not None and not re.match(r"^https?://", value, re.IGNORECASE):
            raise ConfigError(
                f"{name} must be an http:// proxy such as http://proxy.example:3128 "
                "(SOCKS proxies are not supported)"
            )


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from `environ` (default: os.environ), raising ConfigError on a bad value."""
    env = os.environ if environ is None else environ

    def get(name: str) -> str | None:
        value = env.get(name)
        if value is None or not value.strip():
            return None
        return value.strip()

    token = get("TELEGRAM_BOT_TOKEN")
    if token is not None and not _TOKEN_PATTERN.match(token):
        raise ConfigError(
            "TELEGRAM_BOT_TOKEN does not look like a bot token (expected <digits>:<letters>, "
            "as @BotFather gives it)"
        )

    _check_proxies(get)
    api_base_url = get("TELEGRAM_API_BASE_URL") or DEFAULT_API_BASE_URL
    if not re.match(r"^https?://[^\s/]+(/\S*)?$", api_base_url):
        raise ConfigError(
            "TELEGRAM_API_BASE_URL must be an http(s) URL such as http://127.0.0.1:8081/bot"
        )

    return Settings(
        token=token,
        api_base_url=api_base_url,
        db_path=Path(get("ASEANBOT_DB_PATH") or DEFAULT_DB_PATH),
        data_dir=Path(get("ASEANBOT_DATA_DIR") or DEFAULT_DATA_DIR),
        admin_ids=_parse_admin_ids(get("ASEANBOT_ADMIN_IDS")),
        timezone=_parse_timezone(get("ASEANBOT_TIMEZONE") or DEFAULT_TIMEZONE),
        log_level=_parse_log_level(get("LOG_LEVEL") or "INFO"),
        digest_grace=_parse_grace(get("ASEANBOT_DIGEST_GRACE_HOURS")),
        webhook_url=_parse_webhook_url(get("ASEANBOT_WEBHOOK_URL")),
        webhook_secret=_parse_webhook_secret(get("ASEANBOT_WEBHOOK_SECRET")),
        webhook_listen=_parse_listen(
            "ASEANBOT_WEBHOOK_LISTEN", get("ASEANBOT_WEBHOOK_LISTEN") or DEFAULT_WEBHOOK_LISTEN
        ),
        webhook_port=_parse_port("ASEANBOT_WEBHOOK_PORT", get("ASEANBOT_WEBHOOK_PORT"))
        or DEFAULT_WEBHOOK_PORT,
        health_port=_parse_port("ASEANBOT_HEALTH_PORT", get("ASEANBOT_HEALTH_PORT")),
        health_listen=_parse_listen(
            "ASEANBOT_HEALTH_LISTEN", get("ASEANBOT_HEALTH_LISTEN") or DEFAULT_HEALTH_LISTEN
        ),
    )


def _parse_admin_ids(raw: str | None) -> frozenset[int]:
    if raw is None:
        return frozenset()
    ids = set()
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        if not re.fullmatch(r"-?\d{1,20}", part):
            raise ConfigError(
                f"ASEANBOT_ADMIN_IDS must be comma-separated numeric Telegram user ids; "
                f"{part[:40]!r} is not one"
            )
        ids.add(int(part))
    return frozenset(ids)


def _parse_timezone(raw: str) -> ZoneInfo:
    try:
        return ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"ASEANBOT_TIMEZONE must be an IANA time zone such as Asia/Jakarta; {raw[:60]!r} is not"
        ) from None


def _parse_grace(raw: str | None) -> timedelta:
    if raw is None:
        return timedelta(hours=DEFAULT_DIGEST_GRACE_HOURS)
    try:
        hours = float(raw)
    except ValueError:
        hours = -1.0
    if not 0 <= hours <= MAX_DIGEST_GRACE_HOURS:
        raise ConfigError(
            f"ASEANBOT_DIGEST_GRACE_HOURS must be a number of hours from 0 to "
            f"{MAX_DIGEST_GRACE_HOURS:g}; got {raw[:20]!r}"
        )
    return timedelta(hours=hours)


def _parse_log_level(raw: str) -> int:
    name = raw.upper()
    if name not in _LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(_LOG_LEVELS)}; got {raw[:20]!r}")
    return int(getattr(logging, name))


def _parse_webhook_url(raw: str | None) -> str | None:
    if raw is None:
        return None
    # The URL is not echoed: its path may be meant to be hard to guess.
    problem = "ASEANBOT_WEBHOOK_URL must be the public https URL Telegram posts updates to"
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise ConfigError(f"{problem}; it is not a valid URL") from None
    if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
        raise ConfigError(f"{problem}, such as https://bot.example.org/telegram")
    if parts.query or parts.fragment or not _WEBHOOK_PATH_PATTERN.fullmatch(parts.path):
        raise ConfigError(
            f"{problem}; its path may hold only letters, digits and . _ ~ / - "
            "(no query or fragment)"
        )
    return raw


def _parse_webhook_secret(raw: str | None) -> str | None:
    if raw is None:
        return None
    if not _SECRET_PATTERN.fullmatch(raw):
        # Never the value, not even a part of it: it is a secret.
        raise ConfigError(
            "ASEANBOT_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -"
        )
    return raw


def _parse_listen(name: str, raw: str) -> str:
    try:
        ipaddress.ip_address(raw)
    except ValueError:
        if not _HOSTNAME_PATTERN.match(raw):
            raise ConfigError(
                f"{name} must be an IP address or host name to listen on, such as 127.0.0.1 "
                f"or 0.0.0.0; got {raw[:60]!r}"
            ) from None
    return raw


def _parse_port(name: str, raw: str | None) -> int | None:
    if raw is None:
        return None
    port = int(raw) if raw.isascii() and raw.isdigit() else 0
    if not 1 <= port <= 65535:
        raise ConfigError(f"{name} must be a TCP port from 1 to 65535; got {raw[:20]!r}")
    return port
