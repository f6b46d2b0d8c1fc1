"""Alerts carry actions, not buttons (issue 14): each stored button `{"label", "data"}`
becomes the action it stood for, `{"action", "id"}`, which the bot draws as a button.

The table below is frozen here (a migration never imports live code): it names every
callback the storage layer used to write. A button it does not know (none was written by
storage) is dropped, as it could no longer be drawn; rows already converted are left alone.
"""

from __future__ import annotations

import json
from typing import Any

from tortoise import migrations
from tortoise.migrations import operations as ops

_ACTIONS = {
    ("po", "open"): "open_purchase_order",
    ("po", "deliver"): "deliver_deal",
    ("si", "ok"): "approve_supplier_invoice",
    ("si", "dispute"): "dispute_supplier_invoice",
    ("si", "refuse"): "refuse_supplier_invoice",
    ("pa", "resubmit"): "resubmit_invoice",
    ("pay", "show"): "match_payment",
    ("coll", "remind"): "send_reminder",
    ("coll", "call"): "log_call",
    ("coll", "promise"): "promise_to_pay",
    ("coll", "dispute"): "toggle_dispute",
    ("coll", "invoice"): "open_overdue_invoice",
    ("task", "done"): "complete_task",
}


def _flat(buttons: Any) -> list[Any]:
    """Buttons were a flat list or a list of rows."""
    if not isinstance(buttons, list):
        return []
    return [b for item in buttons for b in (item if isinstance(item, list) else [item])]


def _action(button: Any) -> dict[str, Any] | None:
    if not isinstance(button, dict):
        return None
    if "action" in button:
        return button
    area, _, rest = str(button.get("data", "")).partition(":")
    verb, _, target = rest.partition(":")
    name = _ACTIONS.get((area, verb))
    if name is None or not target.isdigit():
        return None
    return {"action": name, "id": int(target)}


def actions(buttons: Any) -> list[dict[str, Any]]:
    """The actions a stored list of buttons stood for, in order."""
    found = (_action(b) for b in _flat(buttons))
    return [a for a in found if a is not None]


async def _convert(apps: Any, schema_editor: Any) -> None:
    client = schema_editor.client
    postgres = client.capabilities.dialect == "postgres"
    rows = await client.execute_query_dict("SELECT id, buttons FROM alerts WHERE buttons <> '[]'")
    changed = []
    for row in rows:
        stored = row["buttons"]
        buttons = json.loads(stored) if isinstance(stored, str | bytes) else stored
        wanted = actions(buttons)
        if wanted != buttons:
            changed.append([json.dumps(wanted, separators=(",", ":")), row["id"]])
    if changed:
        marks = ("$1", "$2") if postgres else ("?", "?")
        await client.execute_many(f"UPDATE alerts SET buttons = {marks[0]} WHERE id = {marks[1]}", changed)


class Migration(migrations.Migration):
    dependencies = [("models", "0008_stage_labels")]

    operations = [ops.RunPython(_convert, ops.RunPython.noop)]
