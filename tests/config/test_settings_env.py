"""Settings come from the environment only: each case imports config.settings in a fresh
process with a chosen environment and looks at what Django would run with."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from tests import REPO

# Prints what an operator cares about. read_env is switched off first: a developer's own
# .env next to manage.py must not leak into cases that are about the process environment.
_SNIPPET = """
import json
import environ
environ.Env.read_env = lambda *args, **kwargs: None
from config import settings as s
db = s.DATABASES["default"]
print(json.dumps({
    "db": {k: db.get(k) for k in ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT")},
    "channel_layer": s.CHANNEL_LAYERS["default"],
    "broker": s.CELERY_BROKER_URL,
    "result_backend": s.CELERY_RESULT_BACKEND,
    "debug": s.DEBUG,
    "secret_key": s.SECRET_KEY,
    "allowed_hosts": s.ALLOWED_HOSTS,
    "csrf_trusted_origins": s.CSRF_TRUSTED_ORIGINS,
    "static_root": s.STATIC_ROOT,
    "admin_require_otp": s.ADMIN_REQUIRE_OTP,
}))
"""


def _process_env(env: dict[str, str]) -> dict[str, str]:
    """Only `env`, plus what Python itself needs: nothing leaks in from the test run."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONDONTWRITEBYTECODE": "1", **env}


def import_settings(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _SNIPPET],
        cwd=REPO,
        env=_process_env(env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def settings_under(env: dict[str, str]) -> dict[str, Any]:
    """The settings config/settings.py produces from `env` alone."""
    result = import_settings(env)
    assert result.returncode == 0, result.stderr
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "tQ3x-8vN_kw2Lr9mZpYc4HbJ0sEaUfGd7iOhXqRlWn6tKyVe1B",
    "ALLOWED_HOSTS": "arb.example.com",
}


def test_database_url_selects_postgresql() -> None:
    s = settings_under({**PRODUCTION, "DATABASE_URL": "postgres://scanner:pa55@db.internal:6432/arbscan"})

    assert s["db"] == {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "arbscan",
        "USER": "scanner",
        "PASSWORD": "pa55",
        "HOST": "db.internal",
        "PORT": 6432,
    }


def test_postgresql_scheme_is_accepted_too() -> None:
    s = settings_under({**PRODUCTION, "DATABASE_URL": "postgresql://scanner@db/arbscan"})

    assert s["db"]["ENGINE"] == "django.db.backends.postgresql"
    assert (s["db"]["HOST"], s["db"]["NAME"]) == ("db", "arbscan")


def test_without_database_url_the_embedded_mode_uses_sqlite_in_the_checkout() -> None:
    s = settings_under(PRODUCTION)

    assert s["db"]["ENGINE"] == "django.db.backends.sqlite3"
    assert s["db"]["NAME"] == str(REPO / "db.sqlite3")


def test_redis_url_puts_the_channel_layer_and_celery_on_redis() -> None:
    s = settings_under({**PRODUCTION, "REDIS_URL": "redis://cache.internal:6379/0"})

    assert s["channel_layer"] == {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [{"address": "redis://cache.internal:6379/0", "socket_timeout": 15}]},
    }
    assert s["broker"] == "redis://cache.internal:6379/0"
    assert s["result_backend"] == "redis://cache.internal:6379/0"


def test_celery_urls_of_their_own_win_over_redis_url() -> None:
    s = settings_under(
        {
            **PRODUCTION,
            "REDIS_URL": "redis://cache:6379/0",
            "CELERY_BROKER_URL": "redis://cache:6379/1",
            "CELERY_RESULT_BACKEND": "redis://cache:6379/2",
        }
    )

    assert (s["broker"], s["result_backend"]) == ("redis://cache:6379/1", "redis://cache:6379/2")
    assert s["channel_layer"]["CONFIG"]["hosts"] == [{"address": "redis://cache:6379/0", "socket_timeout": 15}]


def test_without_redis_url_everything_stays_in_the_process() -> None:
    for env in (PRODUCTION, {**PRODUCTION, "REDIS_URL": ""}):
        s = settings_under(env)

        assert s["channel_layer"] == {"BACKEND": "channels.layers.InMemoryChannelLayer"}
        assert s["broker"] == "memory://"
        assert s["result_backend"] == "cache+memory://"


def test_debug_is_off_unless_the_environment_turns_it_on() -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "DEBUG"}

    assert settings_under(env)["debug"] is False
    assert settings_under({**env, "DEBUG": "1"})["debug"] is True


