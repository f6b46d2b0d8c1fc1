"""Contacts (people and companies), notes, duplicate detection and search."""

from __future__ import annotations

from dataclasses import dataclass, field

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from storage import audit
from storage.access import (
    can_add_to_contact,
    can_read_contact,
    can_write_owned,
    reads_everything,
    sees_everything,
)
from storage.errors import Conflict, Forbidden, InvalidInput, NotFound
from storage.models import Contact, ContactKind, Deal, Note, Stage, Task, User
from storage.parsing import parse_email, parse_phone
from storage.search_index import candidates
from storage.sql import columns, fetch, fetch_models, like_contains, model_from
from storage.text import clean_name, clean_text

__all__ = [
    "BILLING_FIELDS",
    "ContactCard",
    "DuplicateContact",
    "NewContact",
    "add_note",
    "contact_card",
    "create_contact",
    "find_duplicate",
    "get_contact",
    "make_search_key",
    "search_contacts",
    "set_billing",
    "visible_contacts",
]

CONTACT_FIELDS = ["name", "kind", "phone", "email", "company_id", "owner_id", "shared"]
BILLING_FIELDS = (
    "billing_address",
    "siren",
    "vat_number",
    "billing_email",
    "invoice_language",
    "country",
    "delivery_address",
)


class DuplicateContact(Conflict):
    """A contact with the same phone or email exists; `existing_id` names it."""

    def __init__(self, existing: Contact) -> None:
        super().__init__("duplicate_contact", id=existing.id, name=existing.name)
        self.existing_id = existing.id


@dataclass(frozen=True)
class NewContact:
    """What a person typed for a new contact, not yet validated."""

    name: str
    phone: str | None = None
    email: str | None = None
    company: str | None = None
    kind: ContactKind = ContactKind.PERSON
    shared: bool = False


@dataclass
class ContactCard:
    contact: Contact
    company: Contact | None
    deals: list[Deal] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)


def make_search_key(*parts: str | None) -> str:
    """The lower-cased text a contact is found by (name, company, phone, email)."""
    return " ".join(p.strip().lower() for p in parts if p)[:600]


def visible_contacts(user: User) -> Q:
    """The filter of contacts a user may read."""
    if reads_everything(user):
        return Q()
    return Q(owner_id=user.id) | Q(shared=True)


async def find_duplicate(phone: str | None, email: str | None, actor: User | None = None) -> Contact | None:
    """An existing contact with the same E.164 phone or email (one `actor` may read first)."""
    conditions = []
    if phone:
        conditions.append(Q(phone=phone))
    if email:
        conditions.append(Q(email=email))
    if not conditions:
        return None
    query = conditions[0]
    for cond in conditions[1:]:
        query = query | cond
    if actor is not None:
        visible = await Contact.filter(query, visible_contacts(actor)).order_by("id").first()
        if visible is not None:
            return visible
    return await Contact.filter(query).order_by("id").first()


async def create_contact(actor: User, data: NewContact, *, region: str, force: bool = False) -> Contact:
    """Validate and store a contact; a duplicate raises `DuplicateContact` unless forced.

    A duplicate the actor may not read is never named (its name would leak to whoever types
    a phone number): creation is refused with `duplicate_colleague`, forced or not."""
    if not (data.name or "").strip():
        raise InvalidInput("name", value="")
    name = clean_name(data.name, 200)
    phone = parse_phone(data.phone, region) if data.phone else None
    email = parse_email(data.email) if data.email else None
    existing = await find_duplicate(phone, email, actor)
    if existing is not None and not can_read_contact(actor, existing.owner_id, existing.shared):
        raise Conflict("duplicate_colleague")
    if existing is not None and not force:
        raise DuplicateContact(existing)
    async with in_transaction():
        company = await _company(actor, data.company) if data.company else None
        contact = await Contact.create(
            kind=data.kind,
            name=name,
            phone=phone,
            email=email,
            company=company,
            owner=actor,
            shared=data.shared,
            search_key=make_search_key(name, company.name if company else None, phone, email),
        )
        await audit.record(
            actor, "contact", contact.id, "create", None, audit.snapshot(contact, CONTACT_FIELDS)
        )
    return contact


