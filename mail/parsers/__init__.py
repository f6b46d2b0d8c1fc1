"""Bank statement and notification parsers: pure functions, message → payment notices.

`parse_message(raw)` reads a whole email; the format parsers (`camt`, `mt940`, `text`)
and the reference finders (`references`) can be used on their own.
"""

from __future__ import annotations

from mail.parsers.errors import ParseError, TemplateConfigError, TooLarge, UnsafeDocument
from mail.parsers.message import MAX_ATTACHMENT_BYTES, ParseResult, Problem, parse_message
from mail.parsers.references import find_invoice_numbers, find_rf_references

__all__ = [
    "MAX_ATTACHMENT_BYTES",
    "ParseError",
    "ParseResult",
    "Problem",
    "TemplateConfigError",
    "TooLarge",
    "UnsafeDocument",
    "find_invoice_numbers",
    "find_rf_references",
    "parse_message",
]
