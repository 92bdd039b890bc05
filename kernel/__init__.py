"""The kernel: what market data and the scan both speak, and nothing else.

Pure Python with no Django, Redis, ccxt or app imports (an import-linter contract in
`make lint` keeps it so): the canonical order book and its parser (`book`), the syntax of
exchange ids, assets and symbols (`ids`), the clock in milliseconds (`clock`) and the
collector tuning of long-running processes (`gc_tuning`).
"""
