"""Migration 0009_alert_actions on databases that hold alerts (SQLite and PostgreSQL): the
buttons stored before it (label and callback data, flat or in rows) become the actions they
stood for, which the alerts module reads back; a button no action stands for is dropped;
alerts without buttons are left alone."""

from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import asyncpg
from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.migrations.api import migrate

from storage.alerts import ActionKind, AlertAction, actions_of
from storage.db import close_db, init_db, tortoise_config
from storage.models import Alert
from tests.services import PostgresServer

OLD: dict[str, list[Any]] = {
    "overdue": [
        {"label": "coll.btn_remind", "data": "coll:remind:4"},
        {"label": "coll.btn_call", "data": "coll:call:4"},
        {"label": "coll.btn_promise", "data": "coll:promise:4"},
        {"label": "coll.btn_dispute", "data": "coll:dispute:4"},
        {"label": "coll.btn_invoice", "data": "coll:invoice:4"},
    ],
    "stock_short": [{"label": "po.btn_open", "data": "po:open:7"}],
    "goods_received": [[{"label": "po.btn_deliver", "data": "po:deliver:12"}]],  # rows
    "supplier_invoice": [
        {"label": "pa.btn_approve", "data": "si:ok:3"},
        {"label": "pa.btn_dispute", "data": "si:dispute:3"},
        {"label": "pa.btn_refuse", "data": "si:refuse:3"},
    ],
    "pa_rejected": [{"label": "pa.btn_resubmit", "data": "pa:resubmit:9"}],
    "payment_unmatched": [{"label": "payments.btn_show", "data": "pay:show:21"}],
    "task_due": [{"label": "ops.btn_task_done", "data": "task:done:5"}, {"label": "x", "data": "help:show"}],
    "email_failed": [],
}
NEW = {
    "overdue": [
        AlertAction(ActionKind.SEND_REMINDER, 4),
        AlertAction(ActionKind.LOG_CALL, 4),
        AlertAction(ActionKind.PROMISE_TO_PAY, 4),
        AlertAction(ActionKind.TOGGLE_DISPUTE, 4),
        AlertAction(ActionKind.OPEN_OVERDUE_INVOICE, 4),
    ],
    "stock_short": [AlertAction(ActionKind.OPEN_PURCHASE_ORDER, 7)],
    "goods_received": [AlertAction(ActionKind.DELIVER_DEAL, 12)],
    "supplier_invoice": [
        AlertAction(ActionKind.APPROVE_SUPPLIER_INVOICE, 3),
        AlertAction(ActionKind.DISPUTE_SUPPLIER_INVOICE, 3),
        AlertAction(ActionKind.REFUSE_SUPPLIER_INVOICE, 3),
    ],
    "pa_rejected": [AlertAction(ActionKind.RESUBMIT_INVOICE, 9)],
    "payment_unmatched": [AlertAction(ActionKind.MATCH_PAYMENT, 21)],
    "task_due": [AlertAction(ActionKind.COMPLETE_TASK, 5)],  # help:show is no alert action
    "email_failed": [],
}


def test_every_action_kind_has_an_old_button_in_the_fixture() -> None:
    assert {a.kind for actions in NEW.values() for a in actions} == set(ActionKind)


async def _read_back(url: str) -> dict[str, list[AlertAction]]:
    await init_db(url)
    try:
        return {alert.kind: actions_of(alert) for alert in await Alert.all()}
    finally:
        await close_db()


async def test_stored_buttons_become_actions_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path}/old.db"
    await migrate(config=tortoise_config(url), target="models.0008_stage_labels")
    await Tortoise.close_connections()
    db = sqlite3.connect(tmp_path / "old.db")
    db.execute(
        "INSERT INTO users (id, name, role, active, unreachable, language, created_at) "
        "VALUES (1, 'a', 'sales', 1, 0, 'en', '2026-11-20 10:00:00+00:00')"
    )
    for n, (kind, buttons) in enumerate(OLD.items(), start=1):
        db.execute(
            "INSERT INTO alerts (id, dedupe_key, user_id, kind, params, buttons, urgent, status, attempts, "
            "created_at) VALUES (?, ?, 1, ?, '{}', ?, 0, 'pending', 0, '2026-11-20 10:00:00+00:00')",
            (n, f"k{n}", kind, json.dumps(buttons, separators=(",", ":"))),
        )
    db.commit()
    db.close()
    await migrate(config=tortoise_config(url))
    await Tortoise.close_connections()
    db = sqlite3.connect(tmp_path / "old.db")
    [stored] = db.execute("SELECT buttons FROM alerts WHERE kind = 'stock_short'").fetchall()
    db.close()
    assert json.loads(stored[0]) == [{"action": "open_purchase_order", "id": 7}]
    assert await _read_back(url) == NEW


async def test_the_same_upgrade_on_postgres(postgres_server: PostgresServer) -> None:
    name = f"act_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(f"{postgres_server.url}/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = f"{postgres_server.url}/{name}"
    EXECUTOR_CACHE.clear()
    await migrate(config=tortoise_config(url), target="models.0008_stage_labels")
    await Tortoise.close_connections()
    conn = await asyncpg.connect(url)
    await conn.execute(
        "INSERT INTO users (id, name, role, active, unreachable, language, created_at) "
        "VALUES (1, 'a', 'sales', true, false, 'en', now())"
    )
    for n, (kind, buttons) in enumerate(OLD.items(), start=1):
        await conn.execute(
            "INSERT INTO alerts (id, dedupe_key, user_id, kind, params, buttons, urgent, status, attempts, "
            "created_at) VALUES ($1, $2, 1, $3, '{}', $4, false, 'pending', 0, now())",
            n,
            f"k{n}",
            kind,
            json.dumps(buttons),
        )
    await conn.close()
    await migrate(config=tortoise_config(url))
    await Tortoise.close_connections()
    conn = await asyncpg.connect(url)
    stored = await conn.fetchval("SELECT buttons FROM alerts WHERE kind = 'stock_short'")
    await conn.close()
    assert json.loads(stored) == [{"action": "open_purchase_order", "id": 7}]
    assert await _read_back(url) == NEW
