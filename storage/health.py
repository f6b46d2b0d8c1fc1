"""Readiness checks shared by `/readyz` and `entonnoir health`: database, jobs, outbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tortoise import connections

from storage.i18n import text
from storage.jobs import stuck_jobs
from storage.models import OutboxEmail, OutboxStatus
from storage.outbox import LEASE

__all__ = ["STALL_AFTER", "Check", "readiness", "unreachable"]

STALL_AFTER = timedelta(minutes=15)  # a due email older than this: the outbox is stalled


@dataclass(frozen=True)
class Check:
    """One check's outcome; its words come from the catalogue (`health.<key>` with `params`),
    said in the operator's language by `line(lang)`; `detail` is the English one (/readyz)."""

    name: str  # database, jobs, outbox
    ok: bool
    key: str
    params: dict[str, object] = field(default_factory=dict)

    @property
    def detail(self) -> str:
        return self.said("en")

    def said(self, lang: str) -> str:
        return text(lang, f"health.{self.key}", **self.params)

    def line(self, lang: str = "en") -> str:
        """`database  ok    reachable`: name, state and detail in columns."""
        width = max(len(text(lang, "health.ok")), len(text(lang, "health.fail")))
        state = text(lang, "health.ok" if self.ok else "health.fail")
        return f"{text(lang, f'health.name_{self.name}'):9} {state:{width}}  {self.said(lang)}"


def unreachable(error: BaseException) -> Check:
    """The database check of a database that cannot be used at all."""
    return Check("database", False, "database_down", {"error": f"{type(error).__name__}: {error}"[:200]})


async def readiness(now: datetime) -> list[Check]:
    """Database reachable, no job stuck past its lease, no email waiting past STALL_AFTER."""
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception as exc:  # any driver error means "not reachable"
        return [unreachable(exc)]
    checks = [Check("database", True, "database_ok")]
    stuck = await stuck_jobs(now)
    jobs_check = Check("jobs", False, "jobs_stuck", {"jobs": ", ".join(stuck)}) if stuck else None
    checks.append(jobs_check or Check("jobs", True, "jobs_ok"))
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
    minutes = int(STALL_AFTER.total_seconds() // 60)
    checks.append(
        Check("outbox", False, "outbox_stalled", {"late": late, "minutes": minutes, "held": held})
        if late or held
        else Check("outbox", True, "outbox_ok")
    )
    return checks
