"""Background jobs run by PTB's JobQueue. Each job is a short call into a tested use-case.

Every module in this package exposes `JOBS: list[JobSpec]`. `run_job` records the run
(start, duration, outcome) and never lets one job's failure stop the others.

With several instances on one database, an `exclusive` job (the scans, the alert
deliverer that paces Telegram's per-bot limits) runs once per period across all of them:
`run_job` first claims the period (`storage.jobs.claim_run`); the instance that loses
does nothing and records nothing. Queue jobs (the outbox) run everywhere: their rows are
claimed one batch at a time. A job that loses a uniqueness race to another instance
(IntegrityError: its transaction rolled back, the other did the work) is recorded as
"raced", without alerting anyone.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from typing import Any

from telegram import Bot
from telegram.ext import Application
from tortoise.exceptions import IntegrityError

from bot.context import Ctx, Services
from bot.logs import bind, unbind
from storage.i18n import Phrase
from storage.jobs import claim_run, job_failed, job_raced, job_started, job_succeeded

__all__ = ["JobSpec", "all_jobs", "run_job", "schedule_all"]

log = logging.getLogger(__name__)

# A job says what it did as catalogue messages (/status in each reader's language), or as
# plain text.
JobFunc = Callable[[Services, Bot | None], Awaitable[str | Phrase]]


@dataclass(frozen=True)
class JobSpec:
    """A job: its name, how often (seconds) or when (local time), and what it calls."""

    name: str
    run: JobFunc
    every: Callable[[Services], float] | None = None
    daily_at: Callable[[Services], dtime] | None = None
    exclusive: bool = True  # once per period across instances (False: a claimed queue)
    lease: float = 600.0  # seconds another instance waits when this runner dies mid-run
    # Business scans run on the jobs' clock (`Services.now`, shifted in simulations);
    # delivery queues on the wall clock (their leases and backoffs are real seconds).
    business: bool = True

    def period(self, services: Services) -> float:
        """Seconds between two runs (a daily job: a day)."""
        return self.every(services) if self.every is not None else 86_400.0


def all_jobs() -> dict[str, JobSpec]:
    """Every job of every module in this package, by name."""
    jobs: dict[str, JobSpec] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for spec in getattr(module, "JOBS", []):
            jobs[spec.name] = spec
    return jobs


async def run_job(spec: JobSpec, services: Services, bot: Bot | None, *, force: bool = False) -> str:
    """Run one job once, recording its outcome; errors are logged and recorded, not raised.

    An exclusive job runs only when this instance claims the period (`force`: by hand,
    whatever the period). Every line logged meanwhile carries the job's name.
    """
    token = bind(job=spec.name, update_id=None, user_id=None)
    try:
        return await _run_job(spec, services, bot, force=force)
    finally:
        unbind(token)


async def _run_job(spec: JobSpec, services: Services, bot: Bot | None, *, force: bool) -> str:
    started = time.perf_counter()
    wall = datetime.now(UTC)
    now = services.now() if spec.business else wall
    if spec.exclusive and not force:
        claimed = await claim_run(
            spec.name, now, timedelta(seconds=spec.period(services)), timedelta(seconds=spec.lease), wall=wall
        )
        if claimed is None:
            return "skipped: another instance has this period's run"
        run = claimed
    else:
        run = await job_started(spec.name, now)
    try:
        detail = await spec.run(services, bot)
    except IntegrityError as exc:
        elapsed = int((time.perf_counter() - started) * 1000)
        log.warning("job %s lost a race to another instance: %s", spec.name, exc)
        await job_raced(run, f"lost a race: {exc}", elapsed)
        return f"raced: {exc}"
    except Exception as exc:
        elapsed = int((time.perf_counter() - started) * 1000)
        log.exception("job %s failed", spec.name)
        await job_failed(run, f"{type(exc).__name__}: {exc}", elapsed)
        return f"error: {type(exc).__name__}: {exc}"
    await job_succeeded(run, detail, int((time.perf_counter() - started) * 1000))
    log.info("job %s: %s", spec.name, detail)
    return str(detail)


def schedule_all(app: Application[Any, Any, Any, Any, Any, Any], skip: frozenset[str] = frozenset()) -> None:
    """Put every job on the application's JobQueue (except those in `skip`)."""
    services: Services = app.bot_data["services"]
    queue = app.job_queue
    assert queue is not None
    for spec in all_jobs().values():
        if spec.name in skip:
            continue

        async def callback(ctx: Ctx, spec: JobSpec = spec) -> None:
            await run_job(spec, ctx.services, ctx.bot)

        if spec.daily_at is not None:
            at = spec.daily_at(services).replace(tzinfo=services.settings.zone)
            queue.run_daily(callback, at, name=spec.name)
        elif spec.every is not None:
            every = spec.every(services)
            tick = services.settings.job_tick_seconds if spec.business else None
            queue.run_repeating(
                callback, min(every, tick) if tick else every, first=min(1.0, tick or 1.0), name=spec.name
            )
