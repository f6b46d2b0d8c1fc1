"""The invoice email's words, in the client's language (fr/en): subject, text and HTML.

Written into the outbox row at queue time, so the words sent are the words decided with
the change. Values from people are HTML-escaped in the HTML part.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

from storage.formatting import fmt_date, fmt_money
from storage.models import Contact, Invoice, InvoiceKind

if TYPE_CHECKING:
    from storage.seller import Seller

__all__ = ["InvoiceMessage", "compose"]


_TEXT = {
    ("invoice", "fr"): (
        "Facture {number} — {seller}",
        "Bonjour,\n\nVeuillez trouver ci-joint notre facture {number} d'un montant de {amount} TTC, "
        "payable au plus tard le {due}.\n\nRèglement par virement :\nIBAN : {iban}\n"
        "Référence à indiquer : {rf}\n\nCordialement,\n{owner}\n{seller}",
    ),
    ("invoice", "en"): (
        "Invoice {number} — {seller}",
        "Hello,\n\nPlease find attached our invoice {number} for {amount} (VAT included), "
        "due on {due} at the latest.\n\nPayment by bank transfer:\nIBAN: {iban}\n"
        "Reference to quote: {rf}\n\nKind regards,\n{owner}\n{seller}",
    ),
    ("credit_note", "fr"): (
        "Avoir {number} — {seller}",
        "Bonjour,\n\nVeuillez trouver ci-joint notre avoir {number} d'un montant de {amount} TTC, "
        "qui annule la facture {original}.\n\nCordialement,\n{owner}\n{seller}",
    ),
    ("credit_note", "en"): (
        "Credit note {number} — {seller}",
        "Hello,\n\nPlease find attached our credit note {number} for {amount} (VAT included), "
        "cancelling invoice {original}.\n\nKind regards,\n{owner}\n{seller}",
    ),
}


@dataclass(frozen=True)
class InvoiceMessage:
    subject: str
    text: str
    html: str


def compose(
    invoice: Invoice,
    customer: Contact,
    seller: Seller,
    *,
    owner_name: str,
    original_number: str | None = None,
) -> InvoiceMessage:
    """Subject (with the number), text and HTML parts in the invoice's language."""
    lang = invoice.language if invoice.language in ("fr", "en") else "fr"
    kind = "credit_note" if invoice.kind == InvoiceKind.CREDIT_NOTE else "invoice"
    params = {
        "number": invoice.number or "",
        "seller": seller.name,
        "amount": fmt_money(invoice.total_gross_cents, invoice.currency, lang),
        "due": fmt_date(invoice.due_date, lang, "long"),
        "iban": seller.iban,
        "rf": invoice.rf_reference or "",
        "owner": owner_name,
        "original": original_number or "",
    }
    subject_t, body_t = _TEXT[(kind, lang)]
    text = body_t.format(**params)
    html_params = {k: escape(v) for k, v in params.items()}
    paragraphs = body_t.format(**html_params).split("\n\n")
    html = (
        "<html><body>"
        + "".join("<p>" + p.replace("\n", "<br>") + "</p>" for p in paragraphs)
        + "</body></html>"
    )
    return InvoiceMessage(subject_t.format(**params), text, html)
