"""Alert delivery benchmark: 5,000 alerts (300 people + a team group chat) delivered through
the real PTB Application (AIORateLimiter on) to a stand-in of the Bot API that enforces
Telegram's limits with sliding windows and answers 429 when one is exceeded:
30 messages/s overall, 1/s per chat, 20/min per group.

    .venv/bin/python -m bench.alerts [--alerts 5000] [--people 300] [--group 40] [--quick]

Target: >= 25 messages/s with no 429. Not part of the test suite. Takes about 3 minutes
(5,000 messages at under 30/s).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter, deque
from pathlib import Path
from typing import Any

from bench import machine
from bot.__main__ import bootstrap
from bot.app import build_application
from bot.delivery import Pacer, deliver_alerts
from bot.settings import Settings
from bot.transport import RecordingRequest
from storage.db import close_db, init_db
from storage.models import Alert, AlertStatus, Role, User

GROUP = -100_500


class TelegramLimits:
    """Sliding windows, as strict as Telegram's documented limits."""

    def __init__(self) -> None:
        self.overall: deque[float] = deque()
        self.chats: dict[int, deque[float]] = {}
        self.rejected = 0
        self.reasons: Counter[str] = Counter()
        self.accepted = 0
        self.peak_overall = 0

    @staticmethod
    def _count(window: deque[float], now: float, period: float) -> int:
        while window and now - window[0] >= period:
            window.popleft()
        return len(window)

    async def __call__(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        if method != "sendMessage":
            return None
        now = time.monotonic()
        chat_id = int(params["chat_id"])
        window = self.chats.setdefault(chat_id, deque())
        rate, period = (20, 60.0) if chat_id < 0 else (1, 1.0)
        if self._count(self.overall, now, 1.0) >= 30 or self._count(window, now, period) >= rate:
            self.rejected += 1
            self.reasons[
                "overall" if len(self.overall) >= 30 else "group" if chat_id < 0 else "private chat"
            ] += 1
            return 429, {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},
            }
        self.overall.append(now)
        window.append(now)
        self.accepted += 1
        self.peak_overall = max(self.peak_overall, len(self.overall))
        return None


async def main(args: argparse.Namespace) -> None:
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            _env_file=None,
            database_url=f"sqlite://{tmp}/bench.db",  # type: ignore[call-arg]
            var_dir=Path(tmp) / "var",
            quiet_hours="",
        )
        await init_db(settings.database_url, migrate=False, generate=True)
        try:
            await User.bulk_create(
                [
                    User(name=f"user{i}", role=Role.SALES, telegram_id=10_000 + i, language="fr")
                    for i in range(args.people)
                ]
            )
            users = await User.all().order_by("id").values_list("id", flat=True)
            alerts = [
                Alert(
                    dedupe_key=f"bench:{i}",
                    user_id=users[i % len(users)],
                    kind="email_sent",
                    params={"to": f"client{i}@acme.example", "subject": f"F2026-{i:05d}"},
                )
                for i in range(args.alerts - args.group)
            ] + [
                Alert(
                    dedupe_key=f"bench:g{i}",
                    chat_id=GROUP,
                    kind="job_failed",
                    params={"job": "inbox", "error": f"#{i}"},
                )
                for i in range(args.group)
            ]
            await Alert.bulk_create(alerts, batch_size=500)
            request = RecordingRequest(settings.bot_username)
            limits = TelegramLimits()
            app = build_application(bootstrap(settings), request=request, rate_limit=True, jobs=False)
            async with app:
                request.responder = limits
                pacer = Pacer()
                started = time.perf_counter()
                runs = 0
                while await Alert.filter(status=AlertStatus.PENDING).exists():
                    result = await deliver_alerts(app.bot, settings, pacer, budget=50.0)
                    if args.verbose:
                        print(f"run {runs}: {result} at {time.perf_counter() - started:.1f} s")
                    runs += 1
                    if result.delivered == 0:
                        await asyncio.sleep(1.0)  # the job's next tick
                    if time.perf_counter() - started > args.timeout:
                        break
                elapsed = time.perf_counter() - started
            delivered = await Alert.filter(status=AlertStatus.DELIVERED).count()
        finally:
            await close_db()
    sent = [s for s in request.sent if s.method == "sendMessage"]
    print(
        f"{delivered}/{args.alerts} alerts delivered in {elapsed:.1f} s over {runs} job runs "
        f"({args.people} people, {args.group} to one group)"
    )
    print(
        f"rate: {delivered / elapsed:.1f} messages/s  [target >= 25/s]; reference: Telegram's "
        f"ceiling of 30 messages/s, enforced by the stand-in (ratio {delivered / elapsed / 30:.2f})"
    )
    print(
        f"429 answered by the stand-in: {limits.rejected} {dict(limits.reasons)}  [target 0]; "
        f"peak messages in any 1 s window: {limits.peak_overall} (limit 30)"
    )
    print(f"messages recorded: {len(sent)} (each alert exactly once: {len(sent) == delivered})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=5000)
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--group", type=int, default=40)
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--verbose", action="store_true", help="print each job run")
    parser.add_argument("--quick", action="store_true", help="60 alerts to 40 people and a group")
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.alerts, arguments.people, arguments.group = 60, 40, 3
    asyncio.run(main(arguments))
