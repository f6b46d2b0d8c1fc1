"""Shared billing test data: a seller, a catalogue, a won deal with lines, a billed client."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from mail.documents import invoice_renderer
from storage.contacts import NewContact, create_contact, set_billing
from storage.invoicing import Seller
from storage.models import Contact, ContactKind, Deal, Product, Role, User
from storage.pipeline import create_deal, win_deal
from storage.products import add_deal_line, create_product
from storage.users import create_user

__all__ = ["RENDER", "SELLER", "SELLER_ENV", "SELLER_SETTINGS", "Billing", "make_billing"]

SELLER = Seller(
    name="Entonnoir Démo SAS",
    address="1 rue de la Paix\n75002 Paris\nFrance",
    siren="732829320",
    siret="73282932000074",
    vat="FR44732829320",
    rcs_city="Paris",
    capital="10 000 €",
    iban="FR7630006000011234567890189",
    bic="AGRIFRPP",
    email="factures@entonnoir.example",
)
RENDER = invoice_renderer(SELLER)  # freezes issued documents with SELLER's identity
# The same identity as settings (tests configure what they need: no demo default).
SELLER_SETTINGS = {
    "company_name": SELLER.name,
    "company_address": SELLER.address,
    "company_siren": SELLER.siren,
    "company_siret": SELLER.siret,
    "company_vat": SELLER.vat,
    "company_rcs_city": SELLER.rcs_city,
    "company_capital": SELLER.capital,
    "company_iban": SELLER.iban,
    "company_bic": SELLER.bic,
    "company_email": SELLER.email,
}
# The same as environment variables, for the tests that start the real process.
SELLER_ENV = {k.upper(): v.replace("\n", "\\n") for k, v in SELLER_SETTINGS.items()}


@dataclass
class Billing:
    boss: User
    alice: User
    client: Contact
    deal: Deal
    products: list[Product]


async def make_billing(
    *,
    email: str | None = "compta@acme.example",
    address: str | None = "3 rue Neuve\n69001 Lyon",
    lang: str = "fr",
    win: bool = True,
    telegram_base: int = 1,
) -> Billing:
    """A manager, a salesperson with an ACME company client and a deal of three lines."""
    boss = await create_user("boss", Role.MANAGER, telegram_id=telegram_base)
    alice = await create_user("alice", Role.SALES, telegram_id=telegram_base + 1)
    alice.email = "alice@entonnoir.example"
    await alice.save()
    client = await create_contact(alice, NewContact("ACME SA", kind=ContactKind.COMPANY), region="FR")
    await set_billing(
        alice,
        client.id,
        billing_address=address,
        billing_email=email,
        siren="552100554",
        vat_number="FR40303265045",
        invoice_language=lang,
    )
    client = await Contact.get(id=client.id)
    rates = list(SELLER.vat_rates_bp)
    p1 = await create_product(
        boss,
        sku="WIDGET",
        name="Widget à ressort",
        unit_price_cents=12_34,
        vat_rate_bp=2000,
        allowed_vat_bp=rates,
    )
    p2 = await create_product(
        boss, sku="BOOK", name="Livre", unit_price_cents=19_99, vat_rate_bp=550, allowed_vat_bp=rates
    )
    p3 = await create_product(
        boss,
        sku="SETUP",
        name="Mise en service",
        unit_price_cents=450_00,
        vat_rate_bp=2000,
        allowed_vat_bp=rates,
        unit="h",
    )
    deal = await create_deal(alice, client.id, "Commande", 0, "EUR")
    await add_deal_line(alice, deal.id, "WIDGET", Decimal("3"))
    await add_deal_line(alice, deal.id, "book", Decimal("2.5"))
    await add_deal_line(alice, deal.id, "SETUP", Decimal("1.333"), 333_33)
    if win:
        await win_deal(alice, deal.id)
    deal = await Deal.get(id=deal.id)
    return Billing(boss, alice, client, deal, [p1, p2, p3])
