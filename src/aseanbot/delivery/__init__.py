"""Delivery: how digests and broadcasts reach Telegram — rate limits, the ledger, retries."""
