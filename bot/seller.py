"""The company's billing identity as the plain `Seller` value storage and mail expect.

Without its legal identity in the settings, the product still runs on the local console
(`make run` on a fresh machine) with a demo identity: then `specimen` is set, every PDF
carries a visible SPECIMEN mark, the Factur-X XML is flagged as a test, and the IBAN is
all zeros. Serving real people without the identity is refused when settings load.
"""

from __future__ import annotations

from email.utils import parseaddr

from bot.settings import Settings
from mail.documents import invoice_renderer
from storage.collections import Company
from storage.documents import Render
from storage.invoicing import Seller

__all__ = ["DEMO_IDENTITY", "company_from_settings", "renderer_from_settings", "seller_from_settings"]

# Fictitious on purpose: zero SIREN, zero-bank IBAN; never anyone's real identity.
DEMO_IDENTITY = {
    "name": "Entonnoir Démo (spécimen)",
    "address": "1 rue de l'Exemple\n75000 Paris\nFrance",
    "siren": "000000000",
    "siret": "",
    "vat": "FR12000000000",
    "rcs_city": "",
    "capital": "",
    "iban": "FR7600000000000000000000097",
    "bic": "",
    "email": "demo@entonnoir.invalid",
}


def seller_from_settings(settings: Settings) -> Seller:
    """Build the `Seller` once from the settings (validated at start)."""
    specimen = settings.missing_identity() is not None
    identity = (
        DEMO_IDENTITY
        if specimen
        else {
            "name": settings.company_name,
            "address": settings.company_address,
            "siren": settings.company_siren,
            "siret": settings.company_siret,
            "vat": settings.company_vat,
            "rcs_city": settings.company_rcs_city,
            "capital": settings.company_capital,
            "iban": settings.company_iban,
            "bic": settings.company_bic,
            "email": settings.company_email,
        }
    )
    return Seller(
        **identity,
        country=settings.company_country,
        specimen=specimen,
        payment_terms_days=settings.payment_terms_days,
        late_penalty_rate=settings.late_penalty_rate,
        recovery_indemnity_eur=settings.recovery_indemnity_eur,
        vat_rates_bp=tuple(settings.vat_rates_bp),
        currency=settings.default_currency,
        zone=settings.timezone,
        vat_on_debits=settings.company_vat_on_debits,
        pa_enabled=settings.pa_enabled,
    )


def company_from_settings(settings: Settings) -> Company:
    """The identity the dunning emails quote, derived from `seller_from_settings` (one adapter)."""
    return Company.of_seller(seller_from_settings(settings), parseaddr(settings.sender)[1].rpartition("@")[2])


def renderer_from_settings(settings: Settings) -> Render:
    """The `Render` that freezes issued documents with the company's identity."""
    return invoice_renderer(seller_from_settings(settings))
