"""`entonnoir health`: the readiness checks of `/readyz`, printed in the configured language
(DEFAULT_LANGUAGE); non-zero when one fails."""

from __future__ import annotations

import argparse
import contextlib
from datetime import UTC, datetime
from typing import Any

from bot.settings import Settings
from storage.db import close_db, init_db

__all__ = ["register"]


async def cmd_health(args: argparse.Namespace, settings: Settings) -> int:
    """Print each check on its own line; exit 1 when any fails."""
    from storage.health import Check, readiness

    lang = settings.default_language

    try:
        await init_db(settings.database_url, migrate=False)
    except Exception as exc:
        # The database is what is down: that is the answer (its kind only), and the CLI's
        # one sentence on stderr names DATABASE_URL (exit 1).
        down = Check("database", False, "database_down", {"error": type(exc).__name__})
        print(down.line(lang))
        with contextlib.suppress(Exception):
            await close_db()
        raise
    else:
        try:
            checks = await readiness(datetime.now(UTC))
        finally:
            await close_db()
    for check in checks:
        print(check.line(lang))
    return 0 if all(c.ok for c in checks) else 1


def register(sub: Any) -> None:
    sub.add_parser("health", help="check the database, the jobs and the outbox").set_defaults(func=cmd_health)
