"""Healthcheck of the api container: GET /healthz on the local ASGI server.

    python deploy/healthcheck.py [URL]     (default http://127.0.0.1:8000/healthz)

Exits 0 when the server answers 200, 1 otherwise with the reason on stderr, which
`docker inspect` shows. Standard library only: it runs in the image, outside Django.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

DEFAULT_URL = "http://127.0.0.1:8000/healthz"
TIMEOUT_S = 4.0


def probe_host(allowed_hosts: str) -> str:
    """A Host header that Django's ALLOWED_HOSTS (comma-separated) accepts.

    Django answers 400 to a Host it does not serve, so probing with 127.0.0.1 would
    report a healthy server as broken whenever the operator lists only real names.
    """
    for raw in allowed_hosts.split(","):
        entry = raw.strip()
        if entry and entry != "*":
            # ".example.com" allows example.com and its subdomains.
            return entry.removeprefix(".")
    return "localhost"


def check(url: str, host: str) -> str | None:
    """None when `url` answers 200 to a request for `host`, else the reason."""
    request = urllib.request.Request(url, headers={"Host": host})
    # Ignore HTTP(S)_PROXY: an operator may set one for exchange traffic, but the probe
    # must reach this container's own server.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=TIMEOUT_S) as response:
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        return f"{url} answered HTTP {exc.code} for Host {host!r}"
    except (urllib.error.URLError, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        return f"{url} is not answering: {reason}"
    if status != 200:
        return f"{url} answered HTTP {status} for Host {host!r}"
    return None


def main(argv: list[str]) -> int:
    url = argv[1] if len(argv) > 1 else DEFAULT_URL
    failure = check(url, probe_host(os.environ.get("ALLOWED_HOSTS", "")))
    if failure is not None:
        print(f"unhealthy: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
