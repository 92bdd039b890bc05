"""Local fake exchange servers (REST and websocket on 127.0.0.1) speaking the exchanges'
real message formats, so tests drive the unchanged ccxt connector code with only its URLs
overridden through the ccxt-config mechanism. See server.py for the fault knobs."""
