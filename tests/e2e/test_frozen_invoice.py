"""An issued invoice never changes: the same bytes (SHA-256) wherever it goes afterwards.

Issued through the real Application, emailed through a loopback SMTP server; then the
company moves and changes bank (the bot restarts with a new COMPANY_IBAN and
COMPANY_ADDRESS) and the client's billing address changes: `/invoicepdf`, a re-send and
the dunning reminder still carry the bytes issued. A draft issued after the change
follows the new data.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import facturx
import pytest
import time_machine

from bot.app import build_application
from bot.cli.documents import export_pdfs
from bot.context import Ctx, Services
from bot.jobs import all_jobs, run_job
from bot.seller import renderer_from_settings, seller_from_settings
from bot.settings import Settings
from mail.sender import flush_outbox
from storage.errors import UserError
from storage.models import Contact, ContactKind, Deal, Invoice, InvoiceDocument, Role
from tests.harness import ChatHarness, Person
from tests.mail.smtp_server import LoopbackSmtp
from tests.strict_api import StrictBotApi

NEW_IBAN = "FR7630004000031234567890143"
NEW_ADDRESS = "9 avenue du Prado\n13008 Marseille\nFrance"
START = datetime(2026, 4, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def smtp() -> Iterator[LoopbackSmtp]:
    server = LoopbackSmtp()
    server.start()
    yield server
    server.stop()


@asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[ChatHarness]:
    """The real Application as `entonnoir run` builds it (no job queue: jobs run by hand)."""
    from bot.__main__ import bootstrap

    request = StrictBotApi(settings.bot_username)
    app = build_application(bootstrap(settings), request=request, rate_limit=False, jobs=False)
    harness = ChatHarness(app, request)

    async def fail_on_unexpected(update: object, ctx: Ctx) -> None:
        if ctx.error is not None and not isinstance(ctx.error, UserError):
            harness.unexpected.append(ctx.error)

    app.add_error_handler(fail_on_unexpected)
    async with app:
        yield harness


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pdf_of(message: EmailMessage) -> bytes:
    (part,) = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    return bytes(part.get_content())


async def test_issued_bytes_never_change(
    db: str, settings: Settings, smtp: LoopbackSmtp, tmp_path: Path
) -> None:
    with time_machine.travel(START, tick=False):
        async with running(settings) as chat:
            boss = await chat.user("boss", Role.MANAGER)
            await boss.says("/newproduct WIDGET | Widget à ressort | 12,34 | 20 | unit")
            alice = await chat.user("alice", Role.SALES)
            await alice.says("/newcontact Ann Martin | +33612345678 | ann@acme.example | ACME SA")
            acme = await Contact.get(name="ACME SA", kind=ContactKind.COMPANY)
            ann = await Contact.get(name="Ann Martin")
            await alice.says(f"/billing C{acme.id} address 3 rue Neuve, 69001 Lyon")
            await alice.says(f"/billing C{acme.id} email compta@acme.example")
            await alice.says(f"/newdeal C{ann.id} | Commande | 100")
            deal = await Deal.get(title="Commande")
            await alice.says(f"/addline D{deal.id} | WIDGET | 3")
            await alice.says(f"/won D{deal.id}")
            await alice.says(f"/invoice D{deal.id}")
            await alice.presses("Issue")
            assert "F2026-00001" in alice.last_text
        sent = await flush_outbox(smtp.config(tmp_path, seller=seller_from_settings(settings)))
        assert sent.sent == 1
    invoice = await Invoice.get(number="F2026-00001")
    frozen = await InvoiceDocument.get(invoice_id=invoice.id)
    emailed = pdf_of(smtp.messages[0])
    assert sha(emailed) == frozen.sha256

    # The company moves and changes bank; the bot restarts with the new settings.
    moved = settings.model_copy(update={"company_iban": NEW_IBAN, "company_address": NEW_ADDRESS})
    later = START + timedelta(days=40)  # past the due date: the reminder job has work
    with time_machine.travel(later, tick=False):
        async with running(moved) as chat:
            alice = Person(chat, alice.telegram_id, "alice", "en")
            await alice.says(f"/billing C{acme.id} address 1 place Bellecour, 69002 Lyon")
            assert "1 place Bellecour" in alice.last_text
            await alice.says("/invoicepdf F2026-00001")
            doc = next(s for s in alice.replies if s.method == "sendDocument")
            _, in_chat = next(iter(doc.files.values()))
            await alice.says("/send F2026-00001")  # a re-send
            assert "queued" in alice.last_text
            services = Services(settings=moved, resolve_user=lambda _id: None)  # type: ignore[arg-type, return-value]
            detail = await run_job(all_jobs()["overdue"], services, None)
            assert "1 dunning email queued" in detail, detail
            # A new draft follows the live data: new IBAN, the client's new address.
            await alice.says(f"/newinvoice C{acme.id}")
            draft = await Invoice.filter(status="draft").get()
            await alice.says(f"/addline I{draft.id} | WIDGET | 1")
            await alice.says(f"/issue I{draft.id}")
            assert "F2026-00002" in alice.last_text
        result = await flush_outbox(smtp.config(tmp_path, seller=seller_from_settings(moved)))
        assert result.failed == 0 and result.sent == 3
    messages = smtp.messages
    resent = next(m for m in messages[1:] if m["Subject"].startswith("Facture F2026-00001"))
    reminder = next(m for m in messages if m["Subject"].startswith("Rappel : facture F2026-00001"))
    digests = {sha(emailed), sha(bytes(in_chat)), sha(pdf_of(resent)), sha(pdf_of(reminder))}
    assert digests == {frozen.sha256}
    xml = facturx.get_xml_from_pdf(bytes(in_chat), check_xsd=False)[1]
    assert b"FR7630006000011234567890189" in xml and NEW_IBAN.encode() not in xml
    assert b"Neuve" in xml and b"Bellecour" not in xml and b"Marseille" not in xml
    # The accountant's export: the same bytes again, with a checkable SHA256SUMS.
    assert await export_pdfs(tmp_path / "pdfs", renderer_from_settings(moved)) == 2
    assert (tmp_path / "pdfs" / "F2026-00001.pdf").read_bytes() == emailed
    assert f"{frozen.sha256}  F2026-00001.pdf" in (tmp_path / "pdfs" / "SHA256SUMS").read_text()
    newer = next(m for m in messages if m["Subject"].startswith("Facture F2026-00002"))
    new_xml = facturx.get_xml_from_pdf(pdf_of(newer), check_xsd=False)[1]
    assert NEW_IBAN.encode() in new_xml and b"Marseille" in new_xml and b"Bellecour" in new_xml
