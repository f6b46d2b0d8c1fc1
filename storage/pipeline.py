"""Deals and the sales funnel: stages as data, moves with history, won/lost, the forecast."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import Any, cast

from tortoise import connections
from tortoise.expressions import Q
from tortoise.signals import post_delete, post_save
from tortoise.transactions import in_transaction

from storage import audit, orm
from storage.access import can_add_to_contact, can_read_contact, can_write_owned, sees_everything
from storage.errors import Conflict, Forbidden, InvalidInput, NotFound
from storage.i18n import StageLabel, StageList
from storage.models import Contact, Deal, Stage, StageChange, User
from storage.sql import columns, fetch, fetch_models, in_transaction_now, insert, model_from, update
from storage.text import clean_name, clean_text

__all__ = [
    "DEFAULT_STAGES",
    "PipelineRow",
    "create_deal",
    "find_stage",
    "forget_stages",
    "funnel",
    "get_deal",
    "list_deals",
    "lose_deal",
    "move_deal",
    "pipeline_summary",
    "seed_stages",
    "stages",
    "summarise",
    "team_summary",
    "weighted_cents",
    "win_deal",
]

DEAL_FIELDS = ["title", "amount_cents", "currency", "stage_id", "owner_id", "lost_reason"]

# name, probability %, won, lost; French aliases let people type either language.
DEFAULT_STAGES: list[tuple[str, int, bool, bool]] = [
    ("Lead", 10, False, False),
    ("Qualified", 30, False, False),
    ("Proposal", 50, False, False),
    ("Negotiation", 75, False, False),
    ("Won", 100, True, False),
    ("Lost", 0, False, True),
]
STAGE_ALIASES = {
    "prospect": "Lead",
    "piste": "Lead",
    "qualifié": "Qualified",
    "qualifie": "Qualified",
    "proposition": "Proposal",
    "négociation": "Negotiation",
    "negociation": "Negotiation",
    "gagné": "Won",
    "gagne": "Won",
    "perdu": "Lost",
}


async def seed_stages() -> None:
    """Create the default funnel on an empty stage table."""
    if await Stage.exists():
        return
    for position, (name, probability, won, lost) in enumerate(DEFAULT_STAGES):
        await Stage.create(name=name, position=position, probability=probability, is_won=won, is_lost=lost)


# Stages are data that rarely change, read by nearly every deal command: they are kept in
# memory per database connection. Any ORM write to a stage (save, create, delete) clears
# the copy through Tortoise's signals; a bulk `Stage.filter(...).update()` or raw SQL must
# call `forget_stages()`. Rows read inside a transaction are never kept (they might roll back).
_stage_cache: dict[str, Any] = {"conn": None, "stages": None}


def forget_stages() -> None:
    """Drop the in-memory copy of the stage table (the next read goes to the database)."""
    _stage_cache["conn"] = None
    _stage_cache["stages"] = None


@post_save(Stage)
async def _stage_saved(*_args: Any) -> None:
    forget_stages()


@post_delete(Stage)
async def _stage_deleted(*_args: Any) -> None:
    forget_stages()


async def _all_stages() -> tuple[Stage, ...]:
    conn = connections.get("default")
    cached = _stage_cache["stages"]
    if cached is not None and _stage_cache["conn"] is conn:
        return cast(tuple[Stage, ...], cached)
    found = tuple(
        await fetch_models(
            Stage,
            f"SELECT {columns(Stage, 's')} FROM stages s "  # noqa: S608
            "ORDER BY s.position, s.id",
        )
    )
    if not in_transaction_now():
        _stage_cache["conn"], _stage_cache["stages"] = conn, found
    return found


async def stages() -> list[Stage]:
    """Every stage in funnel order."""
    return list(await _all_stages())


async def find_stage(text: str) -> Stage:
    """A stage by name (either language, any case) or by its id."""
    raw = (text or "").strip()
    name = STAGE_ALIASES.get(raw.lower(), raw).casefold()
    every = await _all_stages()
    for stage in every:
        labels = (stage.labels or {}).values()
        if stage.name.casefold() == name or any(str(v).casefold() == raw.casefold() for v in labels):
            return stage
    if raw.isdigit():
        for stage in every:
            if stage.id == int(raw):
                return stage
    choices = StageList(tuple(StageLabel(s.name, dict(s.labels or {})) for s in every))
    raise InvalidInput("stage", value=text, choices=choices)  # said in the reader's language


async def _first_stage(*, won: bool = False, lost: bool = False) -> Stage:
    """The first open stage (or the won, or the lost one) of the funnel."""
    for stage in await _all_stages():
        if stage.is_won == won and stage.is_lost == lost:
            return stage
    raise Conflict("no_stages")


async def create_deal(
    actor: User,
    contact_id: int,
    title: str,
    amount_cents: int,
    currency: str,
    *,
    expected_close: date | None = None,
) -> Deal:
    """Open a deal on a contact the user may read, in the first stage of the funnel.

    Hot path: the deal, its first history row and its audit row are three hand-written
    INSERTs in one transaction (`storage.sql`).
    """
    if not (title or "").strip():
        raise InvalidInput("title", value="")
    title = clean_name(title, 200)
    if amount_cents < 0:
        raise InvalidInput("amount", value=amount_cents)
    rows = await fetch("SELECT owner_id, shared FROM contacts WHERE id = ?", contact_id)
    if not rows or not can_read_contact(actor, rows[0]["owner_id"], bool(rows[0]["shared"])):
        raise NotFound("contact", id=contact_id)
    if not can_add_to_contact(actor, rows[0]["owner_id"], bool(rows[0]["shared"])):
        raise Forbidden("contact_read_only", id=contact_id)
    first = await _first_stage()
    now = datetime.now(UTC)
    deal = Deal(
        contact_id=contact_id,
        owner=actor,
        title=title,
        amount_cents=amount_cents,
        currency=currency,
        stage=first,
        expected_close=expected_close,
        created_at=now,
        updated_at=now,
    )
    async with in_transaction():
        deal.id = await insert(
            Deal,
            contact_id=contact_id,
            owner_id=actor.id,
            title=title,
            amount_cents=amount_cents,
            currency=currency,
            stage_id=first.id,
            expected_close=expected_close,
            created_at=now,
            updated_at=now,
        )
        orm.mark_saved(deal)
        await insert(
            StageChange, deal_id=deal.id, user_id=actor.id, from_stage_id=None, to_stage_id=first.id, at=now
        )
        await audit.record(actor, "deal", deal.id, "create", None, audit.snapshot(deal, DEAL_FIELDS))
    return deal


def visible_deals(user: User) -> Q:
    """Filter of the deals a user may see."""
    return Q() if sees_everything(user) else Q(owner_id=user.id)


async def get_deal(actor: User, deal_id: int) -> Deal:
    """A deal the user may see and change (sales: their own; managers: all; deals have one
    rule for both); otherwise NotFound, the same answer whether it exists or not."""
    deal = await _deal_with_relations(deal_id)
    if deal is None or not can_write_owned(actor, deal.owner_id):
        raise NotFound("deal", id=deal_id)
    return deal


@cache
def _deal_sql() -> str:
    return (  # column names from the models only; the id is a parameter
        f"SELECT {columns(Deal, 'd')}, {columns(Stage, 's', 's__')}, "  # noqa: S608
        f"{columns(Contact, 'c', 'c__')}, {columns(User, 'u', 'u__')} "
        "FROM deals d JOIN stages s ON s.id = d.stage_id "
        "JOIN contacts c ON c.id = d.contact_id JOIN users u ON u.id = d.owner_id "
        "WHERE d.id = ?"
    )


async def _deal_with_relations(deal_id: int) -> Deal | None:
    """The deal with its stage, contact and owner in one hand-written join (hot path)."""
    rows = await fetch(_deal_sql(), deal_id)
    if not rows:
        return None
    deal = model_from(Deal, rows[0])
    deal.stage = model_from(Stage, rows[0], "s__")
    deal.contact = model_from(Contact, rows[0], "c__")
    deal.owner = model_from(User, rows[0], "u__")
    return deal


async def list_deals(actor: User, scope: str = "mine", limit: int = 20) -> list[Deal]:
    """`mine`, `all` (managers; sales get their own) or a stage name; open deals first."""
    query = Deal.filter(visible_deals(actor))
    scope = (scope or "mine").strip().lower()
    if scope in ("mine", "miens", "mes"):
        query = query.filter(owner_id=actor.id)
    elif scope not in ("all", "tous", ""):
        stage = await find_stage(scope)
        query = query.filter(stage_id=stage.id)
    return list(await query.select_related("stage", "contact").order_by("-updated_at", "-id").limit(limit))


async def move_deal(actor: User, deal_id: int, stage: Stage, *, reason: str | None = None) -> Deal:
    """Move a deal to a stage, writing the history row and the audit row.

    Hot path: one joined read, then an UPDATE and two INSERTs written by hand
    (`storage.sql`), all in one transaction.
    """
    now = datetime.now(UTC)
    if stage.is_lost and (reason or "").strip():
        reason = clean_text(reason, 1000)
    async with in_transaction():  # a refusal below rolls back an empty transaction
        deal = await get_deal(actor, deal_id)
        if deal.stage_id == stage.id:
            raise Conflict("same_stage", stage=StageLabel(stage.name, dict(stage.labels or {})))
        if stage.is_lost and not (reason or "").strip():
            raise InvalidInput("lost_reason")
        before = audit.snapshot(deal, DEAL_FIELDS)
        from_stage_id = deal.stage_id
        was_won = deal.stage.is_won
        deal.stage = stage
        deal.lost_reason = reason.strip() if stage.is_lost and reason else None
        deal.won_at = now if stage.is_won else None
        deal.updated_at = now
        await update(
            Deal, deal.id, stage_id=stage.id, lost_reason=deal.lost_reason, won_at=deal.won_at, updated_at=now
        )
        await insert(
            StageChange,
            deal_id=deal.id,
            user_id=actor.id,
            from_stage_id=from_stage_id,
            to_stage_id=stage.id,
            at=now,
        )
        await audit.record(actor, "deal", deal.id, "move", before, audit.snapshot(deal, DEAL_FIELDS))
        if stage.is_won:
            await _on_won(deal)
        elif was_won:
            await _on_unwon(deal)
    return deal


async def _on_won(deal: Deal) -> None:
    """Effects of winning, inside the move's transaction (stock reservation)."""
    from storage.purchasing import reserve_for_deal

    await reserve_for_deal(deal)


