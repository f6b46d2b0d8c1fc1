"""Alert delivery through the real PTB Application (rate limiter on) and a recording Bot API."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from telegram import Update

from bot.app import build_application
from bot.delivery import Pacer, deliver_alerts, render_alert, template_params
from bot.settings import Settings
from bot.transport import RecordingRequest, Sent
from storage.alerts import ActionKind, AlertAction, alert_team, alert_user, set_team_chat, team_chat_id
from storage.models import Alert, AlertStatus, Role, User
from storage.users import create_user
from tests.harness import ChatHarness
from tests.strict_api import StrictBotApi

pytestmark = pytest.mark.filterwarnings("ignore:Deprecated since version v22.2")

# 10:00 in Paris: outside the default quiet hours (20:00-08:00).
DAY = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def telegram(db: str, settings: Settings) -> AsyncIterator[tuple[Any, RecordingRequest]]:
    """The real Application with PTB's AIORateLimiter, over the recording Bot API."""
    from bot.__main__ import bootstrap

    request = StrictBotApi(settings.bot_username)  # refuses what Telegram refuses
    app = build_application(bootstrap(settings), request=request, rate_limit=True, jobs=False)
    async with app:
        yield app, request


def _messages(request: RecordingRequest, chat_id: int | None) -> list[Sent]:
    return [s for s in request.sent if s.method == "sendMessage" and s.chat_id == chat_id]


async def _deliver(app: Any, settings: Settings, clock: Clock, pacer: Pacer | None = None) -> Any:
    return await deliver_alerts(app.bot, settings, pacer or Pacer(), clock=clock)


def test_params_become_money_and_dates_in_the_language() -> None:
    params = {"amount_cents": 123450, "currency": "EUR", "due_date": "2026-11-30", "n": 3}
    fr = template_params(params, "fr", "EUR")
    en = template_params(params, "en", "EUR")
    assert fr["amount"] == "1\u202f234,50\xa0€" and fr["due"] == "30 nov. 2026"
    assert en["amount"] == "€1,234.50" and en["due"] == "30 Nov 2026"
    assert fr["n"] == 3 and fr["amount_cents"] == 123450


async def test_alert_is_rendered_in_the_recipients_language_with_escaped_values(db: str) -> None:
    olga = await create_user("olga", Role.SALES, telegram_id=11, language="fr")
    alert = await alert_user(
        olga,
        "email_failed",
        "k",
        {"to": "a@b.example", "subject": "<F1>", "error": "550 no"},
        [
            AlertAction(ActionKind.OPEN_PURCHASE_ORDER, 7),
            AlertAction(ActionKind.DELIVER_DEAL, 12),
            AlertAction(ActionKind.COMPLETE_TASK, 5),
        ],
    )
    assert alert is not None
    await alert.fetch_related("rerouted_from")
    text, markup = render_alert(alert, "fr")
    assert "n'a pas pu être remis" in text and "&lt;F1&gt;" in text and "550 no" in text
    assert markup is not None
    rows = [[(b.text, b.callback_data) for b in row] for row in markup.inline_keyboard]
    assert rows == [
        [("Ouvrir la commande", "po:open:7"), ("🚚 Livrée", "po:deliver:12")],
        [("✔ Fait", "task:done:5")],
    ]
    english, _ = render_alert(alert, "en")
    assert "could not be delivered" in english


