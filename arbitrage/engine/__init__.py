"""The opportunity engine: pure Python, no Django, no Redis, no ccxt."""
