"""Every `entonnoir` subcommand answers a failure with one sentence and a non-zero exit code,
never a traceback: bad arguments, missing users, missing or unreadable files, an unreachable
or broken database. The real CLI, in a subprocess, as a user would run it.

The subcommands are read from the parser itself, so a subcommand added later (in any
`bot/cli/` module) goes through the generic cases without touching this file.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.__main__ import build_parser
from tests.services import free_port

Leaf = tuple[tuple[str, ...], argparse.ArgumentParser]

# Plausible values for the required arguments, by their name; anything else gets "x".
VALUES = {"as_user": "admin", "telegram_id": "5", "role": "sales", "name": "ann"}
PER_COMMAND = {("jobs", "run"): {"name": "overdue"}}


def leaves(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> Iterator[Leaf]:
    """Every runnable subcommand (`user add`, `jobs run`, ...) with its parser."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield prefix, parser
        return
    for name, sub in subs[0].choices.items():
        yield from leaves(sub, (*prefix, name))


def plausible_argv(path: tuple[str, ...], parser: argparse.ArgumentParser, folder: Path) -> list[str]:
    """The subcommand with a valid-looking value for each required argument."""
    files = {"file": str(folder / "contacts.csv"), "dir": str(folder / "out")}
    argv = list(path)
    for action in parser._actions:
        if action.dest == "help" or (action.option_strings and not action.required):
            continue
        value = (
            PER_COMMAND.get(path, {}).get(action.dest)
            or files.get(action.dest)
            or (str(next(iter(action.choices))) if action.choices else VALUES.get(action.dest, "x"))
        )
        argv += [action.option_strings[0], value] if action.option_strings else [value]
    return argv


class Cli:
    """Runs `python -m bot ...` in a scratch folder with its own settings (no `.env`)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TELEGRAM_", "DATABASE_", "SMTP_", "IMAP_"))
        }
        self.env.update(
            DATABASE_URL=f"sqlite://{folder}/var/entonnoir.db",
            VAR_DIR=str(folder / "var"),
            PYTHONWARNINGS="ignore",
            DEFAULT_LANGUAGE="en",
        )

    def __call__(self, *argv: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *argv],
            cwd=self.folder,
            text=True,
            capture_output=True,
            env={**self.env, **env},
            timeout=120,
            stdin=subprocess.DEVNULL,
            check=False,
        )

    def many(self, runs: list[tuple[list[str], dict[str, str]]]) -> list[subprocess.CompletedProcess[str]]:
        with ThreadPoolExecutor(max_workers=3) as pool:
            return list(pool.map(lambda run: self(*run[0], **run[1]), runs))


def one_sentence(result: subprocess.CompletedProcess[str], *, code: int | None = None) -> str:
    """The failure's single line on stderr (asserted: no traceback, non-zero exit)."""
    shown = f"$ entonnoir {' '.join(result.args[3:])}\n{result.stdout}{result.stderr}"
    assert "Traceback" not in result.stdout + result.stderr, shown
    assert result.returncode != 0 if code is None else result.returncode == code, shown
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("entonnoir"), shown
    return lines[0]


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    (tmp_path / "contacts.csv").write_text("Nom;Téléphone\nAnn Martin;0612345678\n", encoding="utf-8")
    (tmp_path / "a-folder").mkdir()
    return Cli(tmp_path)


def test_every_subcommand_answers_bad_arguments_and_an_unreachable_database_in_one_sentence(cli: Cli) -> None:
    commands = list(leaves(build_parser()))
    assert {"import", "export", "backup", "restore", "migrate", "invite"} <= {p[0] for p, _ in commands}
    assert {("user", "add"), ("jobs", "run"), ("mail", "poll")} <= {p for p, _ in commands}
    nowhere = f"postgres://crm:pw-secret@127.0.0.1:{free_port()}/crm"
    runs: list[tuple[list[str], dict[str, str]]] = []
    for path, parser in commands:
        runs.append(([*path, "--no-such-option"], {}))
        runs.append((plausible_argv(path, parser, cli.folder), {"DATABASE_URL": nowhere}))
    results = cli.many(runs)
    for (path, _), bad, unreachable in zip(commands, results[::2], results[1::2], strict=True):
        assert "--help" in one_sentence(bad, code=2), path
        out = unreachable.stdout + unreachable.stderr
        assert "Traceback" not in out and "pw-secret" not in out, out
        if unreachable.returncode != 0:  # `jobs list` needs no database and succeeds
            one_sentence(unreachable)
    said = [one_sentence(r) for r in results[1::2] if r.returncode != 0]
    assert len(said) >= len(commands) - 2
    assert any("crm:***@127.0.0.1" in line and "DATABASE_URL" in line for line in said), said


