"""VAT as the law writes it: which category a line falls in, and the words that go with it.

The category of a line is a pure rule of the seller's country, the buyer (country, VAT
number, business or consumer), the line's nature (goods or services), its rate and the
product's exemption, if any:

    product exempt (VATEX code)          → E, or O for VATEX-EU-O (outside the scope)
    buyer in the seller's country        → S (standard rates)
    EU business buyer, goods             → K   Exonération de TVA, article 262 ter I du CGI
    EU business buyer, services          → AE  Autoliquidation, article 283-2 du CGI
    EU consumer                          → S   (French VAT below the distance-selling threshold)
    outside the EU, goods                → G   Exonération de TVA, article 262 I du CGI
    outside the EU, services to business → O   TVA non applicable, article 259-1 du CGI
    outside the EU, services to consumer → S

A line of category S at 0 % without an exemption keeps the historical reading: exempt (E)
with the generic wording. Every category but S carries a rate of 0 % and a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from storage.errors import InvalidInput
from storage.i18n import text
from storage.models import ContactKind, SupplyNature, VatCategory

if TYPE_CHECKING:
    from collections.abc import Sequence

    from storage.models import Contact, InvoiceLine

__all__ = [
    "EU_COUNTRIES",
    "PRODUCT_EXEMPTIONS",
    "REASONS",
    "BuyerTax",
    "Reason",
    "Treatment",
    "buyer_country",
    "buyer_tax",
    "check_country",
    "check_exemption",
    "check_issuable",
    "check_vat_number",
    "line_treatment",
    "vat_treatment",
]

EU_COUNTRIES = frozenset(
    (
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    )
)


@dataclass(frozen=True)
class Reason:
    """Why a line bears no VAT: the VATEX code (BT-121), the category, and the printed words
    (the catalogue's `key`: the legal French wording, and its English reading)."""

    code: str | None
    category: VatCategory
    key: str

    def words(self, lang: str) -> str:
        """The reason in `lang` (French for any language but English)."""
        return text("en" if lang == "en" else "fr", self.key)

    @property
    def fr(self) -> str:
        return self.words("fr")

    @property
    def en(self) -> str:
        return self.words("en")


REASONS: dict[str, Reason] = {
    "VATEX-EU-IC": Reason("VATEX-EU-IC", VatCategory.INTRA_COMMUNITY, "vat.reason.vatex_eu_ic"),
    "VATEX-EU-AE": Reason("VATEX-EU-AE", VatCategory.REVERSE_CHARGE, "vat.reason.vatex_eu_ae"),
    "VATEX-EU-G": Reason("VATEX-EU-G", VatCategory.EXPORT, "vat.reason.vatex_eu_g"),
    "FR-259-1": Reason("VATEX-EU-O", VatCategory.OUTSIDE_SCOPE, "vat.reason.fr_259_1"),
    "VATEX-EU-O": Reason("VATEX-EU-O", VatCategory.OUTSIDE_SCOPE, "vat.reason.vatex_eu_o"),
    "VATEX-FR-FRANCHISE": Reason("VATEX-FR-FRANCHISE", VatCategory.EXEMPT, "vat.reason.vatex_fr_franchise"),
    "VATEX-FR-CGI261-4": Reason("VATEX-FR-CGI261-4", VatCategory.EXEMPT, "vat.reason.vatex_fr_cgi261_4"),
    "VATEX-EU-132": Reason("VATEX-EU-132", VatCategory.EXEMPT, "vat.reason.vatex_eu_132"),
    "VATEX-EU-79-C": Reason("VATEX-EU-79-C", VatCategory.EXEMPT, "vat.reason.vatex_eu_79_c"),
    "ZERO": Reason(None, VatCategory.EXEMPT, "vat.reason.zero"),
}
# The exemptions a product may carry (the others follow from the buyer).
PRODUCT_EXEMPTIONS = (
    "VATEX-FR-FRANCHISE",
    "VATEX-FR-CGI261-4",
    "VATEX-EU-132",
    "VATEX-EU-79-C",
    "VATEX-EU-O",
)
_BY_CATEGORY = {
    VatCategory.INTRA_COMMUNITY: "VATEX-EU-IC",
    VatCategory.REVERSE_CHARGE: "VATEX-EU-AE",
    VatCategory.EXPORT: "VATEX-EU-G",
}


@dataclass(frozen=True)
class BuyerTax:
    """What VAT needs to know of the buyer."""

    country: str
    vat: str = ""
    business: bool = True


@dataclass(frozen=True)
class Treatment:
    """A line's VAT: category, rate actually charged, and the reason key when none is."""

    category: VatCategory
    rate_bp: int
    reason: str | None = None

    @property
    def reason_text(self) -> Reason | None:
        return REASONS.get(self.reason or "")


def vat_treatment(
    seller_country: str,
    buyer: BuyerTax,
    nature: SupplyNature | str,
    rate_bp: int,
    exemption: str | None = None,
) -> Treatment:
    """The VAT category of a line (see the module docstring for the table)."""
    if exemption:
        return Treatment(REASONS[exemption].category, 0, exemption)
    goods = SupplyNature(nature) == SupplyNature.GOODS
    country = (buyer.country or seller_country).upper()
    if country == seller_country.upper() or (not buyer.business and country in EU_COUNTRIES):
        category = VatCategory.STANDARD
    elif country in EU_COUNTRIES:
        category = VatCategory.INTRA_COMMUNITY if goods else VatCategory.REVERSE_CHARGE
    elif goods:
        category = VatCategory.EXPORT
    elif buyer.business:
        return Treatment(VatCategory.OUTSIDE_SCOPE, 0, "FR-259-1")
    else:
        category = VatCategory.STANDARD
    if category == VatCategory.STANDARD:
        return Treatment(category, rate_bp) if rate_bp > 0 else Treatment(VatCategory.EXEMPT, 0, "ZERO")
    return Treatment(category, 0, _BY_CATEGORY[category])


def _vat_country(compact: str) -> str:
    prefix = compact[:2].upper()
    return {"EL": "GR", "XI": "GB"}.get(prefix, prefix)


def buyer_country(country: str | None, vat: str | None, default: str) -> str:
    """The buyer's country: as set on the contact, else from its VAT number, else ours."""
    if country:
        return country.upper()
    if vat and vat[:2].isalpha():
        return _vat_country(vat)
    return default.upper()


def check_country(text: str) -> str:
    """An ISO 3166 alpha-2 country code (`de` → `DE`); one sentence otherwise."""
    from babel import Locale

    code = (text or "").strip().upper()
    if len(code) != 2 or code not in Locale("en").territories:
        raise InvalidInput("country", value=text)
    return code


def check_vat_number(text: str, country: str | None = None) -> str:
    """A buyer VAT number, compacted: valid format and check digits (python-stdnum), and of
    the buyer's country when that is known. Outside the EU, the country's own number."""
    from stdnum.eu import vat as eu_vat
    from stdnum.exceptions import ValidationError
    from stdnum.util import clean, get_cc_module

    raw = (text or "").strip()[:40]
    compact = clean(raw, " -./").upper()
    if compact[:2].isalpha() and _vat_country(compact) in EU_COUNTRIES | {"GB"}:
        if not eu_vat.is_valid(compact):
            raise InvalidInput("vat_number", value=text)
        compact = eu_vat.compact(compact)
        found = _vat_country(compact)
    elif country and country.upper() not in EU_COUNTRIES:
        module = get_cc_module(country.lower(), "vat")
        if module is None:
            if not 4 <= len(compact) <= 20:
                raise InvalidInput("vat_number", value=text)
            return compact
        try:
            return str(module.validate(raw))
        except ValidationError:
            raise InvalidInput("vat_number", value=text) from None
    else:
        raise InvalidInput("vat_number", value=text)
    if country and found != country.upper():
        raise InvalidInput("vat_country", value=text, country=country.upper())
    return compact


def check_exemption(text: str) -> str | None:
    """A product's exemption: one of the VATEX codes we print the law for, or none."""
    code = (text or "").strip().upper()
    if code in ("", "-", "NONE", "AUCUNE"):
        return None
    if code not in PRODUCT_EXEMPTIONS:
        raise InvalidInput("vat_exemption", value=text, choices=", ".join(PRODUCT_EXEMPTIONS))
    return code


def buyer_tax(contact: Contact, seller_country: str) -> BuyerTax:
    """A contact as a VAT buyer: a company, or anyone with a SIREN or VAT number, is a
    business; a person without either is a consumer."""
    vat = contact.vat_number or ""
    business = contact.kind == ContactKind.COMPANY or bool(contact.siren) or bool(vat)
    return BuyerTax(buyer_country(contact.country, vat, seller_country), vat, business)


def line_treatment(line: InvoiceLine, seller_country: str, buyer: BuyerTax) -> Treatment:
    """An issued line keeps the category fixed at issue; a draft line follows the buyer."""
    if line.vat_category is not None:
        return Treatment(VatCategory(line.vat_category), line.vat_rate_bp, line.vat_exemption)
    return vat_treatment(seller_country, buyer, line.nature, line.vat_rate_bp, line.vat_exemption)


def check_issuable(
    treatments: Sequence[Treatment], buyer: BuyerTax, seller_vat: str, contact: str = ""
) -> None:
    """What the law and EN 16931 ask before such an invoice may be issued, one sentence each:
    K and AE need the buyer's VAT number (of the buyer's country) and ours; G needs ours;
    an outside-scope line stands alone; one reason per exempt category."""
    categories = {t.category for t in treatments}
    if categories & {VatCategory.INTRA_COMMUNITY, VatCategory.REVERSE_CHARGE}:
        if not buyer.vat:
            key = (
                "invoice_needs_vat_goods"
                if VatCategory.INTRA_COMMUNITY in categories
                else "invoice_needs_vat_services"
            )
            raise InvalidInput(key, country=buyer.country, contact=contact)
        check_vat_number(buyer.vat, buyer.country)
    if categories - {VatCategory.STANDARD, VatCategory.EXEMPT, VatCategory.OUTSIDE_SCOPE} and (
        not seller_vat
    ):
        raise InvalidInput("invoice_needs_seller_vat")
    if VatCategory.OUTSIDE_SCOPE in categories and len(categories) > 1:
        raise InvalidInput("invoice_outside_scope_mixed")
    reasons: dict[VatCategory, str | None] = {}
    for t in treatments:
        if t.category != VatCategory.STANDARD and reasons.setdefault(t.category, t.reason) != (t.reason):
            raise InvalidInput("invoice_mixed_exemptions", category=t.category.value)
