"""`entonnoir run` in webhook mode: Telegram's secret header checked, health over HTTP."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import httpx

from tests.fake_bot_api import FakeBotApi
from tests.service.test_stop import BOSS, _cli, _env, _finish, _start
from tests.services import free_port, wait_port

SECRET = "s3cret-token_0123456789"


def _update(update_id: int, text: str) -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "text": text,
            "chat": {"id": BOSS, "type": "private"},
            "from": {"id": BOSS, "is_bot": False, "first_name": "Boss", "language_code": "en"},
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
        },
    }


def test_webhook_mode_checks_the_secret_serves_health_and_stops_cleanly(
    tmp_path: Path, api: FakeBotApi
) -> None:
    port = free_port()
    env = _env(
        tmp_path,
        api,
        WEBHOOK_URL="https://bot.example.org/tg/hook",
        WEBHOOK_SECRET=SECRET,
        WEBHOOK_LISTEN="127.0.0.1",
        WEBHOOK_PORT=str(port),
    )
    Path(env["VAR_DIR"]).mkdir(parents=True)
    assert (
        _cli(
            env,
            "user",
            "add",
            "--telegram-id",
            str(BOSS),
            "--name",
            "boss",
            "--role",
            "manager",
            "--lang",
            "en",
        ).returncode
        == 0
    )
    proc = _start(env)
    try:
        api.wait_for(lambda: bool(api.sent("setWebhook")), timeout=60)
        [hook] = api.sent("setWebhook")
        assert hook.params["url"] == "https://bot.example.org/tg/hook"
        assert hook.params["secret_token"] == SECRET
        wait_port(port)
        base = f"http://127.0.0.1:{port}"
        body = json.dumps(_update(1, "/help"))
        forged = httpx.post(
            f"{base}/tg/hook", content=body, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
        )
        missing = httpx.post(f"{base}/tg/hook", content=body)
        assert forged.status_code == missing.status_code == 403
        ok = httpx.post(f"{base}/tg/hook", content=body, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
        assert ok.status_code == 200
        api.wait_for(lambda: bool(api.sent("sendMessage", BOSS)))
        assert len(api.sent("sendMessage", BOSS)) == 1  # the forged calls did nothing
        assert httpx.get(f"{base}/healthz").text == "ok"
        ready = httpx.get(f"{base}/readyz")
        assert ready.status_code == 200 and ready.json()["ready"] is True
        assert set(ready.json()["checks"]) == {"database", "jobs", "outbox"}
        assert api.polls == 0  # no long polling in webhook mode
        proc.send_signal(signal.SIGTERM)
        code, err = _finish(proc, env)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 0, err


def test_webhook_url_without_a_secret_refuses_to_start(tmp_path: Path, api: FakeBotApi) -> None:
    env = _env(tmp_path, api, WEBHOOK_URL="https://bot.example.org/tg")
    Path(env["VAR_DIR"]).mkdir(parents=True)
    result = _cli(env, "run")
    assert result.returncode == 2 and "WEBHOOK_SECRET" in result.stderr
    assert result.stderr.count("\n") == 1
