"""A real Prometheus (Debian's package, which `make test` installs) for the tests: it runs
on its own port with a config derived from deploy/prometheus/, and is asked questions
through its HTTP API."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests import REPO, free_port

DEPLOY = REPO / "deploy" / "prometheus"
GRAFANA_DASHBOARD = REPO / "deploy" / "grafana" / "dashboards" / "arbscan.json"


def binary(name: str) -> str:
    found = shutil.which(name) or next((p for p in (f"/usr/bin/{name}",) if Path(p).exists()), None)
    if found is None:
        pytest.fail(f"{name} is not installed (make test installs Debian's prometheus package)")
    return found


def local_config(targets: dict[str, str], rules: Path = DEPLOY / "rules.yml") -> str:
    """deploy/prometheus's scrape jobs, each pointed at a local address; every second."""
    jobs = "".join(
        f"  - job_name: {job}\n    static_configs:\n      - targets: ['{address}']\n"
        for job, address in targets.items()
    )
    return (
        f"global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {rules}\nscrape_configs:\n{jobs}"
    )


class Prometheus:
    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"

    def api(self, path: str, **params: str) -> Any:
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{query}", timeout=5) as response:
            body = json.loads(response.read())
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.api("query", query=expr)["result"]
        return result

    def names(self) -> set[str]:
        return set(self.api("label/__name__/values"))

    def wait_for(self, expr: str, limit_sec: float = 60.0) -> list[dict[str, Any]]:
        """The first non-empty answer to `expr` (a series exists, or a comparison holds)."""
        deadline = time.monotonic() + limit_sec
        while True:
            result = self.query(expr)
            if result:
                return result
            if time.monotonic() > deadline:
                targets = self.api("targets")["activeTargets"]
                health = [(t["labels"]["job"], t["health"], t.get("lastError", "")) for t in targets]
                raise AssertionError(f"no answer to {expr!r} in {limit_sec:g} s; targets: {health}")
            time.sleep(0.5)


@contextmanager
def running_prometheus(config: str, workdir: Path) -> Iterator[Prometheus]:
    config_file = workdir / "prometheus.yml"
    config_file.write_text(config)
    port = free_port()
    log = (workdir / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            binary("prometheus"),
            f"--config.file={config_file}",
            f"--storage.tsdb.path={workdir / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    prometheus = Prometheus(port)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (workdir / "prometheus.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{prometheus.url}/-/ready", timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, "prometheus did not get ready"
                time.sleep(0.2)
        yield prometheus
    finally:
        proc.terminate()
        proc.wait(15)
        log.close()


# PromQL's own words, and the label names the dashboard uses: what is left is metric names.
_PROMQL_WORDS = {
    "sum", "max", "min", "avg", "count", "by", "without", "rate", "increase", "irate", "time", "absent",
    "histogram_quantile", "le", "or", "and", "unless", "on", "ignoring", "offset", "bool",
    "exchange", "state", "type", "outcome", "entry", "reason", "kind", "command", "job", "instance",
}  # fmt: skip


def metrics_in(expr: str) -> set[str]:
    """The metric names a PromQL expression reads."""
    without_strings = re.sub(r'"[^"]*"', "", expr)
    without_ranges = re.sub(r"\[[^\]]*\]", "", without_strings)
    words = set(re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", without_ranges))
    return {word for word in words - _PROMQL_WORDS if not re.fullmatch(r"\d+(\.\d+)?", word)}


def dashboard_metrics() -> set[str]:
    dashboard = json.loads(GRAFANA_DASHBOARD.read_text())
    return {name for panel in dashboard["panels"] for target in panel["targets"] for name in metrics_in(target["expr"])}
