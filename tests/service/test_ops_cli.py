"""`entonnoir health` and `entonnoir mail retry`, run as an operator would."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _cli(tmp_path: Path, *args: str, lang: str = "en") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_", "DEFAULT_"))}
    env.update(
        {"PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite://{tmp_path}/e.db", "DEFAULT_LANGUAGE": lang}
    )
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _email(db: sqlite3.Connection, key: str, status: str, age_minutes: int) -> None:
    db.execute(
        "INSERT INTO outbox_emails (dedupe_key, message_id, to_addrs, subject, body_text,"
        " status, attempts, purpose, created_at) VALUES (?, ?, '[\"a@b.example\"]', 's', 'b',"
        " ?, 3, 'invoice', datetime('now', ?))",
        (key, f"<{key}@x>", status, f"-{age_minutes} minutes"),
    )
    db.commit()


def test_health_passes_on_a_healthy_database_and_fails_on_a_stalled_outbox(
    tmp_path: Path,
) -> None:
    assert _cli(tmp_path, "migrate").returncode == 0
    healthy = _cli(tmp_path, "health")
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert [line.split()[:2] for line in healthy.stdout.splitlines()] == [
        ["database", "ok"],
        ["jobs", "ok"],
        ["outbox", "ok"],
    ]

    with sqlite3.connect(tmp_path / "e.db") as db:
        _email(db, "old", "pending", 60)  # due for an hour: nothing sends
    stalled = _cli(tmp_path, "health")
    assert stalled.returncode == 1
    assert "outbox    FAIL  1 email due for over 15 min" in stalled.stdout


def test_health_speaks_the_configured_language(tmp_path: Path) -> None:
    assert _cli(tmp_path, "migrate").returncode == 0
    healthy = _cli(tmp_path, "health", lang="fr")
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert healthy.stdout.splitlines() == [
        "base      ok     joignable",
        "tâches    ok     aucune bloquée",
        "courriels ok     les envois passent",
    ]
    with sqlite3.connect(tmp_path / "e.db") as db:
        _email(db, "old", "pending", 60)
        _email(db, "older", "pending", 90)
    stalled = _cli(tmp_path, "health", lang="fr")
    assert stalled.returncode == 1
    assert "courriels ÉCHEC  2 courriels à envoyer depuis plus de 15 min" in stalled.stdout
    (tmp_path / "e.db").write_bytes(b"not a database at all" * 100)
    broken = _cli(tmp_path, "health", lang="fr")
    assert broken.returncode == 1 and broken.stdout.startswith("base      ÉCHEC  injoignable : ")


def test_health_fails_when_the_database_cannot_be_read(tmp_path: Path) -> None:
    (tmp_path / "e.db").write_bytes(b"not a database at all" * 100)
    result = _cli(tmp_path, "health")
    assert result.returncode == 1 and result.stdout.startswith("database  FAIL")


def test_mail_retry_requeues_failed_emails(tmp_path: Path) -> None:
    assert _cli(tmp_path, "migrate").returncode == 0
    with sqlite3.connect(tmp_path / "e.db") as db:
        _email(db, "f1", "failed", 5)
        _email(db, "f2", "failed", 5)
        _email(db, "s1", "sent", 5)
    result = _cli(tmp_path, "mail", "retry")
    assert result.returncode == 0 and result.stdout.strip() == "2 failed emails queued again."
    with sqlite3.connect(tmp_path / "e.db") as db:
        rows = dict(db.execute("SELECT dedupe_key, status || '/' || attempts FROM outbox_emails"))
    assert rows == {"f1": "pending/0", "f2": "pending/0", "s1": "sent/3"}
