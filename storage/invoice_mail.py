"""The invoice email's words, in the client's language (fr/en): subject, text and HTML.

Written into the outbox row at queue time, so the words sent are the words decided with
the change. Values from people are HTML-escaped in the HTML part.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

from storage.formatting import fmt_date, fmt_money
from storage.i18n import Safe, t, text
from storage.models import Contact, Invoice, InvoiceKind

if TYPE_CHECKING:
    from storage.seller import Seller

__all__ = ["InvoiceMessage", "compose"]


# Subject and body of each kind of document, in the catalogues. Placeholders: number, seller,
# amount, due, iban, rf, owner, original.
_TEXT = {
    "invoice": ("invoice_mail.subject_invoice", "invoice_mail.body_invoice"),
    "credit_note": ("invoice_mail.subject_credit_note", "invoice_mail.body_credit_note"),
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
    subject_key, body_key = _TEXT[kind]
    body = text(lang, body_key, **params)
    paragraphs = t(lang, body_key, **{k: Safe(escape(v)) for k, v in params.items()}).split("\n\n")
    html = (
        "<html><body>"
        + "".join("<p>" + p.replace("\n", "<br>") + "</p>" for p in paragraphs)
        + "</body></html>"
    )
    return InvoiceMessage(text(lang, subject_key, **params), body, html)
