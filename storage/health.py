"""Readiness checks shared by `/readyz` and `entonnoir health`: database, jobs, outbox."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise import connections

from storage.formatting import counted
from storage.jobs import stuck_jobs
from storage.models import OutboxEmail, OutboxStatus
from storage.outbox import LEASE

__all__ = ["STALL_AFTER", "Check", "readiness"]

STALL_AFTER = timedelta(minutes=15)  # a due email older than this: the outbox is stalled


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{self.name:9} {'ok' if self.ok else 'FAIL':4}  {self.detail}"


async def readiness(now: datetime) -> list[Check]:
    """Database reachable, no job stuck past its lease, no email waiting past STALL_AFTER."""
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception as exc:  # any driver error means "not reachable"
        return [Check("database", False, f"{type(exc).__name__}: {exc}"[:200])]
    checks = [Check("database", True, "reachable")]
    stuck = await stuck_jobs(now)
    checks.append(
        Check("jobs", not stuck, f"stuck past their lease: {', '.join(stuck)}" if stuck else "none stuck")
    )
    late = (
        await OutboxEmail.filter(
            status=OutboxStatus.PENDING,
            created_at__lt=now - STALL_AFTER,
        )
        .filter(next_attempt_at__isnull=True)
        .count()
        + await OutboxEmail.filter(status=OutboxStatus.PENDING, next_attempt_at__lt=now - STALL_AFTER).count()
    )
    held = await OutboxEmail.filter(status=OutboxStatus.SENDING, claimed_at__lt=now - 2 * LEASE).count()
    stalled = late + held
    checks.append(
        Check(
            "outbox",
            stalled == 0,
            f"{counted(late, 'email', 'emails')} due for over "
            f"{int(STALL_AFTER.total_seconds() // 60)}"
            f" min, {held} held past the lease"
            if stalled
            else "flowing",
        )
    )
    return checks
