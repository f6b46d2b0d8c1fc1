"""Every line logged while an update or a job is handled carries its context (issue 13:
JSON logs with the update id, user id and job name), whichever module writes it."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.jobs import all_jobs, run_job
from bot.logs import ContextFilter, JsonFormatter
from storage.models import Role
from tests.harness import ChatHarness


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """The root logger writes JSON lines (as `LOG_FORMAT=json` does) into a buffer."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def _events(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


async def test_lines_of_an_update_carry_its_update_and_user_ids(
    chat: ChatHarness, json_lines: io.StringIO
) -> None:
    alice = await chat.user("alice", Role.SALES)
    bob = await chat.user("bob", Role.SALES)
    assert alice.user and bob.user
    await alice.says("/help")
    await alice.presses_data("noop:late", late=True)  # bot/errors.py logs the late answer
    await bob.says("/help")
    events = _events(json_lines)
    access = [e for e in events if str(e["message"]).startswith("update ")]
    assert [e["user_id"] for e in access] == [alice.user.id, alice.user.id, bob.user.id]
    assert len({e["update_id"] for e in access}) == 3
    late = [e for e in events if "answered too late" in str(e["message"])]
    assert len(late) == 1 and late[0]["logger"] == "bot.errors"
    assert late[0]["user_id"] == alice.user.id and late[0]["update_id"] == access[1]["update_id"]
    # Bob's update does not keep Alice's context, and no line outside an update has one.
    assert all(e.get("user_id") in (alice.user.id, bob.user.id) for e in events if "update_id" in e)


async def test_lines_of_a_job_carry_its_name_and_no_update(
    chat: ChatHarness, json_lines: io.StringIO
) -> None:
    alice = await chat.user("alice", Role.SALES)
    await alice.says("/help")
    spec = all_jobs()["overdue"]
    await run_job(spec, chat.app.bot_data["services"], chat.app.bot, force=True)
    job_lines = [e for e in _events(json_lines) if str(e["message"]).startswith("job overdue")]
    assert job_lines and all(e["job"] == "overdue" for e in job_lines)
    assert all("update_id" not in e and "user_id" not in e for e in job_lines)
