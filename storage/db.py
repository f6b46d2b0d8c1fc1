"""Database wiring: Tortoise configuration, start-up (migrate + seed), shutdown."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.api import migrate as run_migrations

from storage.models import MODEL_MODULES
from storage.search_index import forget_search_index
from storage.sql import close_reader

__all__ = [
    "AlreadyRunning",
    "PooledConnection",
    "close_db",
    "init_db",
    "migrate_db",
    "run_lock",
    "tortoise_config",
]

log = logging.getLogger(__name__)

SQLITE_BUSY_MS = 30_000


def tortoise_config(db_url: str, *, timezone: str = "UTC") -> dict[str, Any]:
    """The Tortoise configuration for a database URL (SQLite or PostgreSQL)."""
    return {
        "connections": {"default": _connection(db_url)},
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "migrations": "storage.migrations",
                "default_connection": "default",
            }
        },
        "use_tz": True,
        "timezone": timezone,
    }


def _check_sqlite_file(path: Path) -> None:
    """Refuse an existing file that is not a SQLite database, before Tortoise opens it: its
    failed first connection keeps the connection lock, and the next query waits forever."""
    if not path.is_file():
        return
    try:
        with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as probe:
            probe.execute("PRAGMA schema_version").fetchone()
    except sqlite3.OperationalError:
        return  # busy, locked, unreadable: Tortoise's own connection reports it
    except sqlite3.DatabaseError as exc:  # "file is not a database"
        raise sqlite3.DatabaseError(f"{path} is not a SQLite database ({exc})") from exc


class PooledConnection(asyncpg.Connection):  # type: ignore[misc]  # asyncpg is untyped
    """A PostgreSQL connection the pool takes back without a reset query.

    Outside transactions Tortoise borrows a pooled connection for each query, and asyncpg
    sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` each time one
    comes back: a second round trip per query, measured by `bench/chat.py`. Entonnoir keeps
    no session state on a connection (no advisory locks, LISTEN, session SET or cursors
    outside transactions), so there is nothing to reset; an open transaction is still rolled
    back on release (asyncpg does that apart from this query). Code that adds session state
    must drop this class or clear its state itself.
    """

    def get_reset_query(self) -> str:
        return ""


def _connection(db_url: str) -> str | dict[str, Any]:
    """SQLite URLs get WAL, a busy timeout and immediate transactions; their parent folder
    is created. PostgreSQL URLs get pooled connections without a reset round trip."""
    if db_url.startswith(("postgres://", "postgresql://")):
        config: dict[str, Any] = expand_db_url(db_url)
        if config["engine"] == "tortoise.backends.asyncpg":
            config["credentials"]["connection_class"] = PooledConnection
        # Plan each statement for its values: asyncpg prepares every query, and after five
        # runs PostgreSQL's generic plan of `search_key LIKE $1` scans the table (10 ms)
        # where the plan for the pattern asks the trigram index (0.5 ms). Planning again
        # costs the server ~0.1 ms per statement.
        config["credentials"].setdefault("server_settings", {})["plan_cache_mode"] = "force_custom_plan"
        return config
    if db_url.startswith("sqlite://") and ":memory:" not in db_url:
        path = Path(db_url.removeprefix("sqlite://"))
        path.parent.mkdir(parents=True, exist_ok=True)
        _check_sqlite_file(path)
        return {
            # Transactions BEGIN IMMEDIATE, and a writer waits up to 30 s for another
            # process's transaction (the bot and a CLI import) instead of "database is locked".
            "engine": "storage.sqlite_backend",
            "credentials": {
                "file_path": str(path),
                "journal_mode": "WAL",
                "journal_size_limit": 16384,
                "foreign_keys": "ON",
                "busy_timeout": SQLITE_BUSY_MS,
            },
        }
    return db_url


# The key of the PostgreSQL advisory lock the start-up steps take ("ento").
STARTUP_LOCK = 0x656E746F


@contextlib.asynccontextmanager
async def _one_start_at_a_time(db_url: str) -> AsyncIterator[None]:
    """On PostgreSQL, instances starting together (a first deploy, a rolling upgrade) run
    the start-up steps — migrations, seeds, the search index — one after the other: a
    session advisory lock on a connection of its own (not the pool's, which keeps no
    session state), released when that connection closes, even if the process dies.
    SQLite has one running instance (`run_lock`) and its transactions wait on each other."""
    if not db_url.startswith(("postgres://", "postgresql://")):
        yield
        return
    credentials = expand_db_url(db_url)["credentials"]
    conn = await asyncpg.connect(
        host=credentials.get("host"),
        port=credentials.get("port"),
        user=credentials.get("user"),
        password=credentials.get("password"),
        database=credentials.get("database"),
        **({"ssl": credentials["ssl"]} if credentials.get("ssl") else {}),
    )
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", STARTUP_LOCK)
        yield
    finally:
        await conn.close()


async def _migrate(db_url: str) -> None:
    await run_migrations(config=tortoise_config(db_url))
    await Tortoise.close_connections()


async def migrate_db(db_url: str) -> None:
    """Apply every pending migration (Tortoise's built-in migrations), one instance at a time."""
    async with _one_start_at_a_time(db_url):
        await _migrate(db_url)


async def init_db(db_url: str, *, migrate: bool = True, generate: bool = False) -> None:
    """Open the database for the app: migrate, connect, seed the default funnel (the steps
    that write run one instance at a time on PostgreSQL)."""
    from storage.constraints import ensure_constraints
    from storage.pipeline import seed_stages
    from storage.purchasing_seed import seed_warehouse
    from storage.search_index import ensure_search_index

    async with _one_start_at_a_time(db_url):
        if migrate:
            await _migrate(db_url)
        await Tortoise.init(config=tortoise_config(db_url), _enable_global_fallback=True)
        if generate:
            await Tortoise.generate_schemas(safe=True)
            await ensure_constraints()
        await seed_stages()
        await seed_warehouse()
        await ensure_search_index()


async def close_db() -> None:
    """Close every connection."""
    close_reader()
    forget_search_index()
    await Tortoise.close_connections()


class AlreadyRunning(Exception):
    """Another `entonnoir run` serves this SQLite file (`pid`, `path`)."""

    def __init__(self, pid: str, path: str) -> None:
        super().__init__(
            f"another entonnoir run (pid {pid}) already serves {path}; "
            "SQLite allows one running instance (use PostgreSQL for several)"
        )
        self.pid, self.path = pid, path


@contextlib.contextmanager
def run_lock(db_url: str) -> Iterator[None]:
    """One running service per SQLite file: an exclusive lock on `<file>.run.lock`.

    The kernel drops the lock when the process ends, even killed. PostgreSQL (any number
    of instances) and in-memory databases need no lock.
    """
    if not db_url.startswith("sqlite://") or ":memory:" in db_url:
        yield
        return
    path = Path(db_url.removeprefix("sqlite://"))
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = Path(f"{path}.run.lock")
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise AlreadyRunning(holder, str(path)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)
