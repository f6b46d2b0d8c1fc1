"""Job bookkeeping and claims: last run, duration and outcome of each background job.

With several instances on one database, a periodic job runs once per period across all
of them: `claim_run` is one guarded UPDATE on the job's row (its period since the last
start has passed, and no other runner's lease is live); the runner that loses the race
does nothing and records nothing. A runner killed mid-run holds the lease until it ends,
then any instance takes the job again.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from storage.alerts import alert_role
from storage.i18n import Phrase
from storage.models import JobRun, Role

__all__ = [
    "claim_run",
    "job_failed",
    "job_raced",
    "job_runs",
    "job_started",
    "job_succeeded",
    "stuck_jobs",
]

_SLACK = 0.9  # a run claims the period once 90 % of it has passed (timers drift a little)


async def _row(name: str) -> JobRun:
    try:
        run, _ = await JobRun.get_or_create(name=name)
    except IntegrityError:  # another instance created it at the same moment
        run = await JobRun.get(name=name)
    return run


async def claim_run(
    name: str, now: datetime, period: timedelta, lease: timedelta, *, wall: datetime | None = None
) -> JobRun | None:
    """Take this period's run of `name` for this runner, or None when another has it.

    `now`: the job's clock (periods); `wall`: the real clock (leases), the same in
    production; a simulation shifts only the first.
    """
    await _row(name)
    wall = wall or now
    token = uuid.uuid4().hex
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=wall)
    due = Q(last_started_at__isnull=True) | Q(last_started_at__lte=now - period * _SLACK)
    taken = await JobRun.filter(Q(name=name) & free & due).update(
        claim_token=token, lease_until=wall + lease, last_started_at=now
    )
    if not taken:
        return None
    return await JobRun.get(name=name, claim_token=token)


async def job_started(name: str, now: datetime | None = None) -> JobRun:
    """Record that a job starts (a run not claimed: by hand, or a queue job)."""
    run = await _row(name)
    run.last_started_at = now or datetime.now(UTC)
    await JobRun.filter(id=run.id).update(last_started_at=run.last_started_at)
    return run


def _held(run: JobRun) -> Q:
    """The job's row; when `run` came from a claim, only while that claim holds it."""
    return Q(id=run.id, claim_token=run.claim_token) if run.claim_token else Q(id=run.id)


async def job_succeeded(run: JobRun, detail: str | Phrase, duration_ms: int) -> None:
    """Record a successful run (resets the failure streak, ends the lease); a `Phrase`
    detail is kept as catalogue messages too, for /status in the reader's language."""
    now = datetime.now(UTC)
    await JobRun.filter(_held(run)).update(
        last_finished_at=now,
        last_success_at=now,
        duration_ms=duration_ms,
        outcome="ok",
        detail=str(detail)[:2000],
        summary=detail.as_json() if isinstance(detail, Phrase) else None,
        consecutive_failures=0,
        claim_token=None,
        lease_until=None,
    )


async def job_raced(run: JobRun, detail: str, duration_ms: int) -> None:
    """Another instance won a uniqueness race (its transaction rolled ours back): no alert."""
    await JobRun.filter(_held(run)).update(
        last_finished_at=datetime.now(UTC),
        duration_ms=duration_ms,
        outcome="raced",
        detail=detail[:2000],
        summary=None,
        claim_token=None,
        lease_until=None,
    )


async def job_failed(run: JobRun, error: str, duration_ms: int) -> None:
    """Record a failure; the first failure of a streak alerts the admins (once)."""
    fresh = await JobRun.get_or_none(_held(run))
    if fresh is None:
        return
    fresh.last_finished_at = datetime.now(UTC)
    fresh.duration_ms, fresh.outcome, fresh.detail = duration_ms, "error", error[:2000]
    fresh.summary = None
    fresh.consecutive_failures += 1
    fresh.claim_token, fresh.lease_until = None, None
    await fresh.save()
    if fresh.consecutive_failures == 1:
        streak = fresh.last_finished_at.strftime("%Y%m%dT%H%M%S")
        await alert_role(
            (Role.ADMIN,),
            "job_failed",
            f"job-failed:{fresh.name}:{streak}",
            {"job": fresh.name, "error": error[:300]},
        )


async def stuck_jobs(now: datetime) -> list[str]:
    """Jobs whose runner's lease ran out without the run finishing (for /readyz)."""
    rows = await JobRun.filter(claim_token__isnull=False, lease_until__lt=now)
    return [r.name for r in rows]


async def job_runs() -> list[JobRun]:
    """Every job's bookkeeping row, by name."""
    return list(await JobRun.all().order_by("name"))
