"""The company's identity and billing defaults as plain values (`Seller`).

Built once by the composition root from the settings and handed to the use-cases that
issue, send or chase documents; storage never reads settings. It sits below the modules
that use it (invoicing, collections, the invoice email), so none of them imports another
for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

__all__ = ["Seller"]


@dataclass(frozen=True)
class Seller:
    """The company's legal identity and billing defaults, as plain values."""

    name: str
    address: str
    siren: str
    iban: str
    email: str
    country: str = "FR"
    siret: str = ""
    vat: str = ""
    rcs_city: str = ""
    capital: str = ""
    bic: str = ""
    # Demo identity (console without settings): every document says SPECIMEN, XML is a test.
    specimen: bool = False
    payment_terms_days: int = 30
    late_penalty_rate: Decimal = Decimal("12.0")
    recovery_indemnity_eur: int = 40
    vat_rates_bp: tuple[int, ...] = (2000, 1000, 550, 210, 0)
    currency: str = "EUR"
    zone: str = "Europe/Paris"  # IANA zone of the company: legal dates are local dates
    vat_on_debits: bool = False  # "Option pour le paiement de la TVA d'après les débits"
    pa_enabled: bool = False  # an approved e-invoicing platform is configured (storage.einvoicing)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    @property
    def mail_domain(self) -> str:
        return self.email.rpartition("@")[2] or "localhost"
