"""What an import fills: the fields of each kind, and the column names that mean them.

Column headers are compared normalised (`norm`: accents, case, spaces and punctuation
dropped), against French, English, Google and Outlook names. `phone` and `email` may come
from several columns (all kept).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

__all__ = ["FIELDS", "IGNORED", "KINDS", "MULTI", "PATTERNS", "SYNONYMS", "Kind", "name_set", "norm"]

Kind = Literal["contacts", "deals", "products"]
KINDS: tuple[Kind, ...] = ("contacts", "deals", "products")

# Fields per kind.
FIELDS: dict[str, tuple[str, ...]] = {
    "contacts": ("name", "first_name", "last_name", "company", "phone", "email", "kind", "owner", "shared"),
    "deals": (
        "title",
        "contact",
        "contact_email",
        "company",
        "amount",
        "currency",
        "stage",
        "owner",
        "expected_close",
    ),
    "products": ("sku", "name", "price", "currency", "vat", "unit", "nature", "vat_exemption"),
}
MULTI = frozenset({"phone", "email"})


def norm(text: object) -> str:
    """`E-mail 1 - Value` → `email1value`; `Téléphone` → `telephone`."""
    raw = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", raw.lower())


def name_set(*names: str) -> set[str]:
    """The normalised forms of these names."""
    return {norm(n) for n in names}


_OWNER = name_set(
    "owner",
    "propriétaire",
    "responsable",
    "commercial",
    "vendeur",
    "assigned to",
    "contact owner",
    "deal owner",
)
_COMPANY = name_set(
    "company",
    "société",
    "societe",
    "entreprise",
    "organisation",
    "organization",
    "organization 1 - name",
    "raison sociale",
    "account",
    "account name",
    "compte",
    "client",
    "customer",
)
SYNONYMS: dict[str, dict[str, set[str]]] = {
    "contacts": {
        "name": name_set(
            "name", "full name", "display name", "nom complet", "contact", "contact name", "nom du contact"
        ),
        "first_name": name_set("prénom", "first name", "firstname", "given name", "prenom"),
        "last_name": name_set("nom", "last name", "lastname", "family name", "surname", "nom de famille"),
        "company": _COMPANY,
        "phone": name_set(
            "téléphone",
            "telephone",
            "tél",
            "tel",
            "phone",
            "phone number",
            "portable",
            "mobile",
            "mobile phone",
            "business phone",
            "home phone",
            "other phone",
            "company main phone",
            "gsm",
            "téléphone mobile",
            "téléphone portable",
            "téléphone fixe",
            "numéro",
            "other phones",
            "autres téléphones",
            "phone 1 - value",
            "phone 2 - value",
            "phone 3 - value",
            "business phone 2",
            "home phone 2",
            "primary phone",
            "cell",
        ),
        "email": name_set(
            "email",
            "e-mail",
            "mail",
            "courriel",
            "adresse e-mail",
            "adresse email",
            "email address",
            "e-mail address",
            "e-mail 2 address",
            "e-mail 3 address",
            "e-mail 1 - value",
            "e-mail 2 - value",
            "e-mail 3 - value",
            "other emails",
            "autres e-mails",
            "autres emails",
        ),
        "kind": name_set("kind", "type", "genre", "nature"),
        "owner": _OWNER,
        "shared": name_set("shared", "partagé", "partage"),
    },
    "deals": {
        "title": name_set(
            "title",
            "titre",
            "deal",
            "affaire",
            "opportunity",
            "opportunité",
            "deal name",
            "nom de l'affaire",
            "intitulé",
            "name",
            "nom",
            "subject",
            "objet",
        ),
        "contact": name_set("contact", "contact name", "nom du contact", "personne"),
        "contact_email": name_set(
            "email", "e-mail", "contact email", "e-mail du contact", "courriel", "email du contact", "mail"
        ),
        "company": _COMPANY,
        "amount": name_set(
            "amount",
            "montant",
            "valeur",
            "value",
            "montant ht",
            "deal value",
            "amount (eur)",
            "montant (eur)",
            "ca",
            "chiffre",
        ),
        "currency": name_set("currency", "devise", "monnaie"),
        "stage": name_set("stage", "étape", "etape", "statut", "status", "phase", "deal stage"),
        "owner": _OWNER,
        "expected_close": name_set(
            "expected close",
            "close date",
            "closing date",
            "date de clôture",
            "clôture prévue",
            "cloture prevue",
            "date de cloture",
            "expected close date",
            "échéance",
        ),
    },
    "products": {
        "sku": name_set(
            "sku",
            "ref",
            "réf",
            "référence",
            "reference",
            "code",
            "code article",
            "article",
            "product code",
            "item code",
        ),
        "name": name_set(
            "name",
            "nom",
            "désignation",
            "designation",
            "libellé",
            "libelle",
            "description",
            "produit",
            "product",
            "product name",
            "item",
        ),
        "price": name_set(
            "price",
            "prix",
            "unit price",
            "prix unitaire",
            "prix ht",
            "pu ht",
            "pu",
            "unit price (net)",
            "tarif",
            "prix unitaire ht",
        ),
        "currency": name_set("currency", "devise", "monnaie"),
        "vat": name_set(
            "vat", "tva", "vat %", "tva %", "taux tva", "taux de tva", "vat rate", "tax", "taxe", "tax rate"
        ),
        "unit": name_set("unit", "unité", "unite", "uom"),
        "nature": name_set(
            "nature",
            "nature (goods/services)",
            "nature (biens/services)",
            "nature de l'opération",
            "nature operation",
            "goods or services",
            "goods/services",
            "biens ou services",
            "bien/service",
            "type d'opération",
        ),
        "vat_exemption": name_set(
            "vat exemption",
            "exemption",
            "exonération",
            "exoneration",
            "exonération tva",
            "motif d'exonération",
            "vatex",
            "code vatex",
        ),
    },
}
PATTERNS: dict[str, list[tuple[re.Pattern[str], str]]] = {
    "contacts": [
        (re.compile(r"^(phone|telephone|tel)\d+value$"), "phone"),
        (re.compile(r"^e?mail\d+(value|address)$"), "email"),
    ],
    "deals": [],
    "products": [],
}
IGNORED = name_set(
    "id", "created", "créé le", "created at", "won at", "gagnée le", "lost reason", "raison de la perte"
)
