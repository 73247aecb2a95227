"""Settings: one frozen dataclass built from the environment (and `.env`), validated once."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_DB_PATH = "var/aseanbot.db"
DEFAULT_DATA_DIR = "data"
DEFAULT_TIMEZONE = "Asia/Jakarta"
DEFAULT_DIGEST_GRACE_HOURS = 6.0
MAX_DIGEST_GRACE_HOURS = 168.0

# Telegram bot tokens are "<bot id>:<35 characters>"; checked loosely so a typo is caught early.
_TOKEN_PATTERN = re.compile(r"^\d{1,20}:[A-Za-z0-9_-]{20,}$")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(Exception):
    """A setting is missing or invalid; the message names the variable, never a secret value."""


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

    def require_token(self) -> str:
        """Return the bot token, or fail with the line an operator needs to fix it."""
        if not self.token:
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN is not set: put the token from @BotFather in .env "
                "(see .env.example) or the environment"
            )
        return self.token

    @property
    def api_file_base_url(self) -> str:
        """The file endpoint that goes with api_base_url (…/bot → …/file/bot)."""
        base = self.api_base_url
        if base.endswith("/bot"):
            return base[: -len("/bot")] + "/file/bot"
        return base.rstrip("/") + "/file/bot"


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
