"""Alert delivery: renders alert rows in the recipient's language and sends them, paced.

Telegram's limits are about 30 messages/s overall, 1/s per chat and 20/min per group.
PTB's `AIORateLimiter` (on the Application) covers the overall and per-group limits and
retries flood control; it has no per-private-chat limit, so `Pacer` adds it, and keeps
alerts a little under the overall limit so interactive replies still get through.

One dispatcher hands out the overall slots: among the chats whose own limit allows a
message now, the one with the longest backlog (in seconds at its own rate) goes first,
so a group chat (20/min) or a person with many alerts drains at its own pace instead of
waiting for a turn behind every other chat; sends run concurrently. Alerts to group
chats are also fetched first in every run. Accepted alerts are recorded in batches
(every RECORD_EVERY or RECORD_SECONDS, and always at the end of the run), so the
database never sits between two sends.

Outcomes: accepted → delivered; flood control (RetryAfter) → rescheduled after the delay
Telegram asks and the run stops; network error or timeout → retried with backoff;
blocked (403) or chat not found → the user is marked unreachable and their pending
alerts go to the managers; any other refusal → failed (logged).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import warnings
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.i18n import Safe, catalogue, fmt_date, fmt_money, reasons_text, t
from bot.settings import Settings
from bot.ui import button, cb, keyboard
from storage.alerts import (
    ActionKind,
    AlertAction,
    actions_of,
    claim_alerts,
    in_quiet_hours,
    mark_alert_failed,
    mark_alert_retry,
    mark_delivered_many,
    mark_unreachable,
    release_alert_claims,
    reroute_alert,
)
from storage.i18n import said
from storage.models import Alert, User

__all__ = ["ACTION_BUTTONS", "DeliveryResult", "Pacer", "action_button", "deliver_alerts", "render_alert"]

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
ChatFor = Callable[[User], int | None]
MAX_CHAT_WAIT = 3.0  # seconds a run waits for one chat's limit before leaving it for later
RECORD_EVERY = 25  # delivered alerts recorded per UPDATE (the at-least-once window)...
RECORD_SECONDS = 0.5  # ... or at least this often


def _utcnow() -> datetime:
    return datetime.now(UTC)


# Rendering ------------------------------------------------------------------------------


def template_params(params: dict[str, Any], lang: str, default_currency: str) -> dict[str, Any]:
    """`x_cents` + currency → money `{x}`; `x_date` (ISO) → date `{x}`; `x_en`/`x_fr` → `{x}`
    in the reader's language; `x_msgs` (stored catalogue messages, `storage.i18n.message`)
    → `{x}`, each said in the reader's language on a line of its own; the rest as given."""
    out = dict(params)
    currency = str(params.get("currency") or default_currency)
    for key, value in params.items():
        if key.endswith("_cents") and isinstance(value, int):
            out[key.removesuffix("_cents")] = fmt_money(value, currency, lang)
        elif key.endswith("_key") and value:  # stored reason codes, said in `lang`
            out[key.removesuffix("_key")] = reasons_text(lang, value, limit=400)
        elif key.endswith("_msgs") and isinstance(value, list):
            out[key.removesuffix("_msgs")] = Safe("".join(f"\n{said(lang, m)}" for m in value))
        elif key.endswith(f"_{lang}") and isinstance(value, str):  # a value given per language
            out[key.removesuffix(f"_{lang}")] = value
        elif key.endswith("_date") and isinstance(value, str):
            try:
                out[key.removesuffix("_date")] = fmt_date(date.fromisoformat(value[:10]), lang)
            except ValueError:
                out[key.removesuffix("_date")] = value
    return out


def _label(lang: str, key: str, params: dict[str, Any]) -> str:
    if key in catalogue():
        try:
            return str(t(lang, key, **params))
        except (KeyError, IndexError, ValueError):
            return key
    return key


