"""The test suite; it mirrors the source tree."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]  # the checkout: manage.py, deploy/, requirements.txt


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (for a server to start, or to find
    nothing at)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