async def test_flood_control_then_server_error_still_delivers_exactly_once(
    telegram: tuple[Any, RecordingRequest], settings: Settings
) -> None:
    app, request = telegram
    olga = await create_user("olga", Role.SALES, telegram_id=11, language="en")
    await alert_user(olga, "email_sent", "k1", {"to": "a@b.example", "subject": "F1"})
    answers = [
        (
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},
            },
        ),
        (500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}),
    ]

    async def responder(method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        if method == "sendMessage" and answers:
            return answers.pop(0)
        return None

    request.responder = responder
    clock = Clock(DAY)
    first = await _deliver(app, settings, clock)  # 429: the limiter waits and retries; then 500
    assert (first.delivered, first.retried) == (0, 1)
    alert = await Alert.get(user_id=olga.id)
    assert alert.status == AlertStatus.PENDING and alert.next_attempt_at is not None
    assert await _deliver(app, settings, clock) == first.__class__()  # backoff: not due yet
    clock.now = DAY + timedelta(minutes=1)
    second = await _deliver(app, settings, clock)
    assert second.delivered == 1
    clock.now = DAY + timedelta(hours=1)
    assert (await _deliver(app, settings, clock)).delivered == 0
    [sent] = _messages(request, 11)
    assert "Email sent to a@b.example" in sent.text
    assert (await Alert.get(user_id=olga.id)).status == AlertStatus.DELIVERED


async def test_flood_control_left_to_the_job_reschedules_after_retry_after(
    db: str, settings: Settings
) -> None:
    from bot.__main__ import bootstrap

    request = StrictBotApi(settings.bot_username)
    app = build_application(bootstrap(settings), request=request, rate_limit=False, jobs=False)

    async def flood(method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        if method == "sendMessage":
            return 429, {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests",
                "parameters": {"retry_after": 30},
            }
        return None

    olga = await create_user("olga", Role.SALES, telegram_id=11)
    await alert_user(olga, "email_sent", "k1", {"to": "a", "subject": "s"})
    async with app:
        request.responder = flood
        result = await _deliver(app, settings, Clock(DAY))
    assert result.retried == 1
    alert = await Alert.get(user_id=olga.id)
    assert alert.next_attempt_at is not None
    assert alert.next_attempt_at >= DAY + timedelta(seconds=30)


async def test_a_user_who_blocked_the_bot_is_unreachable_and_alerts_go_to_a_manager(
    telegram: tuple[Any, RecordingRequest], settings: Settings
) -> None:
    app, request = telegram
    bob = await create_user("bob", Role.SALES, telegram_id=21, language="en")
    mia = await create_user("mia", Role.MANAGER, telegram_id=22, language="fr")
    await alert_user(bob, "email_sent", "k1", {"to": "a@b.example", "subject": "F1"})
    await alert_user(
        bob, "email_failed", "k2", {"to": "c@d.example", "subject": "F2", "error": "550 no such user"}
    )

    async def blocked(method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        if method == "sendMessage" and int(params["chat_id"]) == 21:
            return 403, {
                "ok": False,
                "error_code": 403,
                "description": "Forbidden: bot was blocked by the user",
            }
        return None

    request.responder = blocked
    clock = Clock(DAY)
    first = await _deliver(app, settings, clock)
    assert first.rerouted == 1 and first.delivered == 0
    assert (await User.get(id=bob.id)).unreachable
    assert await Alert.filter(user_id=bob.id, status=AlertStatus.REROUTED).count() == 2
    second = await _deliver(app, settings, clock)
    assert second.delivered == 2
    texts = [s.text for s in _messages(request, 22)]
    assert len(texts) == 2 and all(t.startswith("↪️ Pour bob") for t in texts)
    assert any("550 no such user" in t for t in texts)
    # Later alerts for bob go straight to the manager, without trying bob again.
    await alert_user(bob, "email_sent", "k3", {"to": "e@f.example", "subject": "F3"})
    request.clear()
    await _deliver(app, settings, clock)
    await _deliver(app, settings, clock)
    assert _messages(request, 21) == [] and len(_messages(request, 22)) == 1
    assert await Alert.filter(user_id=mia.id, status=AlertStatus.DELIVERED).count() == 3


async def test_quiet_hours_hold_non_urgent_alerts_until_morning(
    telegram: tuple[Any, RecordingRequest], settings: Settings
) -> None:
    app, request = telegram
    settings.quiet_hours, settings.timezone = "20:00-08:00", "Europe/Paris"
    admin = await create_user("root", Role.ADMIN, telegram_id=31, language="en")
    await alert_user(admin, "email_sent", "calm", {"to": "a", "subject": "calm"})
    await alert_user(admin, "job_failed", "loud", {"job": "outbox", "error": "boom"}, urgent=True)
    night = Clock(datetime(2026, 11, 20, 22, 30, tzinfo=UTC))  # 23:30 in Paris
    result = await _deliver(app, settings, night)
    assert result.delivered == 1 and result.held_quiet
    assert ["boom" in s.text for s in _messages(request, 31)] == [True]
    night.now = datetime(2026, 11, 21, 6, 59, tzinfo=UTC)  # 07:59 in Paris
    assert (await _deliver(app, settings, night)).delivered == 0
    night.now = datetime(2026, 11, 21, 7, 0, tzinfo=UTC)  # 08:00 in Paris
    assert (await _deliver(app, settings, night)).delivered == 1
    assert "calm" in _messages(request, 31)[-1].text


async def _in_group(chat: ChatHarness, person: Any, text: str, group_id: int) -> list[Sent]:
    message = person._message(
        text=text, entities=[{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    )
    message["chat"] = {"id": group_id, "type": "supergroup", "title": "Sales team"}
    before = len(chat.request.sent)
    await chat.app.process_update(
        Update.de_json({"update_id": int(time.time() * 1000) % 10**9, "message": message}, chat.app.bot)
    )
    chat.raise_unexpected()
    return chat.request.sent[before:]


async def test_a_manager_names_the_team_chat_which_then_gets_team_alerts(
    chat: ChatHarness, settings: Settings
) -> None:
    sam = await chat.user("sam", Role.SALES)
    replies = await _in_group(chat, sam, "/teamchat", -1001)
    assert [r.text for r in replies] == ["Only a manager can choose the team chat."]
    assert await team_chat_id() is None
    mia = await chat.user("mia", Role.MANAGER)
    replies = await _in_group(chat, mia, "/teamchat@entonnoir_bot", -1001)
    assert replies[0].chat_id == -1001 and "team's alerts" in replies[0].text
    assert await team_chat_id() == -1001
    await mia.says("/teamchat")
    assert "group chat" in mia.last_text

    await alert_team("job_failed", "team:1", {"job": "inbox", "error": "IMAP down"})
    result = await deliver_alerts(chat.app.bot, settings, Pacer(), clock=Clock(DAY))
    assert result.delivered == 1
    assert len([s for s in chat.request.sent if s.chat_id == -1001 and "IMAP down" in s.text]) == 1
    await _in_group(chat, mia, "/teamchat off", -1001)
    assert await team_chat_id() is None


async def test_team_alerts_go_to_managers_when_no_team_chat_is_set(db: str) -> None:
    mia = await create_user("mia", Role.MANAGER, telegram_id=22)
    await create_user("sam", Role.SALES, telegram_id=23)
    [alert] = await alert_team("job_failed", "t", {"job": "x", "error": "y"})
    assert alert.user_id == mia.id
    sales = await create_user("sal", Role.SALES, telegram_id=24)
    with pytest.raises(Exception, match="team_chat"):
        await set_team_chat(sales, -5)
    assert await team_chat_id() is None


async def test_pacer_keeps_one_message_per_second_per_chat_and_the_overall_rate() -> None:
    pacer = Pacer(overall=5, period=0.2, private_gap=0.1, group=2, group_period=0.3)
    stamps: list[tuple[int, float]] = []

    async def send(chat_id: int) -> None:
        await pacer.wait(chat_id)
        stamps.append((chat_id, time.monotonic()))

    await asyncio.gather(*(send(c) for c in [1] * 4 + list(range(100, 112)) + [-7] * 3))
    ones = [t for c, t in stamps if c == 1]
    assert all(b - a >= 0.099 for a, b in itertools.pairwise(ones))
    group = [t for c, t in stamps if c == -7]
    assert group[2] - group[0] >= 0.299
    times = sorted(t for _, t in stamps)
    assert all(times[i + 5] - times[i] >= 0.199 for i in range(len(times) - 5))


async def test_team_chat_alerts_are_not_stuck_behind_a_backlog_of_private_ones(
    telegram: tuple[Any, RecordingRequest], settings: Settings
) -> None:
    app, request = telegram
    people = [await create_user(f"u{i}", Role.SALES, telegram_id=100 + i) for i in range(4)]
    for i, person in enumerate(people):
        await alert_user(person, "email_sent", f"p{i}", {"to": "a@b.example", "subject": "F"})
    await Alert.bulk_create(
        [
            Alert(
                dedupe_key=f"team{i}",
                chat_id=-1001,
                kind="job_failed",
                params={"job": "inbox", "error": f"#{i}"},
            )
            for i in range(2)
        ]
    )

    result = await deliver_alerts(app.bot, settings, Pacer(), clock=Clock(DAY), limit=2)

    assert result.delivered == 4
    assert len(_messages(request, -1001)) == 2
    assert await Alert.filter(chat_id=-1001, status=AlertStatus.DELIVERED).count() == 2
    assert await Alert.filter(status=AlertStatus.DELIVERED).count() == 4


async def test_pacer_spreads_dispatched_slots_evenly_instead_of_in_bursts() -> None:
    pacer = Pacer(overall=10, period=0.2)
    stamps = []
    for chat_id in range(6):
        await pacer.take(chat_id)
        stamps.append(time.monotonic())
        assert pacer.delay_for(chat_id) > 0.9  # that chat now waits its own second
    assert all(b - a >= 0.019 for a, b in itertools.pairwise(stamps))
