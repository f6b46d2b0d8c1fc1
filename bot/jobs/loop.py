"""The business jobs: overdue scan and dunning, purchasing check, task reminders, digest.

Each job is one call into a tested use-case of `storage/`, with today's date and the day's
bounds taken in the company time zone. All are idempotent (dedupe keys, levels, reminded_at),
so the first run after days down does once what was missed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from telegram import Bot

from bot.context import Services
from bot.jobs import JobSpec
from bot.seller import company_from_settings
from bot.settings import Settings
from storage.collections import scan_overdue
from storage.i18n import Phrase
from storage.purchasing import purchasing_check
from storage.reports import queue_digests, task_reminders

__all__ = ["JOBS", "local_day"]


def local_day(now: datetime, settings: Settings) -> tuple[date, datetime, datetime]:
    """Today in the company zone, and its bounds as UTC datetimes."""
    today = now.astimezone(settings.zone).date()
    start = datetime.combine(today, time(0), settings.zone).astimezone(UTC)
    end = datetime.combine(today + timedelta(days=1), time(0), settings.zone).astimezone(UTC)
    return today, start, end


def _digest_time(settings: Settings) -> time:
    hours, minutes = settings.digest_time.split(":")
    return time(int(hours), int(minutes))


async def overdue(services: Services, bot: Bot | None) -> Phrase:
    """Open collection tasks for overdue invoices and run the dunning levels due."""
    now = services.now()
    today, _, _ = local_day(now, services.settings)
    result = await scan_overdue(
        today, now, company_from_settings(services.settings), services.settings.dunning_levels
    )
    return Phrase.of(
        ("job.tasks_opened", {"count": result.opened}),
        ("job.dunning_queued", {"count": result.emails}),
        ("job.escalated", {"count": result.escalated}),
        ("job.closed", {"count": result.closed}),
    )


async def purchasing(services: Services, bot: Bot | None) -> Phrase:
    """Draft the purchase orders that won deals and reorder points need."""
    result = await purchasing_check(services.now())
    orders = ", ".join(f"PO{i}" for i in result.drafts)
    return Phrase.of(
        ("job.products_short", {"count": result.short}),
        ("job.draft_orders", {"orders": orders}) if orders else ("job.no_draft_orders", {}),
        ("job.no_supplier", {"products": ", ".join(result.no_supplier)}) if result.no_supplier else None,
    )


async def reminders(services: Services, bot: Bot | None) -> Phrase:
    """Alert assignees of tasks falling due."""
    return Phrase.of(("job.task_reminders", {"count": await task_reminders(services.now())}))


async def digest(services: Services, bot: Bot | None) -> Phrase:
    """The managers' morning digest, once a day from the configured local time on.

    Runs every few minutes rather than once at the time, so a bot that was down at 08:00
    still sends that day's digest when it comes back (the per-day dedupe key keeps it once).
    """
    settings = services.settings
    now = services.now()
    today, start, end = local_day(now, settings)
    if now.astimezone(settings.zone).time() < _digest_time(settings):
        return Phrase.of(("job.digest_not_yet", {}))
    sent = await queue_digests(now, today, start, end, settings.default_currency)
    return Phrase.of(("job.digests_queued", {"count": sent}))


JOBS = [
    JobSpec("overdue", overdue, every=lambda s: 3600.0),
    JobSpec("purchasing", purchasing, every=lambda s: 900.0),
    JobSpec("task_reminders", reminders, every=lambda s: 60.0),
    JobSpec("digest", digest, every=lambda s: 600.0),
]