# The button the bot draws for each action an alert may carry: its label, and the callback
# data (area, verb, then the target's id) the area's handler reads. The handler checks the
# presser's right on the target again, as for any button.
ACTION_BUTTONS: dict[ActionKind, tuple[str, str, str]] = {
    ActionKind.OPEN_PURCHASE_ORDER: ("po.btn_open", "po", "open"),
    ActionKind.DELIVER_DEAL: ("po.btn_deliver", "po", "deliver"),
    ActionKind.APPROVE_SUPPLIER_INVOICE: ("pa.btn_approve", "si", "ok"),
    ActionKind.DISPUTE_SUPPLIER_INVOICE: ("pa.btn_dispute", "si", "dispute"),
    ActionKind.REFUSE_SUPPLIER_INVOICE: ("pa.btn_refuse", "si", "refuse"),
    ActionKind.RESUBMIT_INVOICE: ("pa.btn_resubmit", "pa", "resubmit"),
    ActionKind.MATCH_PAYMENT: ("payments.btn_show", "pay", "show"),
    ActionKind.SEND_REMINDER: ("coll.btn_remind", "coll", "remind"),
    ActionKind.LOG_CALL: ("coll.btn_call", "coll", "call"),
    ActionKind.PROMISE_TO_PAY: ("coll.btn_promise", "coll", "promise"),
    ActionKind.TOGGLE_DISPUTE: ("coll.btn_dispute", "coll", "dispute"),
    ActionKind.OPEN_OVERDUE_INVOICE: ("coll.btn_invoice", "coll", "invoice"),
    ActionKind.COMPLETE_TASK: ("ops.btn_task_done", "task", "done"),
}


def action_button(lang: str, action: AlertAction, params: dict[str, Any]) -> InlineKeyboardButton:
    """The button for one alert action, labelled in `lang`."""
    label, area, verb = ACTION_BUTTONS[action.kind]
    return button(_label(lang, label, params), cb(area, verb, action.target_id))


def _markup(lang: str, actions: list[AlertAction], params: dict[str, Any]) -> InlineKeyboardMarkup | None:
    """One button per action, two per row."""
    flat = [action_button(lang, action, params) for action in actions]
    return keyboard([flat[i : i + 2] for i in range(0, len(flat), 2)])  # 64-byte data, 100 buttons


