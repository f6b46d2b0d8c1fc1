"""Bring a team's lists in: contacts, deals and products from CSV, XLSX and vCard files.

Three steps, each testable on its own:

    read_file(data, filename)            bytes → Table (type check, encoding, separator, header)
    guess_mapping(kind, headers)         headers (French, English, Google, Outlook) → fields
    run_import(actor, kind, table, ...)  dry run (write=False) or the whole file in ONE
                                         transaction (write=True); `only_valid` skips rejected
                                         rows, otherwise any rejection writes nothing.

Duplicates (same E.164 phone or email, in the file or already in the database) are merged,
never doubled. Bad files raise `InvalidInput` with one clear code; nothing is written.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from zoneinfo import ZoneInfo

import vobject
from tortoise.transactions import in_transaction

from storage import audit
from storage.access import sees_everything
from storage.contacts import make_search_key
from storage.errors import Forbidden, InvalidInput, UserError
from storage.import_limits import Budget, check_xlsx
from storage.models import Contact, ContactKind, Deal, Product, Stage, StageChange, User
from storage.parsing import parse_amount, parse_currency, parse_date, parse_email, parse_phone
from storage.pipeline import find_stage

__all__ = [
    "FIELDS",
    "KINDS",
    "MAX_BYTES",
    "ImportReport",
    "Kind",
    "Rejection",
    "Table",
    "apply_mapping_text",
    "guess_kind",
    "guess_mapping",
    "neutralised",
    "read_file",
    "run_import",
]

Kind = Literal["contacts", "deals", "products"]
KINDS: tuple[Kind, ...] = ("contacts", "deals", "products")
MAX_BYTES = 20 * 1024 * 1024
CHUNK = 1000
Cell = str | Decimal | date | None
Progress = Callable[[int, int], Any]

# Fields per kind. `phone` and `email` may come from several columns (all kept).
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
    "products": ("sku", "name", "price", "currency", "vat", "unit"),
}
MULTI = frozenset({"phone", "email"})


def _norm(text: object) -> str:
    """`E-mail 1 - Value` → `email1value`; `Téléphone` → `telephone`."""
    raw = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", raw.lower())


def _syn(*names: str) -> set[str]:
    return {_norm(n) for n in names}


_OWNER = _syn(
    "owner",
    "propriétaire",
    "responsable",
    "commercial",
    "vendeur",
    "assigned to",
    "contact owner",
    "deal owner",
)
_COMPANY = _syn(
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
        "name": _syn(
            "name", "full name", "display name", "nom complet", "contact", "contact name", "nom du contact"
        ),
        "first_name": _syn("prénom", "first name", "firstname", "given name", "prenom"),
        "last_name": _syn("nom", "last name", "lastname", "family name", "surname", "nom de famille"),
        "company": _COMPANY,
        "phone": _syn(
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
        "email": _syn(
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
        "kind": _syn("kind", "type", "genre", "nature"),
        "owner": _OWNER,
        "shared": _syn("shared", "partagé", "partage"),
    },
    "deals": {
        "title": _syn(
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
        "contact": _syn("contact", "contact name", "nom du contact", "personne"),
        "contact_email": _syn(
            "email", "e-mail", "contact email", "e-mail du contact", "courriel", "email du contact", "mail"
        ),
        "company": _COMPANY,
        "amount": _syn(
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
        "currency": _syn("currency", "devise", "monnaie"),
        "stage": _syn("stage", "étape", "etape", "statut", "status", "phase", "deal stage"),
        "owner": _OWNER,
        "expected_close": _syn(
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
        "sku": _syn(
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
        "name": _syn(
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
        "price": _syn(
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
        "currency": _syn("currency", "devise", "monnaie"),
        "vat": _syn(
            "vat", "tva", "vat %", "tva %", "taux tva", "taux de tva", "vat rate", "tax", "taxe", "tax rate"
        ),
        "unit": _syn("unit", "unité", "unite", "uom"),
    },
}
_PATTERNS: dict[str, list[tuple[re.Pattern[str], str]]] = {
    "contacts": [
        (re.compile(r"^(phone|telephone|tel)\d+value$"), "phone"),
        (re.compile(r"^e?mail\d+(value|address)$"), "email"),
    ],
    "deals": [],
    "products": [],
}
_IGNORED = _syn(
    "id", "created", "créé le", "created at", "won at", "gagnée le", "lost reason", "raison de la perte"
)


@dataclass(frozen=True)
class Table:
    """A sheet read from a file: its header and its rows with their file row numbers."""

    headers: list[str]
    rows: list[tuple[int, list[Cell]]]
    file_type: str = "csv"


@dataclass(frozen=True)
class Rejection:
    """A row that cannot be imported: its number and the reason (an `error.<code>`)."""

    row: int
    code: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class ImportReport:
    kind: str
    new: int = 0
    merged: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    written: bool = False

    @property
    def total(self) -> int:
        return self.new + self.merged + len(self.rejected)


# ---------------------------------------------------------------- reading files


def read_file(data: bytes, filename: str, zone: str = "UTC", budget: Budget | None = None) -> Table:
    """A CSV, XLSX or vCard file's table; a bad file raises one `InvalidInput`.
    A zone-aware date-time cell becomes its date in `zone` (the company's IANA zone).
    Bounded (`storage.import_limits`): size, rows, columns, time; an XLSX's archive and
    declarations are checked before it is parsed."""
    budget = budget or Budget()
    if len(data) > MAX_BYTES:
        raise InvalidInput("import_too_large", max_mb=MAX_BYTES // (1024 * 1024))
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf"):
        raise InvalidInput("import_empty")
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    is_zip = data[:4] == b"PK\x03\x04"
    if ext in ("xlsx", "xlsm"):
        if not is_zip:
            raise InvalidInput("import_type", expected="XLSX")
        check_xlsx(data)
        return _read_xlsx(data, ZoneInfo(zone), budget)
    if ext in ("vcf", "vcard"):
        text = _decode(data)
        if "BEGIN:VCARD" not in text.upper():
            raise InvalidInput("import_type", expected="vCard")
        return _read_vcard(text, budget)
    if ext in ("csv", "txt", "tsv"):
        if is_zip or b"\x00" in data[:4096] or data[:5] == b"%PDF-":
            raise InvalidInput("import_type", expected="CSV")
        return _read_csv(_decode(data), budget)
    raise InvalidInput("import_format", name=filename)


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else cp1252 (French Excel), else Latin-1."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _separator(text: str) -> str:
    """`;`, `,` or tab: the most frequent one outside quotes in the first lines."""
    sample = re.sub(r'"[^"]*"', "", "\n".join(text.splitlines()[:20]))
    counts = {sep: sample.count(sep) for sep in (";", ",", "\t")}
    best = max(counts, key=lambda s: counts[s])
    return best if counts[best] else ","


def _read_csv(text: str, budget: Budget) -> Table:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_separator(text), strict=True)
    records: list[tuple[int, list[Cell]]] = []
    while True:
        start = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise InvalidInput("import_quoting", row=start) from exc
        budget.row(len(record))
        if any(cell.strip() for cell in record):
            records.append((start, [_unquote(c) for c in record]))
    return _with_header(records, "csv")


def _unquote(value: str) -> str:
    """Undo the export's formula neutralisation (`'=x` → `=x`)."""
    if len(value) > 1 and value[0] == "'" and value[1] in "=+-@\t\r":
        return value[1:]
    return value


def _read_xlsx(data: bytes, zone: ZoneInfo, budget: Budget) -> Table:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise InvalidInput("import_type", expected="XLSX") from exc
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            raise InvalidInput("import_empty")
        records: list[tuple[int, list[Cell]]] = []
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            budget.row(len(values))
            cells = [_cell(v, zone) for v in values]
            if any(c not in (None, "") for c in cells):
                records.append((number, cells))
    finally:
        book.close()
    return _with_header(records, "xlsx")


def _cell(value: object, zone: ZoneInfo) -> Cell:
    if value is None:
        return None
    if isinstance(value, datetime):  # naive: already a local wall time
        return (value.astimezone(zone) if value.tzinfo else value).date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else Decimal(repr(value))
    if isinstance(value, Decimal):
        return value
    return _unquote(str(value))


def _with_header(records: list[tuple[int, list[Cell]]], file_type: str) -> Table:
    """The header is the first of the first ten rows recognised best for any kind."""
    if not records:
        raise InvalidInput("import_empty")
    best, best_score = -1, 0
    for index, (_, cells) in enumerate(records[:10]):
        headers = [str(c or "") for c in cells]
        score = max(_score(kind, headers) for kind in KINDS)
        if score > best_score:
            best, best_score = index, score
    if best < 0:
        raise InvalidInput("import_no_header")
    headers = [str(c or "").strip() for c in records[best][1]]
    return Table(headers, records[best + 1 :], file_type)


def _score(kind: str, headers: list[str]) -> int:
    return sum(1 for f in guess_mapping(kind, headers) if f is not None)


MAX_CARD_BYTES = 1024 * 1024  # one card, its photo included
_VCARD_HEADERS = ["Name", "First Name", "Last Name", "Company", "Phone", "Email"]


def _read_vcard(text: str, budget: Budget) -> Table:
    """vCard 2.1 (quoted-printable, any CHARSET), 3.0 and 4.0 cards → rows (Name, First,
    Last, Company, Phones, Emails), read by vobject one card at a time. Bounded: the file's
    size (`MAX_BYTES`), the number of cards (`Budget`, a card is a row) and each card's size
    (`MAX_CARD_BYTES`, checked before it is parsed). A card vobject cannot read becomes an
    empty row, which the import rejects with its line number."""
    rows: list[tuple[int, list[Cell]]] = []
    for number, card in _vcard_chunks(text):
        budget.row(len(_VCARD_HEADERS))
        if len(card) > MAX_CARD_BYTES:
            raise InvalidInput("import_card_too_large", row=number, max_kb=MAX_CARD_BYTES // 1024)
        rows.append((number, _vcard_row(card)))
    if not rows:
        raise InvalidInput("import_empty")
    return Table(list(_VCARD_HEADERS), rows, "vcf")


def _vcard_chunks(text: str) -> Iterable[tuple[int, str]]:
    """Each BEGIN:VCARD … END:VCARD block with the line it starts on (text between cards
    is ignored; a card left open at the end of the file is still read)."""
    lines: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), start=1):
        tag = line.strip().upper()
        if tag == "BEGIN:VCARD":
            if lines:
                yield start, "\r\n".join([*lines, "END:VCARD", ""])
            lines, start = [line], number
        elif lines:
            lines.append(line)
            if tag == "END:VCARD":
                yield start, "\r\n".join([*lines, ""])
                lines = []
    if lines:
        yield start, "\r\n".join([*lines, "END:VCARD", ""])


def _vcard_row(card: str) -> list[Cell]:
    try:
        parsed = vobject.readOne(card, allowQP=True)
    except (vobject.base.VObjectError, ValueError, LookupError, UnicodeError, IndexError):
        return [""] * len(_VCARD_HEADERS)  # an unreadable card: rejected for its missing name
    contents: dict[str, list[Any]] = parsed.contents

    def first(key: str) -> Any:
        items = contents.get(key) or [None]
        return items[0].value if items[0] is not None else None

    name = first("n")
    given = _vtext(getattr(name, "given", "")) if name is not None else ""
    family = _vtext(getattr(name, "family", "")) if name is not None else ""
    org = first("org")
    company = _vtext(org[0] if isinstance(org, list) and org else org or "")
    phones = [_vtext(t.value).removeprefix("tel:").split(";")[0] for t in contents.get("tel", [])]
    emails = [_vtext(e.value).removeprefix("mailto:") for e in contents.get("email", [])]
    return [
        _vtext(first("fn") or ""),
        given,
        family,
        company,
        " ::: ".join(p for p in phones if p),
        " ::: ".join(e for e in emails if e),
    ]


def _vtext(value: object) -> str:
    """A property's text on one line (vobject has already unescaped it)."""
    if isinstance(value, list):
        value = " ".join(str(v) for v in value)
    return " ".join(str(value or "").split())


# ---------------------------------------------------------------- mapping


def guess_mapping(kind: str, headers: list[str]) -> list[str | None]:
    """For each column, the field it fills (or None); a single field is taken once."""
    synonyms, patterns = SYNONYMS[kind], _PATTERNS[kind]
    mapping: list[str | None] = []
    taken: set[str] = set()
    for header in headers:
        key = _norm(header)
        found: str | None = None
        if key and key not in _IGNORED:
            found = next((f for f, names in synonyms.items() if key in names), None)
            if found is None:
                found = next((f for p, f in patterns if p.match(key)), None)
        if found is not None and found not in MULTI and found in taken:
            found = None
        if found is not None:
            taken.add(found)
        mapping.append(found)
    return mapping


def guess_kind(headers: list[str]) -> Kind:
    """The kind whose fields the headers fill best (contacts on a tie)."""

    def score(kind: Kind) -> tuple[int, int]:
        fields = set(filter(None, guess_mapping(kind, headers)))
        key = {"contacts": {"phone", "email"}, "deals": {"amount", "stage"}, "products": {"sku", "price"}}[
            kind
        ]
        return len(fields & key), -KINDS.index(kind)

    return max(KINDS, key=score)


def _column(ref: str, count: int) -> int:
    ref = ref.strip().upper()
    index = -1
    if ref.isdigit():
        index = int(ref) - 1
    elif ref.isalpha() and len(ref) <= 2:
        index = 0
        for ch in ref:
            index = index * 26 + (ord(ch) - 64)
        index -= 1
    if not 0 <= index < count:
        raise InvalidInput("import_column", value=ref)
    return index


def apply_mapping_text(kind: str, mapping: list[str | None], text: str) -> list[str | None]:
    """`B=phone, C=-, 4=Société` changes the mapping of columns B, C and 4."""
    result = list(mapping)
    pairs = [p for p in re.split(r"[,;\n]+", text or "") if p.strip()]
    if not pairs:
        raise InvalidInput("import_mapping", fields=", ".join(FIELDS[kind]))
    for pair in pairs:
        ref, sep, name = pair.partition("=")
        if not sep:
            raise InvalidInput("import_mapping", fields=", ".join(FIELDS[kind]))
        index = _column(ref, len(result))
        name = name.strip()
        if name in ("-", ""):
            result[index] = None
            continue
        target = name if name in FIELDS[kind] else None
        if target is None:
            target = next((f for f, names in SYNONYMS[kind].items() if _norm(name) in names), None)
        if target is None:
            raise InvalidInput("import_field", value=name, fields=", ".join(FIELDS[kind]))
        if target not in MULTI:
            result = [None if f == target else f for f in result]
        result[index] = target
    return result


# ---------------------------------------------------------------- rows


def _text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    return " ".join(str(value).split())


def _values(row: list[Cell], mapping: list[str | None]) -> dict[str, list[Cell]]:
    out: dict[str, list[Cell]] = {}
    for index, name in enumerate(mapping):
        if name is not None and index < len(row) and row[index] not in (None, ""):
            out.setdefault(name, []).append(row[index])
    return out


def _first(values: dict[str, list[Cell]], name: str) -> str:
    return _text(values.get(name, [None])[0])


def _many(values: dict[str, list[Cell]], name: str) -> list[str]:
    """Every value of a multi column (`a ::: b`, `a; b`, `a, b` split too)."""
    out: list[str] = []
    for cell in values.get(name, []):
        for part in re.split(r":::|[;,\n]", _text(cell)):
            if part.strip() and part.strip() not in out:
                out.append(part.strip())
    return out


def _amount_cents(value: Cell) -> int:
    if isinstance(value, Decimal):
        if value < 0 or value != value.quantize(Decimal("0.01")):
            raise InvalidInput("amount", value=str(value))
        return int(value * 100)
    text = _text(value)
    if not text:
        return 0
    text = re.sub(r"\s*(EUR|USD|GBP|CHF|€|\$|£)$", "", text, flags=re.IGNORECASE)
    if re.fullmatch(r"0+([.,]0+)?", text):
        return 0
    return int(parse_amount(text) * 100)


def _vat_bp(value: Cell) -> int:
    text = _text(value).replace("%", "").replace(",", ".").strip()
    if not text:
        return 2000
    try:
        rate = Decimal(text)
    except InvalidOperation as exc:
        raise InvalidInput("import_vat", value=_text(value)) from exc
    if 0 < rate < 1:
        rate *= 100
    if not 0 <= rate <= 100 or rate != rate.quantize(Decimal("0.01")):
        raise InvalidInput("import_vat", value=_text(value))
    return int(rate * 100)


def _date(value: Cell, today: date) -> date | None:
    if isinstance(value, date):
        return value
    text = _text(value)
    return parse_date(text, today) if text else None


_PLAIN_EMAIL = re.compile(r"^([a-z0-9]+(?:[._+-][a-z0-9]+)*)@([a-z0-9-]+(?:\.[a-z0-9-]+)+)$")
_YES = _syn("yes", "oui", "true", "vrai", "1", "x")
_COMPANY_KIND = _syn("company", "société", "societe", "entreprise", "organisation", "organization")


@dataclass
class _Contact:
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
        if phone == self.phone or phone in self.extra_phones:
            return
        if self.phone is None:
            self.phone = phone
        else:
            self.extra_phones.append(phone)
        self.changed = True

    def add_email(self, email: str) -> None:
        if email == self.email or email in self.extra_emails:
            return
        if self.email is None:
            self.email = email
        else:
            self.extra_emails.append(email)
        self.changed = True


async def _users() -> dict[str, int]:
    return {_norm(name): uid for uid, name in await User.all().values_list("id", "name")}


def _owner(values: dict[str, list[Cell]], users: dict[str, int], default: int) -> int:
    name = _first(values, "owner")
    if not name:
        return default
    if (uid := users.get(_norm(name))) is None:
        raise InvalidInput("user", value=name)
    return uid


class _Contacts:
    """Plans (and writes) a contacts import; everything is looked up in memory."""

    def __init__(self, actor: User, region: str) -> None:
        self.actor, self.region = actor, region
        self.index: dict[str, _Contact] = {}
        self.companies: dict[str, _Contact] = {}
        self.new: list[_Contact] = []
        self.users: dict[str, int] = {}
        self.domains: set[str] = set()

    async def load(self) -> None:
        self.users = await _users()
        rows = await Contact.all().values_list(
            "id", "name", "kind", "phone", "email", "extra_phones", "extra_emails", "company_id"
        )
        for cid, name, kind, phone, email, phones, emails, company_id in rows:
            known = _Contact(
                name,
                ContactKind(kind),
                phone,
                email,
                list(phones or []),
                list(emails or []),
                company_id=company_id,
                id=cid,
            )
            for key in self._keys(known):
                self.index.setdefault(key, known)
            if known.kind == ContactKind.COMPANY:
                self.companies.setdefault(name.lower(), known)

    @staticmethod
    def _keys(c: _Contact) -> list[str]:
        phones = [p for p in (c.phone, *c.extra_phones) if p]
        emails = [e for e in (c.email, *c.extra_emails) if e]
        return [f"p:{p}" for p in phones] + [f"e:{e}" for e in emails]

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

    def _company(self, name: str) -> _Contact:
        key = name.lower()
        if key not in self.companies:
            company = _Contact(name, ContactKind.COMPANY, owner_id=self.actor.id, shared=True)
            self.companies[key] = company
            self.new.append(company)
        return self.companies[key]

    def plan(self, values: dict[str, list[Cell]]) -> bool:
        """Add one row; True when it merged into an existing or earlier contact."""
        phones = [parse_phone(p, self.region) for p in _many(values, "phone")]
        emails = [self.email(e) for e in _many(values, "email")]
        company = _first(values, "company")[:200]
        name = _first(values, "name") or " ".join(
            p for p in (_first(values, "first_name"), _first(values, "last_name")) if p
        )
        kind = ContactKind.PERSON
        if _norm(_first(values, "kind")) in _COMPANY_KIND or (not name and company):
            kind, name, company = ContactKind.COMPANY, name or company, ""
        if not name:
            name = emails[0] if emails else ""
        if not name or len(name) > 200:
            raise InvalidInput("name", value=name)
        owner_id = _owner(values, self.users, self.actor.id)
        shared = _norm(_first(values, "shared")) in _YES
        keys = [f"p:{p}" for p in phones] + [f"e:{e}" for e in emails]
        target = next((self.index[k] for k in keys if k in self.index), None)
        if target is None and kind == ContactKind.COMPANY:
            target = self.companies.get(name.lower())
        merged = target is not None
        if target is None:
            target = _Contact(name, kind, owner_id=owner_id, shared=shared)
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

    async def write(self, progress: Progress | None, total: int) -> None:
        new_companies = [c for c in self.new if c.kind == ContactKind.COMPANY]
        await self._create(new_companies)
        for cid, name in await Contact.filter(kind=ContactKind.COMPANY).values_list("id", "name"):
            known = self.companies.get(name.lower())
            if known is not None and known.id is None:
                known.id = cid
        names = {c.id: c.name for c in self.companies.values() if c.id is not None}
        for c in self.new + [c for c in self.index.values() if c.id is not None and c.changed]:
            if c.company is not None:
                c.company_id = self.companies[c.company.lower()].id
        people = [c for c in self.new if c.kind == ContactKind.PERSON]
        for start in range(0, len(people), CHUNK):
            await self._create(people[start : start + CHUNK], names)
            if progress is not None:
                await _call(progress, min(len(people), start + CHUNK), len(people))
        changed = {id(c): c for c in self.index.values() if c.id is not None and c.changed}
        updates = [
            Contact(
                id=c.id,
                phone=c.phone,
                email=c.email,
                extra_phones=c.extra_phones,
                extra_emails=c.extra_emails,
                company_id=c.company_id,
                search_key=make_search_key(c.name, names.get(c.company_id or 0), c.phone, c.email),
            )
            for c in changed.values()
        ]
        for start in range(0, len(updates), CHUNK):
            await Contact.bulk_update(
                updates[start : start + CHUNK],
                fields=["phone", "email", "extra_phones", "extra_emails", "company_id", "search_key"],
            )

    async def _create(self, items: list[_Contact], names: dict[int, str] | None = None) -> None:
        if not items:
            return
        names = names or {}
        # One fully validated instance as a prototype; the others copy its state and only
        # change the columns below (Model.__init__ costs ~0.1 ms a row: 10 s per 100,000).
        proto = Contact(kind=ContactKind.PERSON, name="x", owner_id=self.actor.id).__dict__
        objects = []
        for c in items:
            obj = object.__new__(Contact)
            obj.__dict__.update(proto)
            obj.__dict__.update(
                kind=c.kind,
                name=c.name,
                phone=c.phone,
                email=c.email,
                extra_phones=c.extra_phones,
                extra_emails=c.extra_emails,
                company_id=c.company_id,
                owner_id=c.owner_id or self.actor.id,
                shared=c.shared,
                search_key=make_search_key(c.name, names.get(c.company_id or 0), c.phone, c.email),
            )
            objects.append(obj)
        await Contact.bulk_create(objects, batch_size=CHUNK)


async def _call(progress: Progress, done: int, total: int) -> None:
    result = progress(done, total)
    if hasattr(result, "__await__"):
        await result


@dataclass
class _DealRow:
    row: int
    contact_id: int
    title: str
    amount_cents: int
    currency: str
    stage: Stage
    owner_id: int
    expected_close: date | None
    existing: Deal | None = None


class _Deals:
    def __init__(self, actor: User, currency: str, today: date) -> None:
        self.actor, self.currency, self.today = actor, currency, today
        self.by_email: dict[str, int] = {}
        self.by_name: dict[str, int] = {}
        self.stages: dict[str, Stage | UserError] = {}
        self.deals: dict[tuple[int, str], Deal | _DealRow] = {}
        self.planned: list[_DealRow] = []
        self.users: dict[str, int] = {}
        self.domains: set[str] = set()

    async def load(self) -> None:
        self.users = await _users()
        rows = await Contact.all().order_by("id").values_list("id", "name", "email", "extra_emails")
        for cid, name, email, extras in rows:
            for value in (email, *(extras or [])):
                if value:
                    self.by_email.setdefault(value, cid)
            self.by_name.setdefault(_norm(name), cid)
        for deal in await Deal.all():
            self.deals[(deal.contact_id, deal.title.lower())] = deal

    async def stage(self, text: str) -> Stage:
        if text not in self.stages:
            try:
                self.stages[text] = await find_stage(text)
            except UserError as exc:
                self.stages[text] = exc
        found = self.stages[text]
        if isinstance(found, UserError):
            raise found
        return found

    async def plan(self, number: int, values: dict[str, list[Cell]]) -> bool:
        email = _first(values, "contact_email")
        name = _first(values, "contact") or _first(values, "company")
        contact_id = self.by_email.get(parse_email(email)) if email else None
        if contact_id is None and name:
            contact_id = self.by_name.get(_norm(name))
        if contact_id is None:
            raise InvalidInput("import_contact", value=name or email)
        title = (_first(values, "title") or name or email)[:200]
        stage_text = _first(values, "stage")
        stage = await self.stage(stage_text) if stage_text else await self._first_stage()
        row = _DealRow(
            number,
            contact_id,
            title,
            _amount_cents(values.get("amount", [None])[0]),
            parse_currency(_first(values, "currency"), self.currency),
            stage,
            _owner(values, self.users, self.actor.id),
            _date(values.get("expected_close", [None])[0], self.today),
        )
        key = (contact_id, title.lower())
        existing = self.deals.get(key)
        if isinstance(existing, _DealRow):
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
            first = await Stage.filter(is_won=False, is_lost=False).order_by("position").first()
            if first is None:
                raise InvalidInput("no_stages")
            self.stages[""] = first
        return self.stages[""]  # type: ignore[return-value]

    async def write(self, progress: Progress | None, total: int) -> None:
        now = datetime.now(UTC)
        for done, row in enumerate(self.planned, start=1):
            deal = row.existing
            from_stage = deal.stage_id if deal is not None else None
            if deal is None:
                deal = Deal(contact_id=row.contact_id, title=row.title)
            deal.amount_cents, deal.currency = row.amount_cents, row.currency
            deal.owner_id, deal.stage_id = row.owner_id, row.stage.id
            deal.expected_close = row.expected_close or deal.expected_close
            if from_stage != row.stage.id:
                deal.won_at = now if row.stage.is_won else None
                deal.lost_reason = "import" if row.stage.is_lost else None
            await deal.save()
            if from_stage != row.stage.id:
                await StageChange.create(
                    deal=deal, user=self.actor, from_stage_id=from_stage, to_stage_id=row.stage.id, at=now
                )
            if progress is not None and done % CHUNK == 0:
                await _call(progress, done, len(self.planned))


class _Products:
    def __init__(self, currency: str) -> None:
        self.currency = currency
        self.known: dict[str, Product] = {}
        self.new: dict[str, Product] = {}
        self.changed: dict[str, Product] = {}

    async def load(self) -> None:
        self.known = {p.sku.lower(): p for p in await Product.all()}

    def plan(self, values: dict[str, list[Cell]]) -> bool:
        sku = _first(values, "sku")
        if not sku or len(sku) > 64:
            raise InvalidInput("import_sku", value=sku)
        name = _first(values, "name")
        if not name or len(name) > 200:
            raise InvalidInput("name", value=name)
        price = values.get("price", [None])[0]
        if price in (None, ""):
            raise InvalidInput("amount", value="")
        fields = {
            "name": name,
            "unit_price_cents": _amount_cents(price),
            "currency": parse_currency(_first(values, "currency"), self.currency),
            "vat_rate_bp": _vat_bp(values.get("vat", [None])[0]),
            "unit": (_first(values, "unit") or "unit")[:16],
        }
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

    async def write(self, progress: Progress | None, total: int) -> None:
        await Product.bulk_create(list(self.new.values()), batch_size=CHUNK)
        for product in self.changed.values():
            await product.save(update_fields=["name", "unit_price_cents", "currency", "vat_rate_bp", "unit"])


async def run_import(
    actor: User,
    kind: str,
    table: Table,
    mapping: list[str | None] | None = None,
    *,
    region: str = "FR",
    currency: str = "EUR",
    today: date,
    write: bool = False,
    only_valid: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Check every row (dry run) or write the whole file in one transaction.

    With `write` and without `only_valid`, any rejected row raises `import_rejected` and
    nothing is written; with `only_valid`, rejected rows are skipped.
    """
    if kind not in KINDS:
        raise InvalidInput("import_kind", value=kind)
    if not sees_everything(actor):
        raise Forbidden("import_managers")
    mapping = mapping if mapping is not None else guess_mapping(kind, table.headers)
    needed = {
        "contacts": {"name", "first_name", "last_name", "company", "phone", "email"},
        "deals": {"contact", "contact_email", "company"},
        "products": {"sku"},
    }[kind]
    if not needed & set(filter(None, mapping)):
        raise InvalidInput("import_no_header")
    rows = len(table.rows)

    async def planning(done: int, _: int) -> None:
        if progress is not None:
            await _call(progress, done, 2 * rows)

    async def writing(done: int, of: int) -> None:
        if progress is not None:
            await _call(progress, rows + done * rows // max(of, 1), 2 * rows)

    if not write:
        report, _ = await _plan(actor, kind, table, mapping, region, currency, today, planning)
        return report
    async with in_transaction():
        report, planner = await _plan(actor, kind, table, mapping, region, currency, today, planning)
        if report.rejected and not only_valid:
            rows_text = ", ".join(str(r.row) for r in report.rejected[:20])
            raise InvalidInput("import_rejected", count=len(report.rejected), rows=rows_text)
        await planner.write(writing, report.total)
        await audit.record(
            actor,
            "import",
            kind,
            "import",
            None,
            {"new": report.new, "merged": report.merged, "skipped": len(report.rejected)},
        )
        report.written = True
    await writing(1, 1)
    return report


async def _plan(
    actor: User,
    kind: str,
    table: Table,
    mapping: list[str | None],
    region: str,
    currency: str,
    today: date,
    progress: Progress | None,
) -> tuple[ImportReport, Any]:
    report = ImportReport(kind)
    planner: Any
    if kind == "contacts":
        planner = _Contacts(actor, region)
    elif kind == "deals":
        planner = _Deals(actor, currency, today)
    else:
        planner = _Products(currency)
    await planner.load()
    total = len(table.rows)
    for done, (number, row) in enumerate(table.rows, start=1):
        values = _values(row, mapping)
        try:
            if kind == "deals":
                merged = await planner.plan(number, values)
            else:
                merged = planner.plan(values)
        except UserError as exc:
            report.rejected.append(Rejection(number, exc.code, dict(exc.params)))
            continue
        if merged:
            report.merged += 1
        else:
            report.new += 1
        if progress is not None and done % 5000 == 0:
            await _call(progress, done, total)
    return report, planner


def neutralised(value: str) -> str:
    """A text cell a spreadsheet would run as a formula gets a leading quote."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def iter_fields(kind: str) -> Iterable[str]:
    return FIELDS[kind]
