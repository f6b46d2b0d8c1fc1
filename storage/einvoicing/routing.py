"""Where an issued invoice goes: through the PA, by email, or both (a pure rule).

The reform (CGI art. 289 bis) covers domestic B2B invoices: seller and buyer both
established in France and identified for VAT. Everything else keeps the email.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["BuyerFacts", "Route", "route_for"]


class Route(StrEnum):
    EMAIL = "email"
    PA = "pa"
    PA_AND_EMAIL = "pa_and_email"


@dataclass(frozen=True)
class BuyerFacts:
    business: bool  # a company, not a consumer
    siren: str
    vat_number: str
    billing_email: str
    wants_pdf_email: bool = False


def _french_vat(vat: str) -> bool:
    from stdnum.fr import tva

    return bool(vat) and tva.is_valid(vat)


def route_for(buyer: BuyerFacts, *, pa_enabled: bool, seller_country: str = "FR") -> Route:
    """PA for a French VAT-registered business buyer when a PA is configured; else email.

    A buyer who also wants the PDF by email (and has a billing address) gets both.
    """
    if not pa_enabled or seller_country.upper() != "FR":
        return Route.EMAIL
    if not buyer.business or not buyer.siren or not _french_vat(buyer.vat_number):
        return Route.EMAIL
    if buyer.wants_pdf_email and buyer.billing_email:
        return Route.PA_AND_EMAIL
    return Route.PA