def test_missing_users_files_and_a_broken_database_in_one_sentence(cli: Cli) -> None:
    folder = cli.folder
    assert cli("user", "add", "--telegram-id", "5", "--name", "sam", "--role", "sales").returncode == 0
    (folder / "junk.db").write_bytes(b"not a database at all\x00" * 50)
    broken = {"DATABASE_URL": f"sqlite://{folder}/junk.db"}
    unreadable = folder / "locked.csv"
    unreadable.write_text("Nom\nAnn\n")
    unreadable.chmod(0)  # unreadable for anyone but root; /proc/self/mem fails for root too
    cases: list[tuple[list[str], dict[str, str], str]] = [
        # users: none of them is an admin; a name nobody has
        (["import", "contacts", "contacts.csv"], {}, "--as USER"),
        (["import", "contacts", "contacts.csv", "--as", "nobody"], {}, "nobody"),
        (["chat", "--as", "nobody"], {}, "nobody"),
        # files: missing, a folder, unreadable, unwritable, not what they claim
        (["import", "contacts", "missing.csv", "--as", "sam"], {}, "missing.csv"),
        (["import", "contacts", "a-folder", "--as", "sam"], {}, "a-folder"),
        (["import", "contacts", "/proc/self/mem", "--as", "sam"], {}, "/proc/self/mem"),
        (["restore", "missing.db"], {}, "missing.db"),
        (["restore", "contacts.csv"], {}, "contacts.csv"),
        (["export", "--format", "csv", "contacts.csv"], {}, "contacts.csv"),
        (["backup", "/proc/entonnoir/backup.db"], {}, "/proc/entonnoir"),
        # values argparse cannot check
        (["user", "add", "--telegram-id", "6", "--name", "x", "--role", "king"], {}, "king"),
        (["invite", "--role", "king"], {}, "king"),
        (["jobs", "run", "no-such-job"], {}, "no-such-job"),
        # a file that is not a database where the database should be
        (["migrate"], broken, "junk.db"),
        (["import", "contacts", "contacts.csv"], broken, "junk.db"),
    ]
    if os.geteuid() != 0:
        cases.append((["import", "contacts", str(unreadable), "--as", "sam"], {}, "locked.csv"))
    results = cli.many([(argv, env) for argv, env, _ in cases])
    for (argv, _, named), result in zip(cases, results, strict=True):
        assert named in one_sentence(result), (argv, result.stderr)


def test_cli_messages_name_cli_options_not_chat_buttons(cli: Cli) -> None:
    assert cli("user", "add", "--telegram-id", "9", "--name", "boss", "--role", "manager").returncode == 0
    (cli.folder / "rows.csv").write_text(
        "Nom;Téléphone;E-mail\nAnn Martin;0612345678;not-an-email@\nBob Durand;0612345679;b@x.fr\n",
        encoding="utf-8",
    )
    refused, dry = cli.many(
        [
            (["import", "contacts", "rows.csv", "--as", "boss"], {}),
            (["import", "contacts", "rows.csv", "--as", "boss", "--dry-run"], {}),
        ]
    )  # neither writes anything; then the one that does
    valid = cli("import", "contacts", "rows.csv", "--as", "boss", "--only-valid")
    sentence = one_sentence(refused)
    assert "--only-valid" in sentence and "Only valid rows" not in sentence
    assert "Dry run: 1 new, 0 merged, 1 rejected." in dry.stdout and dry.returncode == 0
    assert "row 2:" in dry.stdout
    assert "Imported: 1 new, 0 merged, 1 rejected." in valid.stdout and valid.returncode == 0
