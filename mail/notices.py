"""What a bank tells us about one booked entry: the parsers' common output.

The types live in `storage.payments.notices`, where the use-cases that record them can
import them; this module re-exports them for mail's callers.
"""

from __future__ import annotations

from storage.payments.notices import Direction, PaymentNotice

__all__ = ["Direction", "PaymentNotice"]
