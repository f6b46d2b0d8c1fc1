"""Extra subcommands, one module per area, each exposing `register(subparsers)`; and what
every subcommand shares: its argument parser and the one sentence it answers a failure with.

Any failure of any subcommand ends as one line on stderr and a non-zero exit, never a
traceback (`-v` logs the traceback as well, for a developer):

    UserError                      the use-case's own sentence (`cli.error.<code>`, when the
                                   chat's wording names a button, else `error.<code>`)   -> 1
    bad arguments                  argparse's sentence and where to read the help         -> 2
    a file missing / unreadable    `cannot use PATH: REASON.`                             -> 1
    the database unreachable       `the database URL (password hidden) cannot be used`    -> 1
    anything else                  `unexpected error (Type: message)`                     -> 1
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "CliParser",
    "cli_text",
    "failure_sentence",
    "hide_password",
    "read_bytes",
    "report",
    "set_cli_language",
]


def _language_from_environment() -> str:
    """DEFAULT_LANGUAGE as set in the environment (before the settings are read), else French
    (the settings' default)."""
    wanted = os.environ.get("DEFAULT_LANGUAGE", "").strip().lower()
    return wanted if wanted in ("fr", "en") else "fr"


LANG = _language_from_environment()
# Modules whose frames mean "the database failed", not the command.
_DATABASE_MODULES = ("tortoise", "asyncpg", "aiosqlite", "sqlite3", "pypika", "storage.db")


def _plain(text: Any) -> str:
    """Chat markup removed, on one line (a tool's multi-line stderr included)."""
    from bot.console import plain

    return " ".join(plain(str(text)).split())


def set_cli_language(lang: str) -> None:
    """The command line speaks the configured DEFAULT_LANGUAGE (set once the settings are read)."""
    global LANG
    LANG = lang


def cli_text(key: str, **params: Any) -> str:
    """A message for the command line: `cli.<key>` when there is one, else `<key>`."""
    from bot.i18n import catalogue, t

    cli_key = f"cli.{key}"
    return _plain(t(LANG, cli_key if cli_key in catalogue() else key, **params))


class CliParser(argparse.ArgumentParser):
    """An argument parser whose mistakes are one sentence (usage stays in `--help`);
    subcommand parsers are of the same class, so every area's subcommands get it too."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {cli_text('usage', message=message, prog=self.prog)}\n")


def hide_password(url: str) -> str:
    """The URL with its password replaced by ***."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        host = parts.netloc.rsplit("@", 1)[1]
        return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))
    except ValueError:
        return "(unparsable URL)"


def _frames(tb: TracebackType | None) -> list[str]:
    names = []
    while tb is not None:
        names.append(str(tb.tb_frame.f_globals.get("__name__", "")))
        tb = tb.tb_next
    return names


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def _from_database(exc: BaseException) -> bool:
    for err in _chain(exc):
        if isinstance(err, sqlite3.Error):
            return True
        if type(err).__module__.split(".")[0] in ("tortoise", "asyncpg"):
            return True
        if any(name.startswith(_DATABASE_MODULES) for name in _frames(err.__traceback__)):
            return True
    return False


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def failure_sentence(exc: BaseException, database_url: str) -> str:
    """The one sentence a failed command ends with (see the module's docstring)."""
    for err in _chain(exc):
        if isinstance(err, OSError) and err.filename is not None:
            reason = (err.strerror or str(err)).rstrip(".")
            return cli_text("file", path=str(err.filename), reason=reason[:1].lower() + reason[1:])
    if _from_database(exc):
        key = "database_file" if database_url.startswith("sqlite:") else "database"
        return cli_text(key, url=hide_password(database_url), reason=_reason(exc)[:300])
    return cli_text("unexpected", reason=_reason(exc)[:300])


def read_bytes(path: Path) -> bytes:
    """A file's bytes; a read failure names the file (`read()` errors carry no file name)."""
    try:
        return path.read_bytes()
    except OSError as exc:
        if exc.filename is None:
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
        raise


def report(exc: BaseException, database_url: str) -> int:
    """Print a failure as one sentence on stderr; the exit code."""
    print(f"entonnoir: {failure_sentence(exc, database_url)}", file=sys.stderr)
    return 1
