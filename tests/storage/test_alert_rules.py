"""Pure alert rules: quiet hours in the company time zone, backoff; rerouting edge cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from storage.alerts import (
    alert_retry_delay,
    alert_user,
    due_alerts,
    in_quiet_hours,
    mark_delivered_many,
    quiet_hours_end,
    reroute_alert,
)
from storage.models import Alert, AlertStatus, Role
from storage.users import create_user

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _paris(y: int, mo: int, d: int, h: int, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=PARIS).astimezone(UTC)


def test_quiet_hours_span_midnight_in_the_company_time_zone() -> None:
    spec = "20:00-08:00"
    assert in_quiet_hours(_paris(2026, 11, 20, 20, 0), spec, PARIS)
    assert in_quiet_hours(_paris(2026, 11, 21, 3, 0), spec, PARIS)
    assert not in_quiet_hours(_paris(2026, 11, 21, 8, 0), spec, PARIS)
    assert not in_quiet_hours(_paris(2026, 11, 20, 19, 59), spec, PARIS)
    # 19:30 UTC is 20:30 in Paris in winter: quiet, although UTC says otherwise.
    assert in_quiet_hours(datetime(2026, 11, 20, 19, 30, tzinfo=UTC), spec, PARIS)


def test_quiet_hours_end_is_the_next_local_end_time_across_a_dst_change() -> None:
    # The night of 24-25 Oct 2026 is 25 hours long in Paris (back to winter time).
    end = quiet_hours_end(_paris(2026, 10, 24, 23, 0), "20:00-08:00", PARIS)
    assert end is not None and end.astimezone(PARIS).hour == 8
    assert end.astimezone(UTC) == datetime(2026, 10, 25, 7, 0, tzinfo=UTC)
    assert quiet_hours_end(_paris(2026, 10, 25, 12, 0), "20:00-08:00", PARIS) is None


def test_daytime_quiet_hours_and_no_quiet_hours() -> None:
    assert in_quiet_hours(_paris(2026, 11, 20, 12, 30), "12:00-14:00", PARIS)
    assert not in_quiet_hours(_paris(2026, 11, 20, 14, 0), "12:00-14:00", PARIS)
    assert not in_quiet_hours(_paris(2026, 11, 20, 3, 0), "", PARIS)


def test_alert_backoff_doubles_and_is_capped() -> None:
    assert [alert_retry_delay(n).total_seconds() for n in (1, 2, 3)] == [5, 10, 20]
    assert alert_retry_delay(40) == timedelta(minutes=10)


async def test_rerouting_without_any_reachable_manager_marks_the_alert_failed(db: str) -> None:
    bob = await create_user("bob", Role.SALES, telegram_id=21)
    alert = await alert_user(bob, "email_sent", "k", {"to": "a", "subject": "s"})
    assert alert is not None
    assert await reroute_alert(alert, "blocked") == []
    row = await Alert.get(id=alert.id)
    assert row.status == AlertStatus.FAILED and "no reachable manager" in (row.last_error or "")


async def test_rerouting_prefers_managers_and_happens_once(db: str) -> None:
    bob = await create_user("bob", Role.SALES, telegram_id=21)
    await create_user("root", Role.ADMIN, telegram_id=22)
    mia = await create_user("mia", Role.MANAGER, telegram_id=23)
    alert = await alert_user(bob, "email_sent", "k", {"to": "a", "subject": "s"})
    assert alert is not None
    copies = await reroute_alert(alert, "blocked")
    assert [(c.user_id, c.rerouted_from_id) for c in copies] == [(mia.id, bob.id)]
    assert await reroute_alert(alert, "blocked") == []
    assert await Alert.filter(user_id=mia.id).count() == 1


async def test_group_chat_alerts_are_fetched_first_behind_a_backlog(db: str) -> None:
    bob = await create_user("bob", Role.SALES, telegram_id=21)
    await Alert.bulk_create([Alert(dedupe_key=f"p{i}", user_id=bob.id, kind="k") for i in range(10)])
    await Alert.bulk_create([Alert(dedupe_key=f"g{i}", chat_id=-100, kind="k") for i in range(3)])

    plain = await due_alerts(NOW, quiet=False, limit=5)
    mixed = await due_alerts(NOW, quiet=False, limit=5, chats_first=2)

    assert [a.chat_id for a in plain] == [None] * 5
    assert [a.chat_id for a in mixed] == [None] * 5 + [-100, -100]
    assert [a.id for a in mixed] == sorted(a.id for a in mixed)


async def test_delivered_alerts_are_recorded_in_one_update_once(db: str) -> None:
    bob = await create_user("bob", Role.SALES, telegram_id=21)
    alerts = [await alert_user(bob, "k", f"k{i}") for i in range(3)]
    batch = [a for a in alerts if a is not None]
    assert await mark_delivered_many(batch[:2], NOW) == 2
    assert await mark_delivered_many(batch, NOW) == 1
    rows = await Alert.filter(user_id=bob.id).order_by("id")
    assert [(r.status, r.attempts, r.delivered_at) for r in rows] == [(AlertStatus.DELIVERED, 1, NOW)] * 3