async def _on_unwon(deal: Deal) -> None:
    """A won deal reopened or lost gives back the stock it had reserved and not taken."""
    from storage.purchasing import release_for_deal

    await release_for_deal(deal.id)


async def win_deal(actor: User, deal_id: int) -> Deal:
    """Move a deal to the won stage."""
    return await move_deal(actor, deal_id, await _first_stage(won=True))


async def lose_deal(actor: User, deal_id: int, reason: str) -> Deal:
    """Move a deal to the lost stage with a reason."""
    return await move_deal(actor, deal_id, await _first_stage(lost=True), reason=reason)


@dataclass(frozen=True)
class PipelineRow:
    stage: str
    probability: int
    count: int
    total_cents: int
    weighted_cents: int
    currency: str
    labels: dict[str, str] = field(default_factory=dict)  # the stage's name per language


def weighted_cents(total_cents: int, probability: int) -> int:
    """Probability-weighted amount, rounded half-up to the cent."""
    value = Decimal(total_cents) * Decimal(probability) / Decimal(100)
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def summarise(
    stage_list: list[Stage], grouped: list[dict[str, object]], default_currency: str
) -> list[PipelineRow]:
    """Per stage and currency: count, total and weighted total (stages without deals show 0)."""
    rows: list[PipelineRow] = []
    by_stage: dict[int, list[dict[str, object]]] = {}
    for item in grouped:
        by_stage.setdefault(int(item["stage_id"]), []).append(item)  # type: ignore[call-overload]
    for stage in stage_list:
        items = by_stage.get(stage.id) or [{"n": 0, "total": 0, "currency": default_currency}]
        for item in sorted(items, key=lambda i: str(i["currency"])):
            total = int(item["total"] or 0)  # type: ignore[call-overload]
            rows.append(
                PipelineRow(
                    stage=stage.name,
                    labels=dict(stage.labels or {}),
                    probability=stage.probability,
                    count=int(item["n"]),  # type: ignore[call-overload]
                    total_cents=total,
                    weighted_cents=weighted_cents(total, stage.probability),
                    currency=str(item["currency"]),
                )
            )
    return rows


