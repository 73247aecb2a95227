"""Keep secrets out of every log line, whichever library writes it.

PTB logs its API URL (which contains the bot token) at DEBUG, and httpx logs request URLs at
INFO; a filter on the handlers rewrites any record that contains a secret.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

REDACTED = "[redacted]"


class RedactSecrets(logging.Filter):
    """Replace each secret (and a bot token's secret half) in a record's final text."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        super().__init__()
        parts: set[str] = set()
        for secret in secrets:
            if not secret:
                continue
            parts.add(secret)
            _, _, after_colon = secret.partition(":")
            if len(after_colon) >= 8:
                parts.add(after_colon)  # the part that makes a bot token secret
        # Longest first, so the whole token is replaced before its half is looked for.
        self._secrets = sorted(parts, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        redacted = self._redact(message)
        exc_text = self._redact(record.exc_text) if record.exc_text else record.exc_text
        if redacted != message or exc_text != record.exc_text:
            record.msg, record.args = redacted, None
            record.exc_text = exc_text
        return True

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text


def install_redaction(secrets: Iterable[str | None]) -> None:
    """Attach the filter to every handler of the root logger."""
    redaction = RedactSecrets(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redaction)
