"""The command line, run as a user would: `python -m bot ...` in a fresh directory."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(tmp_path: Path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m bot ARGS` with only the given settings, in tmp_path (no .env there)."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "DATABASE_", "COMPANY_", "TIMEZONE", "SMTP_"))
    }
    clean.update(
        {
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": f"sqlite://{tmp_path}/e.db",
            "DEFAULT_LANGUAGE": "en",
            **env,
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,
        env=clean,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_invite_prints_a_code_and_its_deep_link(tmp_path: Path) -> None:
    result = run(tmp_path, "invite", "--role", "sales", BOT_USERNAME="acme_crm_bot")
    assert result.returncode == 0, result.stderr
    code = re.search(r"Invitation code \(sales, valid 7 days\): (\S+)", result.stdout)
    assert code, result.stdout
    assert f"https://t.me/acme_crm_bot?start={code.group(1)}" in result.stdout
    with sqlite3.connect(tmp_path / "e.db") as db:
        assert db.execute("SELECT role, used_at FROM invites WHERE code=?", (code.group(1),)).fetchall() == [
            ("sales", None)
        ]


def test_the_command_line_speaks_the_configured_language(tmp_path: Path) -> None:
    """DEFAULT_LANGUAGE=fr: results, errors and usage mistakes in French, from the catalogue."""
    migrated = run(tmp_path, "migrate", DEFAULT_LANGUAGE="fr")
    assert migrated.returncode == 0 and migrated.stdout.strip() == "La base de données est à jour."
    ok = run(
        tmp_path,
        "user",
        "add",
        "--telegram-id",
        "42",
        "--name",
        "Ann",
        "--role",
        "manager",
        DEFAULT_LANGUAGE="fr",
    )
    assert ok.stdout.strip() == "Utilisateur U1 Ann (manager) enregistré."
    bad = run(
        tmp_path,
        "user",
        "add",
        "--telegram-id",
        "43",
        "--name",
        "Bob",
        "--role",
        "boss",
        DEFAULT_LANGUAGE="fr",
    )
    assert bad.returncode == 1 and "n'est pas un rôle" in bad.stderr, bad.stderr
    invite = run(tmp_path, "invite", "--role", "sales", BOT_USERNAME="acme_crm_bot", DEFAULT_LANGUAGE="fr")
    assert re.search(r"Code d'invitation \(sales, valable 7 jours\) : \S+", invite.stdout), invite.stdout
    assert "Lien : https://t.me/acme_crm_bot?start=" in invite.stdout
    usage = run(tmp_path, "user", "add", "--name", "X", DEFAULT_LANGUAGE="fr")
    assert usage.returncode == 2 and "(voir `" in usage.stderr, usage.stderr
    wrong = run(tmp_path, "migrate", DEFAULT_LANGUAGE="fr", CONCURRENT_UPDATES="0")
    assert wrong.returncode == 2 and "réglage invalide" in wrong.stderr, wrong.stderr


def test_user_add_registers_and_refuses_a_bad_role(tmp_path: Path) -> None:
    ok = run(tmp_path, "user", "add", "--telegram-id", "42", "--name", "Ann", "--role", "manager")
    assert ok.returncode == 0, ok.stderr
    assert "Ann (manager) registered" in ok.stdout
    bad = run(tmp_path, "user", "add", "--telegram-id", "43", "--name", "Bob", "--role", "boss")
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines() == [
        "entonnoir: “boss” is not a role: choose one of admin, manager, sales, collections, purchasing."
    ]
    again = run(tmp_path, "user", "add", "--telegram-id", "42", "--name", "Ann2", "--role", "sales")
    assert again.returncode == 1 and "already registered" in again.stderr
    with sqlite3.connect(tmp_path / "e.db") as db:
        assert db.execute("SELECT name, role FROM users WHERE telegram_id=42").fetchall() == [
            ("Ann", "manager")
        ]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("COMPANY_TIMEZONE", "Mars/Olympus"),
        ("COMPANY_IBAN", "bad"),
        ("DATABASE_URL", "mysql://x"),
        ("DEFAULT_CURRENCY", "EURO"),
    ],
)
def test_an_invalid_setting_is_one_line_and_exit_code_2(tmp_path: Path, variable: str, value: str) -> None:
    result = run(tmp_path, "invite", "--role", "sales", **{variable: value})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"entonnoir: invalid setting {variable}:")
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert not (tmp_path / "e.db").exists()  # stopped before touching anything


def test_console_chat_prints_replies_and_numbered_buttons_then_exits(tmp_path: Path) -> None:
    script = "/newcontact Ann Martin | +33612345678\n/contacts Ann\n#1\n#9\n"
    result = run(tmp_path, "chat", "--as", "admin", stdin=script, DEFAULT_LANGUAGE="en")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Contact C1 Ann Martin cr" in out  # created / créé (the admin's language)
    assert "1 contact:" in out and "C1 Ann Martin — +33612345678" in out
    assert "[1] C1 Ann Martin" in out
    card = out.split("[1] C1 Ann Martin", 1)[1]
    assert "C1 Ann Martin\n+33612345678" in card and "[1] 📝 Note" in card
    assert "(no button #9)" in out
    assert "<b>" not in out  # HTML is rendered as plain text
    with sqlite3.connect(tmp_path / "e.db") as db:
        assert db.execute("SELECT name, phone FROM contacts").fetchall() == [("Ann Martin", "+33612345678")]