async def pipeline_summary(
    actor: User, default_currency: str, *, owner_id: int | None = None
) -> list[PipelineRow]:
    """The funnel the user may see (or one person's, for managers)."""
    where, params = [], []
    if not sees_everything(actor):
        where.append("owner_id = ?")
        params.append(actor.id)
    if owner_id is not None:
        where.append("owner_id = ?")
        params.append(owner_id)
    clause = f"WHERE {' AND '.join(where)} " if where else ""
    grouped = await fetch(  # fixed SQL text; the ids are parameters
        "SELECT stage_id, currency, COUNT(*) AS n, SUM(amount_cents) AS total "  # noqa: S608
        f"FROM deals {clause}GROUP BY stage_id, currency",
        *params,
    )
    return summarise(await stages(), grouped, default_currency)


async def team_summary(actor: User, default_currency: str) -> dict[str, list[PipelineRow]]:
    """For managers: each active owner's funnel, by name."""
    return (await funnel(actor, default_currency))[1]


async def funnel(
    actor: User, default_currency: str
) -> tuple[list[PipelineRow], dict[str, list[PipelineRow]]]:
    """The funnel the user may see and, for managers, each active owner's, by name.

    One grouped query (owner, stage, currency) read from a covering index: the team total
    is the sum of the owners' groups, so managers cost one scan, not one per person.
    """
    if not sees_everything(actor):
        return await pipeline_summary(actor, default_currency), {}
    grouped = await fetch(
        "SELECT owner_id, stage_id, currency, COUNT(*) AS n, SUM(amount_cents) AS total "
        "FROM deals GROUP BY owner_id, stage_id, currency"
    )
    totals: dict[tuple[object, object], dict[str, object]] = {}
    per_owner: dict[int, list[dict[str, object]]] = {}
    for item in grouped:
        key = (item["stage_id"], item["currency"])
        acc = totals.setdefault(key, {"stage_id": key[0], "currency": key[1], "n": 0, "total": 0})
        acc["n"] = int(acc["n"]) + int(item["n"])  # type: ignore[call-overload]
        acc["total"] = int(acc["total"]) + int(item["total"] or 0)  # type: ignore[call-overload]
        per_owner.setdefault(int(item["owner_id"]), []).append(item)
    stage_list = await stages()
    owners = await fetch("SELECT id, name FROM users WHERE active = ? ORDER BY name", True)
    team = {
        str(u["name"]): summarise(stage_list, per_owner[int(u["id"])], default_currency)
        for u in owners
        if int(u["id"]) in per_owner
    }
    return summarise(stage_list, list(totals.values()), default_currency), team
