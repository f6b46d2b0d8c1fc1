"""Job bookkeeping: last run, duration and outcome of each background job."""

from __future__ import annotations

from datetime import UTC, datetime

from storage.alerts import alert_role
from storage.models import JobRun, Role

__all__ = ["job_failed", "job_runs", "job_started", "job_succeeded"]


async def job_started(name: str, now: datetime | None = None) -> JobRun:
    """Record that a job starts."""
    run, _ = await JobRun.get_or_create(name=name)
    run.last_started_at = now or datetime.now(UTC)
    await run.save(update_fields=["last_started_at"])
    return run


async def job_succeeded(run: JobRun, detail: str, duration_ms: int) -> None:
    """Record a successful run (resets the failure streak)."""
    now = datetime.now(UTC)
    run.last_finished_at = run.last_success_at = now
    run.duration_ms, run.outcome, run.detail = duration_ms, "ok", detail[:2000]
    run.consecutive_failures = 0
    await run.save()


async def job_failed(run: JobRun, error: str, duration_ms: int) -> None:
    """Record a failure; the first failure of a streak alerts the admins (once)."""
    run.last_finished_at = datetime.now(UTC)
    run.duration_ms, run.outcome, run.detail = duration_ms, "error", error[:2000]
    run.consecutive_failures += 1
    await run.save()
    if run.consecutive_failures == 1:
        streak = run.last_finished_at.strftime("%Y%m%dT%H%M%S")
        await alert_role(
            (Role.ADMIN,), "job_failed", f"job-failed:{run.name}:{streak}",
            {"job": run.name, "error": error[:300]},
        )


async def job_runs() -> list[JobRun]:
    """Every job's bookkeeping row, by name."""
    return list(await JobRun.all().order_by("name"))
