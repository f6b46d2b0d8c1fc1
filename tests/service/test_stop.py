"""The real `entonnoir run` process against a fake Bot API: signals, stop, one instance.

Each test starts `python -m bot run` as systemd or Docker would, talks to it only through
the fake Bot API (tests/fake_bot_api.py) and the SMTP server on loopback, then reads the
database file it leaves behind.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tortoise.backends.base.executor import EXECUTOR_CACHE

from tests.billing_data import SELLER_ENV
from tests.fake_bot_api import FakeBotApi
from tests.mail.smtp_server import LoopbackSmtp

ROOT = Path(__file__).resolve().parents[2]
BOSS = 4242


def _env(tmp_path: Path, api: FakeBotApi, **extra: str) -> dict[str, str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "DATABASE_", "SMTP_", "IMAP_", "LOG_", "COMPANY_"))
    }
    clean.update(
        {
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": f"sqlite://{tmp_path}/e.db",
            "VAR_DIR": str(tmp_path / "var"),
            "TELEGRAM_BOT_TOKEN": "123:TEST",
            "TELEGRAM_API_URL": api.url,
            "BOT_USERNAME": api.username,
            "QUIET_HOURS": "",
            "DEFAULT_LANGUAGE": "en",
            **SELLER_ENV,
            **extra,
        }
    )
    return clean


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=env["VAR_DIR"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _start(env: dict[str, str]) -> subprocess.Popen[str]:
    var = Path(env["VAR_DIR"])
    var.mkdir(parents=True, exist_ok=True)
    # Logs to a file, not a pipe: an undrained pipe fills and blocks the process.
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        env=env,
        cwd=var,
        stdout=subprocess.DEVNULL,
        stderr=(var / "run.log").open("w"),
        text=True,
    )


def _serving(api: FakeBotApi) -> None:
    api.wait_for(lambda: bool(api.sent("setMyCommands")), timeout=60)


def _finish(proc: subprocess.Popen[str], env: dict[str, str], timeout: float = 30) -> tuple[int, str]:
    proc.wait(timeout=timeout)
    return proc.returncode, (Path(env["VAR_DIR"]) / "run.log").read_text()


def test_sigterm_during_dashboard_still_delivers_every_chart_then_exits_0(
    tmp_path: Path, api: FakeBotApi
) -> None:
    env = _env(tmp_path, api)
    Path(env["VAR_DIR"]).mkdir(parents=True)
    assert (
        _cli(
            env,
            "user",
            "add",
            "--telegram-id",
            str(BOSS),
            "--name",
            "boss",
            "--role",
            "manager",
            "--lang",
            "en",
        ).returncode
        == 0
    )
    api.delay["sendPhoto"] = 0.4  # five charts: about two seconds of handler in flight
    proc = _start(env)
    try:
        _serving(api)
        api.send_text(BOSS, "/dashboard")
        api.wait_for(lambda: bool(api.sent("sendPhoto", BOSS)))
        proc.send_signal(signal.SIGTERM)  # while the first chart is on its way
        code, err = _finish(proc, env)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0, err
    assert len(api.sent("sendPhoto", BOSS)) == 5
    assert "stopping: no new updates" in err and "stopped" in err


def test_a_second_run_on_the_same_sqlite_file_refuses_in_one_sentence(
    tmp_path: Path, api: FakeBotApi
) -> None:
    env = _env(tmp_path, api)
    proc = _start(env)
    try:
        _serving(api)
        second = _cli(env, "run")
        assert second.returncode == 1
        assert second.stderr.count("\n") == 1 and "already serves" in second.stderr
        assert str(proc.pid) in second.stderr
        # A writing CLI command waits for the bot's transactions rather than failing.
        added = _cli(env, "user", "add", "--telegram-id", "99", "--name", "ann", "--role", "sales")
        assert added.returncode == 0, added.stderr
        proc.send_signal(signal.SIGINT)
        code, err = _finish(proc, env)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0, err


def _queue_emails(db_url: str, count: int) -> None:
    from storage.db import close_db, init_db
    from storage.outbox import queue_email

    async def queue() -> None:
        EXECUTOR_CACHE.clear()  # SQL cached for another dialect by earlier tests
        await init_db(db_url)
        try:
            for i in range(count):
                await queue_email(
                    dedupe_key=f"k{i}",
                    message_id=f"<m{i}@entonnoir.example>",
                    to=[f"client{i}@acme.example"],
                    subject=f"Facture {i}",
                    body_text="Bonjour",
                )
        finally:
            await close_db()

    asyncio.run(queue())


def test_sigterm_during_an_outbox_flush_leaves_no_email_sending(tmp_path: Path, api: FakeBotApi) -> None:
    smtp = LoopbackSmtp(tls=False, auth=False)
    smtp.delay = 0.15
    smtp.start()
    env = _env(
        tmp_path,
        api,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp.port),
        SMTP_SECURITY="none",
        OUTBOX_FLUSH_SECONDS="1",
    )
    _queue_emails(env["DATABASE_URL"], 40)
    proc = _start(env)
    try:
        _serving(api)
        deadline = time.monotonic() + 30
        while len(smtp.raw) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)  # mid-flush: 40 emails at 0.15 s each
        code, err = _finish(proc, env)
    finally:
        if proc.poll() is None:
            proc.kill()
        smtp.stop()
    assert code == 0, err
    db = sqlite3.connect(tmp_path / "e.db")
    states = dict(db.execute("SELECT status, COUNT(*) FROM outbox_emails GROUP BY status"))
    assert "sending" not in states
    # What the server accepted is recorded as sent, exactly; the rest waits, untouched.
    assert states.get("sent") == len(smtp.raw) and 3 <= len(smtp.raw) < 40
    assert states.get("pending") == 40 - len(smtp.raw)
    attempts = {a for (a,) in db.execute("SELECT attempts FROM outbox_emails WHERE status = 'pending'")}
    assert attempts == {0}
