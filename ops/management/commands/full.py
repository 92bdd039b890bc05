"""`manage.py full` (`make full`): the whole stack without Docker, from one terminal.

It creates the PostgreSQL database if missing, migrates, collects the static files (served
by WhiteNoise), then starts ingest, a Celery worker, beat, the web server (daphne) and, with
TELEGRAM_BOT_TOKEN, the Telegram bot. Each serves its metrics (cli/exporter.py) on its own
port from --metrics-port up: worker +1, beat +2, ingest +3, bot +4. Ctrl-C stops them all.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import psycopg
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError, CommandParser
from psycopg import sql

from cli.commands import OneLineErrorCommand
from cli.exporter import MULTIPROC_ENV
from ops.supervisor import Child, Supervisor

WORKER_FLAGS = ("--without-gossip", "--without-mingle", "--without-heartbeat")


class Command(OneLineErrorCommand):
    help = "Run the full stack (PostgreSQL + Redis): ingest, worker, beat, web and bot, until Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000, help="the web server's port")
        parser.add_argument(
            "--ingest", default="--connector simulated", help='arguments of `manage.py ingest` (default: "%(default)s")'
        )
        parser.add_argument(
            "--metrics-port", type=int, default=9100, help="worker, beat, ingest and bot serve metrics from here + 1"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        database = settings.DATABASES["default"]
        if database["ENGINE"] != "django.db.backends.postgresql" or not settings.REDIS_URL:
            raise CommandError(
                "full mode needs PostgreSQL (DATABASE_URL=postgres://...) and Redis (REDIS_URL=redis://...); "
                "`make demo` runs without either"
            )
        self._create_database(database)
        self.stderr.write("full: migrating the database")
        call_command("migrate", interactive=False, verbosity=0)
        self.stderr.write(f"full: collecting static files into {settings.STATIC_ROOT}")
        call_command("collectstatic", interactive=False, verbosity=0)
        if not get_user_model().objects.filter(is_superuser=True).exists():
            self.stderr.write(
                "full: no admin yet: in another terminal run `manage.py createsuperuser`"
                + (" and `manage.py enrol_totp USER` (admin asks for its codes)" if settings.ADMIN_REQUIRE_OTP else "")
            )
        multiproc = Path(tempfile.mkdtemp(prefix="arbscan-metrics-"))  # outside the tree
        supervisor = Supervisor(self._children(options, multiproc), cwd=str(settings.BASE_DIR))
        base = options["metrics_port"]
        self.stderr.write(
            f"full: http://{options['host']}:{options['port']}/ ; metrics: web /metrics, worker :{base + 1}, "
            f"beat :{base + 2}, ingest :{base + 3}" + (f", bot :{base + 4}" if settings.TELEGRAM_BOT_TOKEN else "")
            + " ; Ctrl-C stops everything"
        )  # fmt: skip
        try:
            supervisor.start()
            status = supervisor.wait()
        finally:
            supervisor.terminate()
            shutil.rmtree(multiproc, ignore_errors=True)
        if status:
            raise CommandError("full mode stopped because a process ended on its own (see its lines above)")
        self.stderr.write("full: stopped")

    def _create_database(self, database: dict[str, Any]) -> None:
        # The server's maintenance database, with this project's credentials.
        keys = {"host": "HOST", "port": "PORT", "user": "USER", "password": "PASSWORD"}
        conninfo = psycopg.conninfo.make_conninfo(
            dbname="postgres", **{key: str(database[name]) for key, name in keys.items() if database.get(name)}
        )
        try:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database["NAME"]]).fetchone()
                if not exists:
                    self.stderr.write(f"full: creating the database {database['NAME']}")
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database["NAME"])))
        except psycopg.Error as exc:
            raise CommandError(
                f"cannot reach PostgreSQL to create {database['NAME']!r} "
                f"({str(exc).strip().splitlines()[0]}): is it running, and may this user create databases?"
            ) from None

    def _children(self, options: dict[str, Any], multiproc: Path) -> list[Child]:
        python, base = sys.executable, options["metrics_port"]
        env = dict(os.environ)
        celery = [python, "-m", "celery", "-A", "config"]
        children = [
            Child("api", [python, "-m", "daphne", "-b", options["host"], "-p", str(options["port"]),
                          "config.asgi:application"], env),
            Child("worker", [*celery, "worker", "-l", "info", *WORKER_FLAGS],
                  {**env, "METRICS_PORT": str(base + 1), MULTIPROC_ENV: str(multiproc)}),
            Child("beat", [*celery, "beat", "-l", "info"], {**env, "METRICS_PORT": str(base + 2)}),
            Child("ingest", [python, "manage.py", "ingest", *options["ingest"].split()],
                  {**env, "METRICS_PORT": str(base + 3)}),
        ]  # fmt: skip
        if settings.TELEGRAM_BOT_TOKEN:
            children.append(Child("bot", [python, "manage.py", "telegram_bot"], {**env, "METRICS_PORT": str(base + 4)}))
        return children
