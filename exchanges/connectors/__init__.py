"""Market data connectors: sources of canonical books (simulated now, live ccxt.pro later).

`base.py` defines the connector and sink contracts, `runner.py` supervises connectors
(isolation, restarts with backoff, clean stop), `simulated/` is the offline market.
"""
