"""Telegram subscribers and digests (see the Telegram issue)."""
