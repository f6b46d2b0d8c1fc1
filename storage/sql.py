"""Hand-written SQL for the hottest reads of the chat (search, the deal card).

Building a query through the ORM costs 0.5-2 ms of Python per query (measured by
`bench/chat.py`), ten times the database's own work on SQLite. The few reads every chat
command makes are written here once, with `?` placeholders (numbered for PostgreSQL),
and turned back into model instances with the ORM's own row conversion.
"""

from __future__ import annotations

from typing import Any, TypeVar

from tortoise import connections
from tortoise.models import Model

__all__ = ["columns", "fetch", "fetch_models", "like_contains", "model_from"]

M = TypeVar("M", bound=Model)


def _numbered(sql: str) -> str:
    parts = sql.split("?")
    return "".join(p + (f"${i}" if i < len(parts) else "") for i, p in enumerate(parts, start=1))


async def fetch(sql: str, *params: Any) -> list[dict[str, Any]]:
    """Rows as dicts; `?` placeholders work on SQLite and PostgreSQL."""
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        sql = _numbered(sql)
    return list(await conn.execute_query_dict(sql, list(params)))


def columns(model: type[Model], alias: str, prefix: str = "") -> str:
    """`alias."col" AS "prefixcol", ...` for every column of the model."""
    return ", ".join(
        f'{alias}."{c}" AS "{prefix}{c}"' for c in model._meta.fields_db_projection.values()
    )


def model_from(model: type[M], row: dict[str, Any], prefix: str = "") -> M:
    """A model instance from a row (columns possibly prefixed), as the ORM builds it."""
    names = model._meta.fields_db_projection.values()
    return model._init_from_db(**{c: row[prefix + c] for c in names})


async def fetch_models(model: type[M], sql: str, *params: Any) -> list[M]:
    """Model instances from the rows; selecting only some columns gives partial (read-only)
    instances, which skips converting the JSON and date columns nobody will read."""
    return [model._init_from_db(**row) for row in await fetch(sql, *params)]


def like_contains(text: str) -> str:
    """A LIKE pattern (with ESCAPE '\\') matching `text` literally anywhere."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