async def _company(actor: User, text: str) -> Contact:
    name = clean_name(text, 200)
    existing = (
        await Contact.filter(visible_contacts(actor), kind=ContactKind.COMPANY, name__iexact=name)
        .order_by("id")
        .first()
    )
    if existing is not None:
        return existing
    company = await Contact.create(
        kind=ContactKind.COMPANY,
        name=name,
        owner=actor,
        shared=True,
        search_key=make_search_key(name),
    )
    await audit.record(actor, "contact", company.id, "create", None, {"name": name})
    return company


async def get_contact(actor: User, contact_id: int, *, write: bool = False, add: bool = False) -> Contact:
    """A contact the user may read (or change, with `write`; or add a note, a deal or a
    draft to, with `add`); otherwise NotFound, or Forbidden when it may only be read."""
    contact = await Contact.get_or_none(id=contact_id)
    if contact is None or not can_read_contact(actor, contact.owner_id, contact.shared):
        raise NotFound("contact", id=contact_id)
    if write and not can_write_owned(actor, contact.owner_id):
        raise NotFound("contact", id=contact_id)
    if add and not can_add_to_contact(actor, contact.owner_id, contact.shared):
        raise Forbidden("contact_read_only", id=contact_id)
    return contact


# What a search result shows (read-only partial contacts: no JSON or dates to convert).
_LISTED = "id, kind, name, search_key, company_id, phone, email, owner_id, shared"


async def search_contacts(actor: User, text: str, limit: int = 10) -> list[Contact]:
    """Contacts the user may read whose name, company, phone or email contains the text.

    Results come in `search_key` order (lower-cased name first). A rare text is looked up
    in the trigram index first (`storage.search_index`) and only its hits are read. A
    common one (or a short one, or on PostgreSQL): a salesperson's search runs once on
    their own contacts and once on shared ones, each walking its (owner_id|shared,
    search_key) index, so it scans what they may see, not the whole table, and stops at
    the first page.
    Digits are also matched without their leading zeros (`06 12 34` finds `+33612 34`).
    The SQL is written by hand (`storage.sql`): it runs on every search.
    """
    needle = (text or "").strip().lower()
    needles: list[str] = []
    if needle:
        digits = "".join(ch for ch in needle if ch.isdigit()).lstrip("0")
        if needle.isdigit() and len(digits) >= 5:
            # `0612345` finds `+33612345…`; `612345` is a substring of the needle, so one
            # LIKE on it also finds everything the needle itself would (half the scan).
            needles.append(digits)
        else:
            needles.append(needle)
            if len(digits) >= 5 and len(digits) >= len(needle.replace(" ", "")) - 2:
                needles.append(digits)
    patterns = [like_contains(n) for n in needles]
    match = " OR ".join("search_key LIKE ? ESCAPE '\\'" for _ in patterns) or "1=1"
    scopes: list[tuple[str, tuple[object, ...]]]
    if reads_everything(actor):
        scopes = [("1=1", ())]
    else:
        scopes = [("owner_id=?", (actor.id,)), ("shared=?", (True,))]
    hits = await candidates(needles)
    ids: list[int] = []
    if hits is not None:  # a rare text: read only the rows the trigram index found
        if not hits:
            return []
        match = f"({match}) AND id IN ({','.join('?' * len(hits))})"
        ids = hits
        if len(scopes) > 1:
            scopes = [("(owner_id=? OR shared=?)", (actor.id, True))]
    found: dict[int, Contact] = {}
    for scope, values in scopes:
        rows = await fetch_models(
            Contact,
            # Only fixed fragments are interpolated; every typed value is a parameter.
            f"SELECT {_LISTED} FROM contacts WHERE {scope} AND ({match}) "  # noqa: S608
            "ORDER BY search_key, id LIMIT ?",
            *values,
            *patterns,
            *ids,
            limit,
        )
        for contact in rows:
            found.setdefault(contact.id, contact)
    return sorted(found.values(), key=lambda c: (c.search_key, c.id))[:limit]


