"""The company's billing identity as the plain `Seller` value storage and mail expect."""

from __future__ import annotations

from bot.settings import Settings
from storage.invoicing import Seller

__all__ = ["seller_from_settings"]


def seller_from_settings(settings: Settings) -> Seller:
    """Build the `Seller` once from the settings (validated at start)."""
    return Seller(
        name=settings.company_name,
        address=settings.company_address,
        country=settings.company_country,
        siren=settings.company_siren,
        siret=settings.company_siret,
        vat=settings.company_vat,
        rcs_city=settings.company_rcs_city,
        capital=settings.company_capital,
        iban=settings.company_iban,
        bic=settings.company_bic,
        email=settings.company_email,
        payment_terms_days=settings.payment_terms_days,
        late_penalty_rate=settings.late_penalty_rate,
        recovery_indemnity_eur=settings.recovery_indemnity_eur,
        vat_rates_bp=tuple(settings.vat_rates_bp),
        currency=settings.default_currency,
        zone=settings.timezone,
        pa_enabled=settings.pa_enabled,
    )