def render_alert(
    alert: Alert, lang: str, default_currency: str = "EUR"
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The alert's text (locale key `alert.<kind>`) and buttons, in `lang`."""
    params = template_params(dict(alert.params or {}), lang, default_currency)
    try:
        text: str = t(lang, f"alert.{alert.kind}", **params)
    except (KeyError, IndexError, ValueError):
        log.warning("alert %s: no usable message alert.%s; sent as a plain summary", alert.id, alert.kind)
        details = ", ".join(f"{k}={v}" for k, v in (alert.params or {}).items())
        text = t(lang, "alert.unknown", kind=alert.kind, details=details[:500])
    if alert.rerouted_from is not None:
        text = t(lang, "alert.rerouted", name=alert.rerouted_from.name) + "\n" + text
    actions = actions_of(alert)
    if len(actions) != len(alert.buttons or []):
        log.warning("alert %s: stored actions not understood were left out: %r", alert.id, alert.buttons)
    return Safe(text), _markup(lang, actions, params)


# Pacing ---------------------------------------------------------------------------------


class Pacer:
    """Sliding-window limits: overall, per private chat, per group (negative chat ids)."""

    def __init__(
        self,
        overall: int = 28,
        period: float = 1.0,
        private_gap: float = 1.05,
        group: int = 19,
        group_period: float = 60.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.overall, self.period = overall, period
        self.private_gap, self.group, self.group_period = private_gap, group, group_period
        self.clock = clock
        self._sent: deque[float] = deque()
        self._chats: dict[int, deque[float]] = {}
        self._lock = asyncio.Lock()

    @staticmethod
    def _delay(window: deque[float], rate: int, period: float, now: float) -> float:
        while window and now - window[0] >= period:
            window.popleft()
        return 0.0 if len(window) < rate else window[0] + period - now

    async def _room(self, window: deque[float], rate: int, period: float) -> None:
        while True:
            delay = self._delay(window, rate, period, self.clock())
            if delay <= 0:
                return
            await asyncio.sleep(delay)

    def _limits(self, chat_id: int) -> tuple[int, float]:
        return (self.group, self.group_period) if chat_id < 0 else (1, self.private_gap)

    def delay_for(self, chat_id: int) -> float:
        """Seconds before `chat_id` may receive another message (0: now)."""
        rate, period = self._limits(chat_id)
        window = self._chats.get(chat_id)
        return self._delay(window, rate, period, self.clock()) if window else 0.0

    def gap(self, chat_id: int) -> float:
        """Average seconds between two messages to `chat_id` at its own limit."""
        rate, period = self._limits(chat_id)
        return period / rate

    async def take(self, chat_id: int) -> None:
        """Wait for an overall slot and count a message to `chat_id` (free by `delay_for`).

        Slots are spread evenly (one every period/overall) rather than taken in bursts: a
        burst that fills the window at once followed by the next one a period later leaves
        no room for the jitter between this stamp and the request reaching Telegram.
        """
        async with self._lock:
            await self._room(self._sent, self.overall, self.period)
            spacing = self._sent[-1] + self.period / self.overall - self.clock() if self._sent else 0.0
            if spacing > 0:
                await asyncio.sleep(spacing)
            now = self.clock()
            self._sent.append(now)
            self._chats.setdefault(chat_id, deque()).append(now)
        if len(self._chats) > 50_000:
            self._forget(now)

    async def wait(self, chat_id: int) -> None:
        """Return when a message to `chat_id` may be sent now (and count it)."""
        rate, period = self._limits(chat_id)
        window = self._chats.setdefault(chat_id, deque())
        while True:
            await self._room(window, rate, period)
            async with self._lock:
                await self._room(self._sent, self.overall, self.period)
                now = self.clock()
                if self._delay(window, rate, period, now) > 0:
                    continue  # another sender to this chat went first
                self._sent.append(now)
                window.append(now)
                break
        if len(self._chats) > 50_000:
            self._forget(now)

    def _forget(self, now: float) -> None:
        for chat_id in [c for c, w in self._chats.items() if not w or now - w[-1] > 120]:
            del self._chats[chat_id]


# Delivery -------------------------------------------------------------------------------


@dataclass
class DeliveryResult:
    delivered: int = 0
    retried: int = 0
    rerouted: int = 0
    failed: int = 0
    held_quiet: bool = False
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = (
            f"delivered {self.delivered}, retry later {self.retried}, "
            f"rerouted {self.rerouted}, failed {self.failed}"
        )
        if self.held_quiet:
            text += " (quiet hours: urgent alerts only)"
        return text


def _retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that the type will become timedelta
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class _Run:
    def __init__(
        self,
        bot: Bot,
        settings: Settings,
        pacer: Pacer,
        clock: Clock,
        chat_for: ChatFor | None = None,
        stop: asyncio.Event | None = None,
    ) -> None:
        self.bot, self.settings, self.pacer, self.clock = bot, settings, pacer, clock
        self.chat_for = chat_for
        self.stop = stop
        self.result = DeliveryResult()
        self.flood = False
        self.accepted: list[Alert] = []
        self.since = 0.0
        self.recording: asyncio.Task[int] | None = None

    async def delivered(self, alert: Alert) -> None:
        """Telegram accepted `alert`: recorded with the next batch."""
        if not self.accepted:
            self.since = time.monotonic()
        self.accepted.append(alert)
        self.result.delivered += 1
        if len(self.accepted) >= RECORD_EVERY or time.monotonic() - self.since >= RECORD_SECONDS:
            await self.record(wait=False)

    async def record(self, *, wait: bool = True) -> None:
        """Commit the accepted alerts (one batch in flight; `wait`: until all are recorded)."""
        if self.recording is not None:  # shielded: a cancelled sender leaves it running
            await asyncio.shield(self.recording)
            self.recording = None
        batch, self.accepted = self.accepted, []
        if batch and wait:
            await mark_delivered_many(batch, self.clock())
        elif batch:
            self.recording = asyncio.create_task(mark_delivered_many(batch, self.clock()))

    def chat_of(self, alert: Alert) -> int | None:
        user = alert.user
        if user is None:
            return None if alert.chat_id is None else int(alert.chat_id)
        if not user.active or user.unreachable:
            return None
        if self.chat_for is not None:  # the console transport maps users without Telegram
            return self.chat_for(user)
        return int(user.telegram_id) if user.telegram_id is not None else None

    async def dispatch(self, by_chat: dict[int, list[Alert]], deadline: float) -> None:
        """Send the alerts, each chat in order, longest backlog first among the ready chats."""
        queues = {chat_id: deque(alerts) for chat_id, alerts in by_chat.items()}
        busy: dict[int, asyncio.Task[bool]] = {}
        try:
            while (
                queues
                and not self.flood
                and time.monotonic() < deadline
                and not (self.stop is not None and self.stop.is_set())
            ):
                for chat_id in [c for c, task in busy.items() if task.done()]:
                    if busy.pop(chat_id).result():  # unreachable: the rest was rerouted
                        queues.pop(chat_id, None)
                ready, soonest = [], MAX_CHAT_WAIT
                for chat_id in list(queues):
                    delay = self.pacer.delay_for(chat_id)
                    if delay > MAX_CHAT_WAIT:  # a group at its per-minute limit: a later run
                        del queues[chat_id]
                    elif chat_id in busy:
                        soonest = min(soonest, 0.01)
                    elif delay <= 0:
                        ready.append(chat_id)
                    else:
                        soonest = min(soonest, delay)
                if not ready:
                    if queues:
                        await asyncio.sleep(soonest)
                    continue
                chat_id = max(ready, key=lambda c: (len(queues[c]) * self.pacer.gap(c), -queues[c][0].id))
                await self.pacer.take(chat_id)
                if self.flood:
                    break
                alert = queues[chat_id].popleft()
                if not queues[chat_id]:
                    del queues[chat_id]
                busy[chat_id] = asyncio.create_task(self.send(chat_id, alert))
        finally:
            if busy:
                await asyncio.wait(busy.values())
        for task in busy.values():
            task.result()  # an unexpected error reaches the job's error handler

    async def send(self, chat_id: int, alert: Alert) -> bool:
        """Send one alert; True when the chat turned out to be unreachable."""
        lang = alert.user.language if alert.user is not None else self.settings.default_language
        text, markup = render_alert(alert, lang, self.settings.default_currency)
        try:
            await self.bot.send_message(
                chat_id,
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                disable_web_page_preview=True,
            )
        except RetryAfter as exc:
            self.flood = True
            wait = timedelta(seconds=_retry_seconds(exc) + 1)
            await mark_alert_retry(alert, str(exc), self.clock(), delay=wait)
            self.result.retried += 1
            self.result.errors.append(str(exc))
        except Forbidden as exc:
            await self.unreachable(alert, str(exc))
            return True
        except BadRequest as exc:
            if "chat not found" in str(exc).lower():
                await self.unreachable(alert, str(exc))
                return True
            log.error("alert %s refused by Telegram: %s", alert.id, exc)
            await mark_alert_failed(alert, str(exc))
            self.result.failed += 1
            self.result.errors.append(str(exc))
        except (NetworkError, TelegramError) as exc:  # timeouts, 5xx, dropped connections
            log.info("alert %s will be retried: %s", alert.id, exc)
            await mark_alert_retry(alert, f"{type(exc).__name__}: {exc}", self.clock())
            self.result.retried += 1
            self.result.errors.append(str(exc))
        else:
            await self.delivered(alert)
        return False

    async def unreachable(self, alert: Alert, reason: str) -> None:
        log.warning("alert %s: recipient unreachable (%s); rerouting", alert.id, reason)
        await self.record()  # what was delivered to them is not rerouted
        copies = await mark_unreachable(alert, reason)
        self.result.rerouted += 1
        if not copies:
            log.error("alert %s: no reachable manager to reroute to", alert.id)


async def deliver_alerts(
    bot: Bot,
    settings: Settings,
    pacer: Pacer,
    *,
    clock: Clock = _utcnow,
    limit: int = 2000,
    budget: float = 50.0,
    chat_for: ChatFor | None = None,
    stop: asyncio.Event | None = None,
) -> DeliveryResult:
    """Deliver the due alerts (urgent only during quiet hours), for at most `budget` seconds.

    The alerts are claimed for the run (lease: the budget and a margin), so another
    instance's deliverer never sends them too; `stop` ends the run after the sends in
    flight, and what was not tried is given back.
    """
    now = clock()
    quiet = in_quiet_hours(now, settings.quiet_hours, settings.zone)
    run = _Run(bot, settings, pacer, clock, chat_for, stop)
    run.result.held_quiet = quiet
    by_chat: dict[int, list[Alert]] = {}
    group_share = pacer.group * math.ceil(budget / pacer.group_period)
    token, alerts = await claim_alerts(
        now, timedelta(seconds=budget + 30), quiet=quiet, limit=limit, chats_first=group_share
    )
    try:
        await _deliver(run, alerts, by_chat, budget)
    finally:
        await asyncio.shield(release_alert_claims(token))
    return run.result


async def _deliver(run: _Run, alerts: list[Alert], by_chat: dict[int, list[Alert]], budget: float) -> None:
    for alert in alerts:
        chat_id = run.chat_of(alert)
        if chat_id is None:  # unreachable, inactive or never started the bot
            await reroute_alert(alert, "recipient cannot be reached in Telegram")
            run.result.rerouted += 1
            continue
        by_chat.setdefault(chat_id, []).append(alert)
    deadline = time.monotonic() + budget
    try:
        await run.dispatch(by_chat, deadline)
    finally:
        await run.record()  # also when the run fails or is cancelled: nothing sent twice