async def contact_card(actor: User, contact_id: int) -> ContactCard:
    """The contact with its company, deals, open tasks and last notes (hand-written SQL:
    the card is shown on every search hit and every button press)."""
    rows = await fetch_models(Contact, "SELECT * FROM contacts WHERE id = ?", contact_id)
    if not rows or not can_read_contact(actor, rows[0].owner_id, rows[0].shared):
        raise NotFound("contact", id=contact_id)
    contact = rows[0]
    company = None
    if contact.company_id:
        companies = await fetch_models(Contact, "SELECT * FROM contacts WHERE id = ?", contact.company_id)
        if companies and can_read_contact(actor, companies[0].owner_id, companies[0].shared):
            company = companies[0]
    everything = sees_everything(actor)
    mine = "" if everything else " AND d.owner_id = ?"
    deals = []
    for row in await fetch(
        f"SELECT {columns(Deal, 'd')}, {columns(Stage, 's', 's__')} FROM deals d "  # noqa: S608
        f"JOIN stages s ON s.id = d.stage_id WHERE d.contact_id = ?{mine} "
        "ORDER BY d.id DESC LIMIT 10",
        contact.id,
        *(() if everything else (actor.id,)),
    ):
        deal = model_from(Deal, row)
        deal.stage = model_from(Stage, row, "s__")
        deals.append(deal)
    own_tasks = "" if everything else " AND (assignee_id = ? OR created_by_id = ?)"
    tasks = await fetch_models(
        Task,
        f"SELECT * FROM tasks WHERE contact_id = ? AND done = ?{own_tasks} "  # noqa: S608
        "ORDER BY due_at, id LIMIT 10",
        contact.id,
        False,
        *(() if everything else (actor.id, actor.id)),
    )
    notes = []
    for row in await fetch(
        f"SELECT {columns(Note, 'n')}, {columns(User, 'u', 'u__')} FROM notes n "  # noqa: S608
        "JOIN users u ON u.id = n.author_id WHERE n.contact_id = ? ORDER BY n.id DESC LIMIT 5",
        contact.id,
    ):
        note = model_from(Note, row)
        note.author = model_from(User, row, "u__")
        notes.append(note)
    return ContactCard(contact, company, deals, tasks, notes)


MAX_NOTE = 4000  # characters of one note


async def list_notes(actor: User, contact_id: int) -> list[Note]:
    """Every note of a contact the user may read, newest first, with its author."""
    contact = await get_contact(actor, contact_id)
    return await Note.filter(contact_id=contact.id).order_by("-id").select_related("author")


async def add_note(actor: User, contact_id: int, text: str) -> Note:
    """Attach a note (author and time) to a contact the user may read."""
    if not (text or "").strip():
        raise InvalidInput("note_empty")
    text = clean_text(text, MAX_NOTE)
    contact = await get_contact(actor, contact_id, add=True)
    async with in_transaction():
        note = await Note.create(contact=contact, author=actor, text=text)
        await audit.record(actor, "note", note.id, "create", None, {"contact": contact.id})
    return note


async def set_billing(actor: User, contact_id: int, **values: str | None) -> Contact:
    """Change a contact's billing data (address, SIREN, VAT number, billing email, language,
    country, delivery address). A VAT number must be valid and of the contact's country."""
    from stdnum.fr import siren as fr_siren
    from stdnum.fr import siret as fr_siret

    from storage.vat import check_country, check_vat_number

    contact = await get_contact(actor, contact_id, write=True)
    clean: dict[str, str | None] = {}
    for key, value in values.items():
        if key not in BILLING_FIELDS:
            raise InvalidInput("billing_field", value=key)
        value = (value or "").strip() or None
        if value and key == "siren":
            compact = value.replace(" ", "")
            if not (fr_siren.is_valid(compact) or fr_siret.is_valid(compact)):
                raise InvalidInput("siren", value=value)
            value = compact
        elif value and key == "country":
            value = check_country(value)
        elif value and key == "vat_number":
            country = values.get("country") or contact.country
            value = check_vat_number(value, check_country(country) if country else None)
        elif value and key == "billing_email":
            value = parse_email(value)
        elif key == "invoice_language":
            value = (value or "fr").lower()  # empty clears back to the default, French
            if value not in ("fr", "en"):
                raise InvalidInput("language", value=value)
        clean[key] = value
    if clean.get("country") and contact.vat_number and "vat_number" not in clean:
        check_vat_number(contact.vat_number, clean["country"])
    async with in_transaction():
        before = audit.snapshot(contact, list(clean))
        for key, value in clean.items():
            setattr(contact, key, value)
        await contact.save()
        await audit.record(actor, "contact", contact.id, "billing", before, clean)
    return contact
