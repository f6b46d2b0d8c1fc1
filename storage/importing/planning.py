"""The plan of an import: which rows create records and which merge into existing ones.

Each planner loads what it needs to look up once (contacts by phone and email, deals by
contact and title, products by SKU), then plans row after row in memory. Duplicates (same
E.164 phone or email, in the file or already in the database) are merged, never doubled.
A row that cannot be imported raises a `UserError`, which the caller records as a
rejection. Nothing here writes: see `storage.importing.writing`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from storage.errors import InvalidInput, UserError
from storage.importing.fields import name_set, norm
from storage.importing.mapping import Values, amount_cents, cell_date, first, many, vat_bp
from storage.models import Contact, ContactKind, Deal, Product, Stage, User
from storage.parsing import parse_currency, parse_email, parse_phone
from storage.pipeline import find_stage
from storage.products import parse_nature
from storage.vat import check_exemption

__all__ = [
    "ContactsPlan",
    "DealRow",
    "DealsPlan",
    "PlannedContact",
    "Planner",
    "ProductsPlan",
]

_PLAIN_EMAIL = re.compile(r"^([a-z0-9]+(?:[._+-][a-z0-9]+)*)@([a-z0-9-]+(?:\.[a-z0-9-]+)+)$")
_YES = name_set("yes", "oui", "true", "vrai", "1", "x")
_COMPANY_KIND = name_set("company", "société", "societe", "entreprise", "organisation", "organization")
PRODUCT_FIELDS = ("name", "unit_price_cents", "currency", "vat_rate_bp", "unit")


@dataclass
class PlannedContact:
    """A contact to create, or one already in the database to complete."""

    name: str
    kind: ContactKind
    phone: str | None = None
    email: str | None = None
    extra_phones: list[str] = field(default_factory=list)
    extra_emails: list[str] = field(default_factory=list)
    company: str | None = None
    company_id: int | None = None
    owner_id: int | None = None
    shared: bool = False
    id: int | None = None
    changed: bool = False

    def add_phone(self, phone: str) -> None:
        """Keep a phone number (the first one is the main one)."""
        if phone == self.phone or phone in self.extra_phones:
            return
        if self.phone is None:
            self.phone = phone
        else:
            self.extra_phones.append(phone)
        self.changed = True

    def add_email(self, email: str) -> None:
        """Keep an email address (the first one is the main one)."""
        if email == self.email or email in self.extra_emails:
            return
        if self.email is None:
            self.email = email
        else:
            self.extra_emails.append(email)
        self.changed = True

    def dedupe_keys(self) -> list[str]:
        """Its duplicate keys: every phone (`p:`) and email (`e:`)."""
        phones = [p for p in (self.phone, *self.extra_phones) if p]
        emails = [e for e in (self.email, *self.extra_emails) if e]
        return [f"p:{p}" for p in phones] + [f"e:{e}" for e in emails]


async def _users() -> dict[str, int]:
    return {norm(name): uid for uid, name in await User.all().values_list("id", "name")}


def _owner(values: Values, users: dict[str, int], default: int) -> int:
    """The user named in the owner column, else `default`; an unknown name is refused."""
    name = first(values, "owner")
    if not name:
        return default
    if (uid := users.get(norm(name))) is None:
        raise InvalidInput("user", value=name)
    return uid


class ContactsPlan:
    """A contacts import: new contacts and companies, and known contacts completed."""

    def __init__(self, actor: User, region: str) -> None:
        self.actor, self.region = actor, region
        self.index: dict[str, PlannedContact] = {}
        self.companies: dict[str, PlannedContact] = {}
        self.new: list[PlannedContact] = []
        self.users: dict[str, int] = {}
        self.domains: set[str] = set()

    async def load(self) -> None:
        """Every known contact by its phones and emails, and companies by name."""
        self.users = await _users()
        rows = await Contact.all().values_list(
            "id", "name", "kind", "phone", "email", "extra_phones", "extra_emails", "company_id"
        )
        for cid, name, kind, phone, email, phones, emails, company_id in rows:
            known = PlannedContact(
                name,
                ContactKind(kind),
                phone,
                email,
                list(phones or []),
                list(emails or []),
                company_id=company_id,
                id=cid,
            )
            for key in known.dedupe_keys():
                self.index.setdefault(key, known)
            if known.kind == ContactKind.COMPANY:
                self.companies.setdefault(name.lower(), known)

    def email(self, text: str) -> str:
        """`parse_email`, with a fast path for plain addresses at an already-checked domain.

        A plain address (letters, digits and single `.`, `_`, `+`, `-` between them) at a
        domain that `parse_email` already accepted in this file is valid and normalises to
        its lower case; anything else goes through `parse_email`.
        """
        lowered = text.strip().lower()
        m = _PLAIN_EMAIL.match(lowered)
        if m and len(m.group(1)) <= 64 and len(lowered) <= 254 and m.group(2) in self.domains:
            return lowered
        email = parse_email(text)
        self.domains.add(email.rpartition("@")[2])
        return email

    def _company(self, name: str) -> PlannedContact:
        key = name.lower()
        if key not in self.companies:
            company = PlannedContact(name, ContactKind.COMPANY, owner_id=self.actor.id, shared=True)
            self.companies[key] = company
            self.new.append(company)
        return self.companies[key]

    def plan(self, values: Values) -> bool:
        """Add one row; True when it merged into an existing or earlier contact."""
        phones = [parse_phone(p, self.region) for p in many(values, "phone")]
        emails = [self.email(e) for e in many(values, "email")]
        company = first(values, "company")[:200]
        name = first(values, "name") or " ".join(
            p for p in (first(values, "first_name"), first(values, "last_name")) if p
        )
        kind = ContactKind.PERSON
        if norm(first(values, "kind")) in _COMPANY_KIND or (not name and company):
            kind, name, company = ContactKind.COMPANY, name or company, ""
        if not name:
            name = emails[0] if emails else ""
        if not name or len(name) > 200:
            raise InvalidInput("name", value=name)
        owner_id = _owner(values, self.users, self.actor.id)
        shared = norm(first(values, "shared")) in _YES
        keys = [f"p:{p}" for p in phones] + [f"e:{e}" for e in emails]
        target = next((self.index[k] for k in keys if k in self.index), None)
        if target is None and kind == ContactKind.COMPANY:
            target = self.companies.get(name.lower())
        merged = target is not None
        if target is None:
            target = PlannedContact(name, kind, owner_id=owner_id, shared=shared)
            self.new.append(target)
            if kind == ContactKind.COMPANY:
                self.companies[name.lower()] = target
        for phone in phones:
            if self.index.get(f"p:{phone}", target) is target:
                target.add_phone(phone)
        for email in emails:
            if self.index.get(f"e:{email}", target) is target:
                target.add_email(email)
        for key in keys:
            self.index.setdefault(key, target)
        if company and target.company_id is None and target.company is None:
            target.company = self._company(company).name
            target.changed = True
        return merged

    def changed(self) -> list[PlannedContact]:
        """The known contacts this import completes (each once)."""
        found = {id(c): c for c in self.index.values() if c.id is not None and c.changed}
        return list(found.values())


@dataclass
class DealRow:
    """A deal to create, or a known one to update (`existing`)."""

    row: int
    contact_id: int
    title: str
    amount_cents: int
    currency: str
    stage: Stage
    owner_id: int
    expected_close: date | None
    existing: Deal | None = None


class DealsPlan:
    """A deals import: one deal per contact and title (a later row updates an earlier)."""

    def __init__(self, actor: User, currency: str, today: date) -> None:
        self.actor, self.currency, self.today = actor, currency, today
        self.by_email: dict[str, int] = {}
        self.by_name: dict[str, int] = {}
        self.stages: dict[str, Stage | UserError] = {}
        self.deals: dict[tuple[int, str], Deal | DealRow] = {}
        self.planned: list[DealRow] = []
        self.users: dict[str, int] = {}

    async def load(self) -> None:
        """Contacts by email and name, and every deal by contact and title."""
        self.users = await _users()
        rows = await Contact.all().order_by("id").values_list("id", "name", "email", "extra_emails")
        for cid, name, email, extras in rows:
            for value in (email, *(extras or [])):
                if value:
                    self.by_email.setdefault(value, cid)
            self.by_name.setdefault(norm(name), cid)
        for deal in await Deal.all():
            self.deals[(deal.contact_id, deal.title.lower())] = deal

    async def stage(self, text: str) -> Stage:
        """The stage a row names (looked up once per distinct text)."""
        if text not in self.stages:
            try:
                self.stages[text] = await find_stage(text)
            except UserError as exc:
                self.stages[text] = exc
        found = self.stages[text]
        if isinstance(found, UserError):
            raise found
        return found

    async def plan(self, number: int, values: Values) -> bool:
        """Add one row; True when it updates an existing or earlier deal."""
        email = first(values, "contact_email")
        name = first(values, "contact") or first(values, "company")
        contact_id = self.by_email.get(parse_email(email)) if email else None
        if contact_id is None and name:
            contact_id = self.by_name.get(norm(name))
        if contact_id is None:
            raise InvalidInput("import_contact", value=name or email)
        title = (first(values, "title") or name or email)[:200]
        stage_text = first(values, "stage")
        stage = await self.stage(stage_text) if stage_text else await self._first_stage()
        row = DealRow(
            number,
            contact_id,
            title,
            amount_cents(values.get("amount", [None])[0]),
            parse_currency(first(values, "currency"), self.currency),
            stage,
            _owner(values, self.users, self.actor.id),
            cell_date(values.get("expected_close", [None])[0], self.today),
        )
        key = (contact_id, title.lower())
        existing = self.deals.get(key)
        if isinstance(existing, DealRow):
            existing.amount_cents, existing.stage = row.amount_cents, row.stage
            existing.currency, existing.owner_id = row.currency, row.owner_id
            existing.expected_close = row.expected_close or existing.expected_close
            return True
        row.existing = existing
        self.deals[key] = row
        self.planned.append(row)
        return existing is not None

    async def _first_stage(self) -> Stage:
        if "" not in self.stages:
            found = await Stage.filter(is_won=False, is_lost=False).order_by("position").first()
            if found is None:
                raise InvalidInput("no_stages")
            self.stages[""] = found
        return await self.stage("")


class ProductsPlan:
    """A products import: new products, and known ones (by SKU, any case) updated."""

    def __init__(self, currency: str) -> None:
        self.currency = currency
        self.known: dict[str, Product] = {}
        self.new: dict[str, Product] = {}
        self.changed: dict[str, Product] = {}

    async def load(self) -> None:
        """Every product by its SKU in lower case."""
        self.known = {p.sku.lower(): p for p in await Product.all()}

    def plan(self, values: Values) -> bool:
        """Add one row; True when it updates an existing or earlier product."""
        sku = first(values, "sku")
        if not sku or len(sku) > 64:
            raise InvalidInput("import_sku", value=sku)
        name = first(values, "name")
        if not name or len(name) > 200:
            raise InvalidInput("name", value=name)
        price = values.get("price", [None])[0]
        if price in (None, ""):
            raise InvalidInput("amount", value="")
        fields: dict[str, object] = {
            "name": name,
            "unit_price_cents": amount_cents(price),
            "currency": parse_currency(first(values, "currency"), self.currency),
            "vat_rate_bp": vat_bp(values.get("vat", [None])[0]),
            "unit": (first(values, "unit") or "unit")[:16],
        }
        # The nature and the VAT exemption decide the VAT category of the product's lines:
        # read when the file has the column (a file without it changes neither).
        if "nature" in values:
            fields["nature"] = parse_nature(first(values, "nature"))
        if "vat_exemption" in values:
            fields["vat_exemption"] = check_exemption(first(values, "vat_exemption"))
        key = sku.lower()
        product = self.new.get(key) or self.changed.get(key) or self.known.get(key)
        if product is None:
            self.new[key] = Product(sku=sku, **fields)
            return False
        for name_, value in fields.items():
            setattr(product, name_, value)
        if key not in self.new:
            self.changed[key] = product
        return True


Planner = ContactsPlan | DealsPlan | ProductsPlan
