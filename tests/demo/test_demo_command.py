"""`make demo` as a new user meets it: one process serves admin, the simulated market and
the scan timer; opportunity episodes show up in admin; Ctrl-C stops it cleanly."""

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests import REPO, free_port
from tests.fakes.telegram import TOKEN, fake_telegram

ROOT = REPO


def episodes(db: Path) -> int:
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute("select count(*) from arbitrage_episode").fetchone()[0]
    except sqlite3.Error:
        return 0


def flags_seen(db: Path) -> set[str]:
    """Risk flags of the episodes so far, and "ok+NETWORK" for a clean spatial one with its route."""
    try:
        with sqlite3.connect(db) as conn:
            rows = conn.execute("select type, risk_flag, details from arbitrage_episode").fetchall()
    except sqlite3.Error:
        return set()
    seen = set()
    for kind, flag, details in rows:
        seen.add(flag)
        network = json.loads(details or "{}").get("transfer_network")
        if kind == "spatial" and flag == "ok" and network:
            seen.add("ok+network")
    return seen


def start_demo(port: int, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "manage.py", "demo", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_demo_shows_live_episodes_in_admin_and_stops_on_ctrl_c(tmp_path):
    db, port = tmp_path / "demo.sqlite3", free_port()
    env = {**os.environ, "DEBUG": "1", "DATABASE_URL": f"sqlite:///{db}", "REDIS_URL": "", "SECRET_KEY": ""}
    proc = start_demo(port, env)
    wanted = {"ok+network", "no_transfer_route", "asset_mismatch"}
    try:
        deadline = time.monotonic() + 60
        while not wanted <= flags_seen(db) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.5)
        # Within a minute: a clean edge with its network, a closed wallet, a ticker collision.
        assert wanted <= flags_seen(db), f"within 60 s the demo showed only {sorted(flags_seen(db))}"

        with httpx.Client(base_url=f"http://127.0.0.1:{port}", follow_redirects=True) as client:
            login = client.get("/admin/login/")
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
            client.post(
                "/admin/login/?next=/admin/",
                data={"username": "admin", "password": "admin", "csrfmiddlewaretoken": token},
            )
            page = client.get("/admin/arbitrage/opportunity/")
        assert page.status_code == 200
        assert re.search(r"(spatial|triangular)", page.text)
        assert "net edge" in page.text.lower()
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-2000:]
    assert "Traceback" not in err
    assert "user: admin" in out and "demo stopped" in out


def test_demo_with_a_bot_token_answers_start_and_filter_then_sends_digests(tmp_path):
    db, port = tmp_path / "demo.sqlite3", free_port()
    with fake_telegram() as telegram:
        env = {
            **os.environ,
            "DEBUG": "1",
            "DATABASE_URL": f"sqlite:///{db}",
            "REDIS_URL": "",
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": telegram.base_url,
            "TELEGRAM_DIGEST_PERIOD_SEC": "2",
        }
        # A subscriber as a user makes one: /start, then a filter that lets flagged ones in.
        telegram.push_text(4242, "/start")
        telegram.push_text(4242, "/filter risk=all")
        proc = start_demo(port, env)
        try:
            deadline = time.monotonic() + 60
            while len(telegram.texts_to(4242)) < 3 and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.5)
            texts = telegram.texts_to(4242)
        finally:
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=30)
    assert len(texts) >= 3, f"replies and a digest expected within 60 s, got {texts}; demo said: {err[-1500:]}"
    welcome, filtered, digest = texts[:3]
    assert "subscribed" in welcome.lower() or "welcome" in welcome.lower()
    assert "risk" in filtered.lower()
    assert "net" in digest.lower() and "127.0.0.1:8000" in digest
    assert "telegram: digests every 2 s" in out
    assert proc.returncode == 0 and "Traceback" not in err, err[-3000:]
