"""`entonnoir jobs list` and `entonnoir jobs run NAME`: one background job, once, by hand."""

from __future__ import annotations

import argparse
from typing import Any

from bot.settings import Settings
from storage.db import close_db, init_db
from storage.errors import NotFound

__all__ = ["register"]


async def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    """Print every job's name and its schedule."""
    from bot.context import Services
    from bot.jobs import all_jobs

    services = Services(settings=settings, resolve_user=_no_user)
    for name, spec in sorted(all_jobs().items()):
        when = (
            f"every {spec.every(services):g} s"
            if spec.every is not None
            else f"daily at {spec.daily_at(services)}"
            if spec.daily_at is not None
            else ""
        )
        doc = (spec.run.__doc__ or "").strip().splitlines()[0] if spec.run.__doc__ else ""
        print(f"{name:16} {when:16} {doc}")
    return 0


async def _no_user(telegram_id: int) -> Any:
    return None


async def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """Run one job once and print what it did (0 when it succeeded)."""
    from bot.__main__ import bootstrap
    from bot.jobs import all_jobs, run_job

    spec = all_jobs().get(args.name)
    if spec is None:
        raise NotFound("job", name=args.name)
    await init_db(settings.database_url)
    try:
        detail = await run_job(spec, bootstrap(settings), None, force=True)
    finally:
        await close_db()
    print(f"{spec.name}: {detail}")
    return 1 if detail.startswith("error:") else 0


def register(sub: Any) -> None:
    jobs = sub.add_parser("jobs", help="background jobs").add_subparsers(dest="jobs_cmd", required=True)
    jobs.add_parser("list", help="list the jobs").set_defaults(func=cmd_list)
    run = jobs.add_parser("run", help="run one job once")
    run.add_argument("name")
    run.set_defaults(func=cmd_run)
