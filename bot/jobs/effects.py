"""Jobs that deliver side-effect rows: the email outbox and the alerts."""

from __future__ import annotations

from telegram import Bot

from bot.context import Services
from bot.delivery import Pacer, deliver_alerts
from bot.jobs import JobSpec
from bot.seller import seller_from_settings
from bot.settings import Settings
from mail.sender import SmtpConfig, flush_outbox
from storage.i18n import Phrase

__all__ = ["JOBS", "seller_from_settings", "smtp_config"]


def smtp_config(settings: Settings, seller: object = None) -> SmtpConfig:
    """The sender's configuration from the settings (no host: `.eml` files)."""
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return SmtpConfig(
        host=settings.smtp_host or None,
        port=settings.smtp_port,
        user=settings.smtp_user,
        password=password,
        security=settings.smtp_security,
        timeout=settings.smtp_timeout,
        mail_from=settings.sender,
        eml_dir=settings.var_dir / "mail" / "outbox",
        seller=seller if seller is not None else seller_from_settings(settings),
    )


async def flush(services: Services, bot: Bot | None) -> Phrase:
    """Send the due emails of the outbox."""
    result = await flush_outbox(smtp_config(services.settings), stop=services.stopping)
    return Phrase.of(
        ("job.outbox", {"sent": result.sent, "retried": result.retried, "failed": result.failed}),
        ("job.last_error", {"error": result.errors[-1][:300]}) if result.errors else None,
    )


async def deliver(services: Services, bot: Bot | None) -> Phrase:
    """Deliver the due alerts through the bot (paced across runs)."""
    if bot is None:
        return Phrase.of(("job.alerts_no_bot", {}))
    if services.extra is None:
        services.extra = {}
    pacer = services.extra.setdefault("alert_pacer", Pacer())
    chat_for = None
    if services.console:
        from bot.console import console_id

        chat_for = console_id
    done = await deliver_alerts(bot, services.settings, pacer, chat_for=chat_for, stop=services.stopping)
    counts = {
        "delivered": done.delivered,
        "retried": done.retried,
        "rerouted": done.rerouted,
        "failed": done.failed,
    }
    return Phrase.of(("job.alerts", counts), ("job.quiet_hours", {}) if done.held_quiet else None)


JOBS = [
    JobSpec(
        "outbox",
        flush,
        every=lambda s: float(s.settings.outbox_flush_seconds),
        exclusive=False,
        business=False,
    ),
    # One deliverer at a time across instances: the pacing is per bot, not per instance.
    JobSpec(
        "alerts", deliver, every=lambda s: float(s.settings.alert_flush_seconds), lease=90.0, business=False
    ),
]
