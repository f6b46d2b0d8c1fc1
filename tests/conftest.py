"""Shared fixtures: databases (SQLite, PostgreSQL), settings, the chat harness."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.context import tortoise_test_context

from bot.settings import Settings
from storage.constraints import ensure_constraints
from storage.models import MODEL_MODULES
from storage.pipeline import seed_stages
from storage.purchasing_seed import seed_warehouse
from storage.search_index import ensure_search_index, forget_search_index
from storage.sql import close_reader
from tests.billing_data import SELLER_SETTINGS
from tests.services import PostgresServer, unavailable

pytest_plugins = ["tests.harness"]

# The real servers a test may run against, by the fixture that starts them. Counted per test
# that ran (its call phase, pass or fail; skips do not count) and printed at the end of the
# run, so a run that quietly skipped them shows it.
SERVICE_FIXTURES = {"postgres_server": "PostgreSQL", "dovecot_server": "Dovecot"}
_service_runs: dict[str, int] = dict.fromkeys(SERVICE_FIXTURES.values(), 0)


def _fixtures_used(item: pytest.Item) -> set[str]:
    """The fixtures a test requested: by its signature, or on the way (`getfixturevalue`,
    as `any_db[postgres]` asks for the server), which pytest records on the item's request."""
    request = getattr(item, "_request", None)
    dynamic = getattr(request, "_fixture_defs", None) or {}
    return set(getattr(item, "fixturenames", ())) | set(dynamic)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    report = yield
    if report.when == "call" and not report.skipped:
        used = _fixtures_used(item)
        for fixture, service in SERVICE_FIXTURES.items():
            if fixture in used:
                _service_runs[service] += 1
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if terminalreporter.config.option.collectonly:
        return
    counts = ", ".join(f"{n} against {service}" for service, n in _service_runs.items())
    terminalreporter.write_line(f"real servers: {counts}")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL cluster for the whole run (fails under CI if it cannot start)."""
    server = PostgresServer()
    try:
        server.start()
    except (FileNotFoundError, OSError) as exc:
        server.stop()
        unavailable(f"PostgreSQL: {exc}")
    except Exception as exc:  # initdb failing, e.g. not root and no postgres user
        server.stop()
        unavailable(f"PostgreSQL could not start: {exc}")
    yield server
    server.stop()


async def _open(url: str) -> AsyncIterator[None]:
    # Tortoise caches prepared SQL per connection name: another dialect must not reuse it.
    EXECUTOR_CACHE.clear()
    async with tortoise_test_context(MODEL_MODULES, url):
        await ensure_constraints()  # partial unique indexes (the migrations create them too)
        await seed_stages()
        await seed_warehouse()
        await ensure_search_index()
        yield
        close_reader()
        forget_search_index()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[str]:
    """A fresh SQLite file (WAL) with the default funnel, as the product runs: reads outside
    transactions take the inline reader of `storage.sql`, writes the ORM's connection."""
    async for _ in _open(f"sqlite://{tmp_path}/test.db"):
        yield "sqlite"


@pytest.fixture(params=["sqlite", "postgres"])
async def any_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The test runs twice: on SQLite and on a real PostgreSQL."""
    if request.param == "postgres":
        server: PostgresServer = request.getfixturevalue("postgres_server")
        url = f"{server.url}/test_{{}}"
    else:
        url = f"sqlite://{tmp_path}/test.db"
    async for _ in _open(url):
        yield request.param


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Embedded-default settings with every path under a temp dir."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=f"sqlite://{tmp_path}/entonnoir.db",
        var_dir=tmp_path / "var",
        default_language="en",
        # Explicit: Tortoise exports TIMEZONE=UTC into os.environ, which Settings would read.
        timezone="Europe/Paris",
        **SELLER_SETTINGS,  # the legal identity has no default: tests set it
    )
