"""aseanbot: a Telegram bot for ASEAN regional affairs."""

__version__ = "0.1.0"
