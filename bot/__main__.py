"""Composition root and command line: `entonnoir run|chat|migrate|user add|invite|...`.

Settings are read once here and handed down; nothing else reads the environment.
Other areas add subcommands through modules in `bot/cli/` exposing `register(subparsers)`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib
import logging
import pkgutil
import signal
import sys
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bot.cli
from bot.cli import CliParser, cli_text, set_cli_language
from bot.context import Services
from bot.logs import configure_logging
from bot.settings import Settings, SettingsError, load_settings
from storage.db import AlreadyRunning, close_db, init_db, migrate_db, run_lock
from storage.errors import UserError
from storage.formatting import counted
from storage.models import User
from storage.users import (
    create_invite,
    create_user,
    ensure_first_admin,
    find_user,
    parse_role,
    user_for_telegram,
)

__all__ = ["bootstrap", "main"]

log = logging.getLogger("entonnoir")
Command = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]


def bootstrap(settings: Settings, *, console: bool = False) -> Services:
    """Wire the services for the chat and the jobs."""
    from bot.console import CONSOLE_ID_BASE

    async def resolve(telegram_id: int) -> User | None:
        if console and telegram_id >= CONSOLE_ID_BASE:
            return await User.get_or_none(id=telegram_id - CONSOLE_ID_BASE, active=True)
        return await user_for_telegram(telegram_id)

    services = Services(settings=settings, resolve_user=resolve, console=console)
    if settings.simulated_clock_file is not None:
        services.now = _file_clock(settings.simulated_clock_file)
    return services


def _file_clock(path: Path) -> Callable[[], datetime]:
    """The jobs' clock read from a file (tests and demos drive simulated days through it).

    A file caught mid-write (empty or unreadable) gives the last time read, never the real
    clock: a simulated clock must not jump to the present and back.
    """
    last = [datetime.now(UTC)]

    def now() -> datetime:
        with contextlib.suppress(OSError, ValueError):
            last[0] = datetime.fromisoformat(path.read_text().strip())
        return last[0]

    return now


async def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """Serve Telegram by long polling, or the console chat when no token is set.

    One running instance per SQLite file: a second one refuses to start.
    """
    try:
        with run_lock(settings.database_url):
            return await _run(settings)
    except AlreadyRunning as exc:
        print(f"entonnoir: {cli_text('already_running', pid=exc.pid, path=exc.path)}", file=sys.stderr)
        return 1


async def _run(settings: Settings) -> int:
    if settings.telegram_bot_token is None:
        await init_db(settings.database_url)
        try:
            admin = await ensure_first_admin(settings.first_admin_name, language=settings.default_language)
            user = admin or await User.filter(active=True).order_by("id").first()
            assert user is not None
            if admin:
                print(cli_text("first_admin", name=admin.name))
            if (missing := settings.missing_identity()) is not None:
                print(cli_text("specimen_mode", setting=missing))
            print(cli_text("console_start", name=user.name) + "\n")
            return await _console(settings, user)
        finally:
            await close_db()
    return await _serve_telegram(settings)


async def _serve_telegram(settings: Settings) -> int:
    """Long polling until SIGTERM/SIGINT, then a graceful stop (see `_stop_gracefully`)."""
    from bot.app import build_application, set_menus
    from bot.jobs.inbox import imap_account, inbox_rules
    from bot.persistence import DbPersistence
    from mail.inbox import watch

    if settings.webhook_url and settings.webhook_secret is None:
        print(f"entonnoir: {cli_text('webhook_secret_missing')}", file=sys.stderr)
        return 2
    await init_db(settings.database_url)
    assert settings.telegram_bot_token is not None
    account = imap_account(settings)
    services = bootstrap(settings)
    # With an IMAP server the long-running watcher (IDLE) replaces the polling job.
    app = build_application(
        services,
        token=settings.telegram_bot_token.get_secret_value(),
        skip_jobs=frozenset({"inbox"}) if account is not None else frozenset(),
        persistence=DbPersistence(),  # forms in progress survive a restart
        rate_limit=settings.telegram_rate_limit,
        # SQLite: one connection, every statement queued behind it: one by one (bot.updates)
        concurrent_updates=(
            settings.concurrent_updates if settings.database_url.startswith("postgres") else 1
        ),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, _dump_tasks)
    try:
        await app.initialize()  # inside: a refused token still closes the database
        await set_menus(app)
        await app.start()
        server = None
        if settings.webhook_url:
            server = await _serve_webhook(app, settings)
        else:
            assert app.updater is not None
            await app.updater.start_polling(allowed_updates=["message", "callback_query"])
        watcher = None
        if account is not None:
            watcher = asyncio.create_task(
                watch(
                    account,
                    inbox_rules(settings),
                    poll_seconds=settings.imap_poll_seconds,
                    stop=stop,
                    on_report=_log_pass,
                )
            )
        # What is loaded by now (modules, catalogues, the application) lives as long as the
        # process: frozen out of the cyclic GC, whose full collections otherwise walk it all
        # (~110 ms of CPU each, the latency tail bench/scale.py measured on a small host).
        gc.collect()
        gc.freeze()
        log.info(
            "serving Telegram as @%s (%s)",
            app.bot.username,
            f"webhook on {settings.webhook_listen}:{settings.webhook_port}"
            if server is not None
            else "long polling",
        )
        await stop.wait()
        if server is not None:  # no new webhook calls; those in flight are answered
            server[0].should_exit = True
            await server[1]
        await _stop_gracefully(app, services, watcher, settings.shutdown_grace_seconds)
    finally:
        if not app.running:  # past the grace period the application is left as it was
            await app.shutdown()
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1):
            loop.remove_signal_handler(signum)
        await close_db()
    log.info("stopped")
    return 0


async def _serve_webhook(app: Any, settings: Settings) -> tuple[Any, asyncio.Task[None]]:
    """Start the HTTP server (webhook, /healthz, /readyz), then point Telegram at it."""
    from urllib.parse import urlsplit

    import uvicorn

    from bot.web import build_web_app, pa_routes
    from storage.health import readiness

    assert settings.webhook_url and settings.webhook_secret is not None
    secret = settings.webhook_secret.get_secret_value()
    web = build_web_app(
        app,
        secret=secret,
        path=urlsplit(settings.webhook_url).path or "/",
        readiness=readiness,
        extra_routes=pa_routes(settings),
    )
    if settings.pa_enabled and not settings.pa_webhook_token:
        log.info(
            "PA webhooks off (no PA_WEBHOOK_TOKEN): the platform is polled every %d s",
            settings.pa_poll_seconds,
        )

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Any:  # `entonnoir run` handles SIGTERM/SIGINT itself
            yield

    server = Server(
        uvicorn.Config(
            web,
            host=settings.webhook_listen,
            port=settings.webhook_port,
            log_level="warning",
            lifespan="off",
            access_log=False,
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():  # could not listen: the error is the task's
            await task
            raise RuntimeError("the webhook server stopped at start")
        await asyncio.sleep(0.02)
    await app.bot.set_webhook(
        settings.webhook_url, secret_token=secret, allowed_updates=["message", "callback_query"]
    )
    return server, task


def _dump_tasks() -> None:
    """SIGUSR1: log where every task in flight waits (to diagnose a stuck job or handler)."""
    for task in asyncio.all_tasks():
        chain: list[str] = []
        coro: Any = task.get_coro()
        while coro is not None and len(chain) < 40:
            frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
            if frame is not None:
                chain.append(
                    f"{frame.f_code.co_filename.rsplit('/', 2)[-1]}:{frame.f_lineno} {frame.f_code.co_name}"
                )
            coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
        log.warning("task %s waits in %s", task.get_name(), " > ".join(chain))


async def _stop_gracefully(
    app: Any, services: Services, watcher: asyncio.Task[Any] | None, grace: float
) -> None:
    """Stop taking updates; let the handlers and jobs in flight finish, within `grace` s.

    `services.stopping` tells long jobs (outbox flush, alert delivery) to end after what is
    in flight, record it and give back what they hold; PTB's `Application.stop` then waits
    for the update being handled and the running jobs. Past the grace period what is left
    is cancelled: the outbox and alert claims are given back on cancellation too.
    """
    log.info("stopping: no new updates; waiting up to %g s for work in flight", grace)
    services.stopping.set()
    if watcher is not None:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher

    async def finish() -> None:
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        await app.stop()

    try:
        await asyncio.wait_for(finish(), timeout=grace)
    except TimeoutError:
        log.warning("work still in flight after %g s: cancelled", grace)
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        if tasks:  # their clean-ups (claims given back) run before the database closes
            await asyncio.wait(tasks, timeout=5.0)


def _log_pass(report: Any) -> None:
    if getattr(report, "error", None):
        log.warning("inbox pass failed: %s", report.error)
    elif getattr(report, "outcomes", None):
        log.info("inbox pass: %s", counted(len(report.outcomes), "message", "messages"))


async def cmd_chat(args: argparse.Namespace, settings: Settings) -> int:
    """`chat --as USER`: the console chat as a registered user."""
    await init_db(settings.database_url)
    try:
        await ensure_first_admin(settings.first_admin_name, language=settings.default_language)
        user = await find_user(args.as_user)
        return await _console(settings, user)
    finally:
        await close_db()


async def _console(settings: Settings, user: User) -> int:
    from bot.app import build_application
    from bot.console import ConsoleChat
    from bot.jobs import all_jobs, run_job
    from bot.transport import RecordingRequest

    request = RecordingRequest(settings.bot_username)
    services = bootstrap(settings, console=True)
    app = build_application(services, request=request, rate_limit=False)
    async with app:
        await app.start()  # the background jobs run while the console chat is open
        chat = ConsoleChat(app, request, user, settings.var_dir / "console")
        await chat.run()
        jobs = all_jobs()
        for name in ("outbox", "alerts"):  # deliver what the session queued before leaving
            if name in jobs:
                await run_job(jobs[name], services, app.bot, force=True)
        await app.stop()
    return 0


async def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    """Apply pending migrations."""
    await migrate_db(settings.database_url)
    print(cli_text("migrated"))
    return 0


async def cmd_user_add(args: argparse.Namespace, settings: Settings) -> int:
    """Register a user by Telegram id."""
    await init_db(settings.database_url)
    try:
        user = await create_user(
            args.name, parse_role(args.role), telegram_id=args.telegram_id, language=args.lang
        )
        print(cli_text("user_added", id=user.id, name=user.name, role=user.role.value))
    finally:
        await close_db()
    return 0


async def cmd_invite(args: argparse.Namespace, settings: Settings) -> int:
    """Print a one-time invitation code and its deep link."""
    await init_db(settings.database_url)
    try:
        invite = await create_invite(None, parse_role(args.role))
        print(cli_text("invite_code", role=invite.role.value, code=invite.code))
        print(cli_text("invite_link", link=f"https://t.me/{settings.bot_username}?start={invite.code}"))
    finally:
        await close_db()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = CliParser(prog="entonnoir", description="Entonnoir CRM")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="serve Telegram (or the console chat)").set_defaults(func=cmd_run)
    chat = sub.add_parser("chat", help="local console chat as a user")
    chat.add_argument("--as", dest="as_user", required=True, help="Telegram id or user name")
    chat.set_defaults(func=cmd_chat)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    user = sub.add_parser("user", help="manage users").add_subparsers(dest="user_cmd", required=True)
    add = user.add_parser("add", help="register a user")
    add.add_argument("--telegram-id", type=int, required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--role", required=True)
    add.add_argument("--lang", default="fr", choices=["fr", "en"])
    add.set_defaults(func=cmd_user_add)
    invite = sub.add_parser("invite", help="print a one-time invitation")
    invite.add_argument("--role", required=True)
    invite.set_defaults(func=cmd_invite)
    for info in pkgutil.iter_modules(bot.cli.__path__):
        importlib.import_module(f"bot.cli.{info.name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse, read settings once, run the subcommand."""
    args = build_parser().parse_args(argv)
    configure_logging("text", logging.DEBUG if args.verbose else logging.WARNING)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"entonnoir: {cli_text('invalid_setting', reason=str(exc))}", file=sys.stderr)
        return 2
    set_cli_language(settings.default_language)
    if args.command in ("run", "health"):  # the service logs its events; one-shot commands stay quiet
        console = args.command == "run" and settings.telegram_bot_token is None
        level = (
            logging.DEBUG if args.verbose else (logging.WARNING if console else settings.log_level.upper())
        )  # the chat is the screen
        configure_logging(settings.log_format, level)
    from telegram.error import InvalidToken

    from bot.redact import protect_logs

    token = settings.telegram_bot_token
    protect_logs([token.get_secret_value() if token is not None else None])
    func: Command = args.func
    try:
        return asyncio.run(func(args, settings))
    except InvalidToken:  # its message quotes the token: one line of our own instead
        print(f"entonnoir: {cli_text('token_refused')}", file=sys.stderr)
        return 2
    except UserError as exc:
        print(f"entonnoir: {cli_text(f'error.{exc.code}', **exc.params)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # every other failure: one sentence, the traceback only with -v
        log.debug("%s failed", args.command, exc_info=True)
        return bot.cli.report(exc, settings.database_url)


if __name__ == "__main__":
    sys.exit(main())
