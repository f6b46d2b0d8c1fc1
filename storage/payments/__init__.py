"""Payments read from the bank's mail: record once, match to invoices, settle, quarantine.

One module per concern, lowest first (each imports only the ones above it):

    notices      PaymentNotice, what a parser read from the bank (storage's input type)
    references   RF references and invoice numbers in an entry's text
    accounts     is the entry about OUR account? (the rule before any matching)
    identity     an entry's key: recorded once however often its mail is read
    invoices     the invoices a batch may change, read in bulk and locked (InvoiceView)
    matching     which invoice an entry settles (rf, number, payer, batch, credited)
    batch        a batch's state in memory between reading and writing
    settling     balances and statuses; returns reopen; money on a credited invoice
    alerts       who is told about returns and payments left for a person
    writes       the batch's rows in bulk, in the transaction that records it
    recording    record_notices: all of the above in ONE transaction, retried on deadlock
    messages     the inbox's messages: ingested, quarantined or kept unrecognised
    manual       people: /payments, a payment's card, /match

The public names are re-exported here: import them from `storage.payments`.
"""

from __future__ import annotations

from storage.payments.accounts import account_is_ours, account_problem, masked_account_matches
from storage.payments.batch import RecordOutcome
from storage.payments.identity import entry_key
from storage.payments.invoices import OPEN_STATUSES, lock_invoices
from storage.payments.manual import (
    PAYMENT_ROLES,
    can_see_payments,
    get_payment,
    likely_invoices,
    list_payments,
    list_quarantine,
    match_payment,
)
from storage.payments.matching import allocate_batch
from storage.payments.messages import ingest_message, quarantine_message, store_unrecognised
from storage.payments.notices import Direction, PaymentNotice
from storage.payments.recording import again_if_aborted, record_notices, retryable
from storage.payments.references import compact_rf, invoice_numbers_in, rf_references_in
from storage.payments.settling import reopen_amounts, settle_amounts

__all__ = [
    "OPEN_STATUSES",
    "PAYMENT_ROLES",
    "Direction",
    "PaymentNotice",
    "RecordOutcome",
    "account_is_ours",
    "account_problem",
    "again_if_aborted",
    "allocate_batch",
    "can_see_payments",
    "compact_rf",
    "entry_key",
    "get_payment",
    "ingest_message",
    "invoice_numbers_in",
    "likely_invoices",
    "list_payments",
    "list_quarantine",
    "lock_invoices",
    "masked_account_matches",
    "match_payment",
    "quarantine_message",
    "record_notices",
    "reopen_amounts",
    "retryable",
    "rf_references_in",
    "settle_amounts",
    "store_unrecognised",
]