def test_production_without_secret_key_is_refused_by_the_checks_with_a_message_naming_it() -> None:
    # Settings still load (a one-off `manage.py scan --books` needs no key), but on a
    # throwaway key that the system check refuses.
    s = settings_under({"DEBUG": "0", "ALLOWED_HOSTS": "arb.example.com"})
    assert s["secret_key"].startswith("ephemeral-")
    assert settings_under({"DEBUG": "0"})["secret_key"] != s["secret_key"]


def test_manage_py_refuses_an_empty_secret_key_with_a_message_naming_it() -> None:
    # What an operator sees who left SECRET_KEY= blank (an explicit empty value also wins
    # over any .env file, so this runs manage.py exactly as shipped).
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=REPO,
        env=_process_env({"DEBUG": "0", "SECRET_KEY": "", "ALLOWED_HOSTS": "arb.example.com"}),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "(config.E001) SECRET_KEY is not set" in result.stderr


def test_the_asgi_server_refuses_to_start_without_a_secret_key() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "import config.asgi"],
        cwd=REPO,
        env=_process_env({"DEBUG": "0", "ALLOWED_HOSTS": "arb.example.com"}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("django.core.exceptions.ImproperlyConfigured:")
    assert "SECRET_KEY" in last_line


def test_development_without_secret_key_runs_on_a_marked_dev_key_for_localhost() -> None:
    s = settings_under({"DEBUG": "1"})

    assert "insecure" in s["secret_key"]
    assert s["allowed_hosts"] == ["127.0.0.1", "localhost"]


def test_production_serves_no_host_until_allowed_hosts_names_one() -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "ALLOWED_HOSTS"}

    assert settings_under(env)["allowed_hosts"] == []


def test_host_and_origin_lists_are_comma_separated() -> None:
    s = settings_under(
        {
            **PRODUCTION,
            "ALLOWED_HOSTS": "arb.example.com,.internal.example",
            "CSRF_TRUSTED_ORIGINS": "https://arb.example.com,https://ops.example.com",
        }
    )

    assert s["allowed_hosts"] == ["arb.example.com", ".internal.example"]
    assert s["csrf_trusted_origins"] == ["https://arb.example.com", "https://ops.example.com"]


def test_static_root_follows_the_environment() -> None:
    assert settings_under({**PRODUCTION, "STATIC_ROOT": "/app/staticfiles"})["static_root"] == "/app/staticfiles"
    assert settings_under(PRODUCTION)["static_root"] == str(REPO / "staticfiles")


def manage(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=_process_env(env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_is_clean_with_the_production_settings() -> None:
    env = {**PRODUCTION, "BEHIND_PROXY": "1", "CSRF_TRUSTED_ORIGINS": "https://arb.example.com"}
    result = manage(["check", "--deploy", "--fail-level", "WARNING"], env)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_each_transport_security_setting_can_be_set_from_the_environment() -> None:
    snippet = (
        "import json, environ; environ.Env.read_env = lambda *a, **k: None\n"
        "from config import settings as s\n"
        "print(json.dumps([s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE,"
        " s.CSRF_COOKIE_SECURE, getattr(s, 'SECURE_PROXY_SSL_HEADER', None)]))"
    )
    off = {
        **PRODUCTION,
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_HSTS_SECONDS": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
    }
    run = [sys.executable, "-c", snippet]
    default = subprocess.run(run, cwd=REPO, env=_process_env({**PRODUCTION, "BEHIND_PROXY": "1"}), capture_output=True)
    turned_off = subprocess.run(run, cwd=REPO, env=_process_env(off), capture_output=True)
    assert json.loads(default.stdout) == [True, 31_536_000, True, True, ["HTTP_X_FORWARDED_PROTO", "https"]]
    assert json.loads(turned_off.stdout) == [False, 0, False, False, None]


def test_a_weak_or_default_secret_key_is_refused_outside_debug() -> None:
    for weak in ("change-me", "short-key", "a" * 60, "django-insecure-" + "x1y2z3w4v5" * 5):
        result = manage(["check"], {**PRODUCTION, "SECRET_KEY": weak})
        assert result.returncode != 0, weak
        assert "Traceback" not in result.stderr
        assert "(config.E001) SECRET_KEY is weak or a known default" in result.stderr, weak
    assert manage(["check"], {**PRODUCTION, "SECRET_KEY": "change-me", "DEBUG": "1"}).returncode == 0


def test_a_malformed_encryption_key_is_a_start_up_error_naming_the_variable() -> None:
    result = manage(["check"], {**PRODUCTION, "FIELD_ENCRYPTION_KEY": "not-a-fernet-key"})
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "(config.E002) FIELD_ENCRYPTION_KEY key #1 is not a Fernet key" in result.stderr
