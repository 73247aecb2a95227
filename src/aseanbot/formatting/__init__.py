"""Pure formatting: values in, Telegram HTML strings out. No I/O here."""
