"""`entonnoir mail poll`: one pass over the payments mailbox, printing what it did;
`entonnoir mail retry`: failed emails back into the outbox once their cause is fixed."""

from __future__ import annotations

import argparse
from typing import Any

from bot.cli import cli_text
from bot.settings import Settings
from storage.db import close_db, init_db

__all__ = ["register"]


async def cmd_poll(args: argparse.Namespace, settings: Settings) -> int:
    """Run one inbox pass (for cron and for checks); 1 when the mailbox could not be read."""
    from bot.jobs.inbox import inbox_pass

    await init_db(settings.database_url)
    try:
        report = await inbox_pass(settings)
    finally:
        await close_db()
    print("\n".join(report.lines()))
    return 1 if report.error else 0


async def cmd_retry(args: argparse.Namespace, settings: Settings) -> int:
    """Requeue every failed email (due now); the running service sends them."""
    from datetime import UTC, datetime

    from storage.outbox import requeue_failed

    await init_db(settings.database_url)
    try:
        count = await requeue_failed(datetime.now(UTC))
    finally:
        await close_db()
    print(cli_text("mail_requeued", count=count))
    return 0


def register(sub: Any) -> None:
    mail = sub.add_parser("mail", help="payments mailbox").add_subparsers(dest="mail_cmd", required=True)
    mail.add_parser("poll", help="read the payments mailbox once").set_defaults(func=cmd_poll)
    mail.add_parser("retry", help="requeue the failed emails").set_defaults(func=cmd_retry)
