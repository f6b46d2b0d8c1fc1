"""Consistent snapshots of the database, and their restoration into an empty one.

SQLite: the online backup API (`sqlite3.Connection.backup`) copies a consistent snapshot
page by page while the bot keeps writing. PostgreSQL: `pg_dump --format=custom`, restored
with `pg_restore`. A restore goes only into an empty database (no users, contacts, deals
or invoices); otherwise it refuses with one sentence.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from storage.errors import Conflict, InvalidInput

__all__ = ["DbTarget", "backup", "parse_url", "restore"]

PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
# A restore goes only into an empty database: rows in ANY table refuse it, except the
# migrations' own bookkeeping (a database just migrated is empty).
IGNORED_TABLES = ("tortoise_migrations", "sqlite_sequence", "sqlite_stat1", "sqlite_stat4")


@dataclass(frozen=True)
class DbTarget:
    engine: str  # "sqlite" | "postgres"
    path: Path | None = None
    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"
    password: str | None = field(default=None, repr=False)
    database: str = ""

    def pg_args(self) -> list[str]:
        return ["-h", self.host, "-p", str(self.port), "-U", self.user]

    def pg_env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.password:
            env["PGPASSWORD"] = self.password
        return env


def parse_url(db_url: str) -> DbTarget:
    """`sqlite://path` or `postgres://user:pw@host:port/db` (the password goes to PGPASSWORD)."""
    if db_url.startswith("sqlite://"):
        path = db_url.removeprefix("sqlite://")
        if not path or ":memory:" in path:
            raise InvalidInput("backup_memory")
        return DbTarget("sqlite", path=Path(path))
    parts = urlsplit(db_url)
    if parts.scheme not in ("postgres", "postgresql", "asyncpg", "psycopg"):
        raise InvalidInput("backup_engine", value=parts.scheme)
    return DbTarget(
        "postgres",
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=unquote(parts.username or "postgres"),
        password=unquote(parts.password) if parts.password else None,
        database=parts.path.lstrip("/"),
    )


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for directory in PG_BIN_DIRS:
        if (directory / name).exists():
            return str(directory / name)
    raise InvalidInput("backup_tool", tool=name)


async def backup(db_url: str, out: Path) -> Path:
    """Write a consistent snapshot of the database to `out` (safe while the bot runs)."""
    target = parse_url(db_url)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    if target.engine == "sqlite":
        assert target.path is not None
        if not target.path.exists():
            raise InvalidInput("backup_missing", path=str(target.path))
        await asyncio.to_thread(_sqlite_copy, target.path, tmp)
    else:
        await _run(
            [
                _pg_tool("pg_dump"),
                *target.pg_args(),
                "--format=custom",
                "--no-owner",
                "--file",
                str(tmp),
                target.database,
            ],
            target,
        )
    tmp.replace(out)
    return out


def _sqlite_copy(source: Path, dest: Path) -> None:
    dest.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(dest)
    try:
        with dst:
            # One step (pages=-1): a read transaction, which in WAL mode never blocks the
            # bot's writers, and which no write can restart (a step-wise copy starts over
            # at every write from another connection and never ends under a steady writer).
            src.backup(dst, pages=-1)
    finally:
        dst.close()
        src.close()


async def restore(db_url: str, snapshot: Path) -> None:
    """Bring a snapshot back into an EMPTY database; a database with data is refused."""
    target = parse_url(db_url)
    if not await asyncio.to_thread(snapshot.is_file):
        raise InvalidInput("backup_missing", path=str(snapshot))
    if target.engine == "sqlite":
        assert target.path is not None
        await asyncio.to_thread(_sqlite_restore, snapshot, target.path)
        return
    if await _pg_has_data(target):
        raise Conflict("restore_not_empty", database=target.database)
    await _run(
        [
            _pg_tool("pg_restore"),
            *target.pg_args(),
            "--no-owner",
            "--clean",
            "--if-exists",
            "--single-transaction",
            "--exit-on-error",
            "--dbname",
            target.database,
            str(snapshot),
        ],
        target,
    )


def _sqlite_has_data(path: Path) -> bool:
    if not path.exists() or path.stat().st_size == 0:
        return False
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL TABLE%'"
            )
        ]
        return any(
            con.execute(f'SELECT 1 FROM "{t}" LIMIT 1').fetchone()  # noqa: S608 - catalog names
            for t in tables
            if t not in IGNORED_TABLES
        )
    finally:
        con.close()


def _sqlite_restore(snapshot: Path, path: Path) -> None:
    try:
        check = sqlite3.connect(f"file:{snapshot}?mode=ro", uri=True)
        try:
            check.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            check.close()
    except sqlite3.DatabaseError as exc:
        raise InvalidInput("restore_bad_file", path=str(snapshot)) from exc
    if _sqlite_has_data(path):
        raise Conflict("restore_not_empty", database=str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(f"file:{snapshot}?mode=ro", uri=True)
    dst = sqlite3.connect(path)
    try:
        with dst:
            src.backup(dst)
    finally:
        dst.close()
        src.close()


async def _pg_has_data(target: DbTarget) -> bool:
    listed = await _psql(
        target,
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    tables = [t for t in listed.split() if t not in IGNORED_TABLES]
    if not tables:
        return False
    query = " OR ".join(f'EXISTS (SELECT 1 FROM "{t}")' for t in tables)  # noqa: S608
    return (await _psql(target, f"SELECT {query}")).strip() == "t"


async def _psql(target: DbTarget, sql: str) -> str:
    return await _run(
        [
            _pg_tool("psql"),
            *target.pg_args(),
            "-d",
            target.database,
            "-At",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ],
        target,
    )


async def _run(cmd: list[str], target: DbTarget) -> str:
    def go() -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - a fixed PostgreSQL tool, no shell
            cmd, capture_output=True, text=True, env=target.pg_env(), check=False, timeout=3600
        )

    result = await asyncio.to_thread(go)
    if result.returncode != 0:
        tool = Path(cmd[0]).name
        raise InvalidInput("backup_failed", tool=tool, detail=result.stderr.strip()[-300:])
    return result.stdout
