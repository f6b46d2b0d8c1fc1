"""The inbox job: one pass over the payments mailbox (IMAP, or the local Maildir)."""

from __future__ import annotations

from telegram import Bot

from bot.context import Services
from bot.jobs import JobSpec
from bot.settings import Settings
from mail.inbox import ImapAccount, InboxRules, PassReport, imap_pass, maildir_pass
from storage.i18n import Phrase

__all__ = ["JOBS", "imap_account", "inbox_pass", "inbox_rules"]


def inbox_rules(settings: Settings) -> InboxRules:
    """Trust and parsing rules from the settings."""
    return InboxRules(
        allowed_senders=tuple(settings.allowed_senders),
        authserv_id=settings.authserv_id,
        templates_file=settings.bank_templates_file,
        company_ibans=(settings.company_iban,) if settings.company_iban else (),
    )


def imap_account(settings: Settings) -> ImapAccount | None:
    """The IMAP account, or None when no host is configured (embedded Maildir)."""
    if not settings.imap_host:
        return None
    password = settings.imap_password.get_secret_value() if settings.imap_password else ""
    return ImapAccount(
        host=settings.imap_host,
        port=settings.imap_port,
        user=settings.imap_user or "",
        password=password,
        security=settings.imap_security,
        folder=settings.imap_folder,
        processed_folder=settings.imap_processed_folder,
        quarantine_folder=settings.imap_quarantine_folder,
    )


async def inbox_pass(settings: Settings) -> PassReport:
    """One pass: the IMAP folder when configured, else `var/mail/inbox`."""
    account = imap_account(settings)
    if account is None:
        return await maildir_pass(settings.var_dir / "mail", inbox_rules(settings))
    return await imap_pass(account, inbox_rules(settings))


async def poll(services: Services, bot: Bot | None) -> Phrase:
    """Read the bank's payment mail and settle invoices."""
    report = await inbox_pass(services.settings)
    if report.error:
        raise RuntimeError(report.error)
    counts = {
        "count": len(report.outcomes),
        "processed": report.count("processed"),
        "quarantined": report.count("quarantined"),
        "unread": report.count("unrecognised"),
    }
    return Phrase.of(("job.inbox", counts))


JOBS = [
    JobSpec("inbox", poll, every=lambda services: float(services.settings.imap_poll_seconds), business=False)
]
