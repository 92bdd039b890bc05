"""The API process of full mode, for the browser tests: `python -m tests.live.browser.serve PORT`.

Serves config.asgi.application (plus static files) with uvicorn, against the database, book
store and channel layer the environment names, with no scan timer: the test plays the
Celery worker. Before serving it migrates and creates the user the test logs in as.
Test-only knobs (environment): TEST_CHANNEL_PREFIX (isolates the channel layer in a shared
Redis), TEST_SCAN_INTERVAL_SEC (the cadence the dashboard expects).
"""

from __future__ import annotations

import os
import sys
from decimal import Decimal

USER, PASSWORD = "trader", "trader-password-1"


def main(port: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import uvicorn
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
    from django.core.management import call_command

    from arbitrage.models import ScannerSettings

    prefix = os.environ.get("TEST_CHANNEL_PREFIX")
    if prefix and "CONFIG" in settings.CHANNEL_LAYERS["default"]:
        settings.CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = prefix
    call_command("migrate", interactive=False, verbosity=0)
    get_user_model().objects.create_user(USER, password=PASSWORD)
    interval = os.environ.get("TEST_SCAN_INTERVAL_SEC")
    if interval:
        ScannerSettings.objects.update_or_create(pk=1, defaults={"scan_interval_sec": Decimal(interval)})

    from config.asgi import application

    uvicorn.run(ASGIStaticFilesHandler(application), host="127.0.0.1", port=port, log_level="warning", lifespan="off")


if __name__ == "__main__":
    main(int(sys.argv[1]))
