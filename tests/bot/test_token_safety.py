"""The bot token goes only to the configured Bot API server and never into a log line."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

import pytest
from telegram import Update

from bot.app import build_application
from bot.redact import protect_logs
from bot.settings import Settings
from storage.models import Role
from storage.users import create_user
from tests.billing_data import SELLER_ENV

TOKEN = "123456789:AAE-very-secret-token-value"
FILE = b"Name;Phone\nAnn;+33612345678\n"


class FakeBotApi:
    """A Bot API server on loopback: answers the calls the bot makes, records every path."""

    def __init__(self, *, reject_token: bool = False) -> None:
        self.paths: list[str] = []
        self.texts: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def _json(self, status: int, body: dict[str, Any]) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                outer.paths.append(unquote(self.path))
                if unquote(self.path) == f"/file/bot{TOKEN}/documents/file_1.csv":
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(FILE)))
                    self.end_headers()
                    self.wfile.write(FILE)
                else:
                    self._json(404, {"ok": False, "error_code": 404, "description": "Not Found"})

            def do_POST(self) -> None:
                outer.paths.append(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode(errors="replace")
                method = self.path.rsplit("/", 1)[-1]
                if reject_token:
                    self._json(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
                elif method == "getMe":
                    self._json(
                        200,
                        {
                            "ok": True,
                            "result": {
                                "id": 42,
                                "is_bot": True,
                                "first_name": "Entonnoir",
                                "username": "entonnoir_bot",
                            },
                        },
                    )
                elif method == "getFile":
                    self._json(
                        200,
                        {
                            "ok": True,
                            "result": {
                                "file_id": "doc1",
                                "file_unique_id": "u",
                                "file_size": len(FILE),
                                "file_path": "documents/file_1.csv",
                            },
                        },
                    )
                elif method == "sendMessage":
                    outer.texts.append(" ".join(parse_qs(raw).get("text", [raw])))
                    self._json(
                        200,
                        {
                            "ok": True,
                            "result": {
                                "message_id": len(outer.texts),
                                "date": 0,
                                "chat": {"id": 1, "type": "private"},
                                "text": "x",
                            },
                        },
                    )
                else:
                    self._json(200, {"ok": True, "result": True})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeBotApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_api() -> Iterator[FakeBotApi]:
    with FakeBotApi() as api:
        yield api


async def test_files_are_downloaded_from_the_configured_server_too(
    db: str, settings: Settings, fake_api: FakeBotApi
) -> None:
    from bot.__main__ import bootstrap

    settings = settings.model_copy(update={"telegram_api_url": fake_api.url})
    boss = await create_user("boss", Role.MANAGER, telegram_id=555, language="fr")
    app = build_application(bootstrap(settings), token=TOKEN, rate_limit=False, jobs=False)
    async with app:
        await app.start()
        update = Update.de_json(
            {
                "update_id": 1,
                "message": {
                    "message_id": 1,
                    "date": int(datetime.now(UTC).timestamp()),
                    "chat": {"id": 555, "type": "private"},
                    "from": {"id": 555, "is_bot": False, "first_name": boss.name},
                    "document": {
                        "file_id": "doc1",
                        "file_unique_id": "u",
                        "file_name": "c.csv",
                        "mime_type": "text/csv",
                        "file_size": len(FILE),
                    },
                },
            },
            app.bot,
        )
        await app.process_update(update)
        imports = [t for t in asyncio.all_tasks() if "non_blocking" in t.get_name()]
        await asyncio.gather(*imports)
        await app.stop()
    assert f"/file/bot{TOKEN}/documents/file_1.csv" in fake_api.paths, fake_api.paths
    assert any("(c.csv)" in text and "Simulation" in text for text in fake_api.texts)


def test_a_rejected_token_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    with FakeBotApi(reject_token=True) as api:
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": api.url,
            "DATABASE_URL": f"sqlite://{tmp_path}/e.db",
            "VAR_DIR": str(tmp_path / "var"),
            "IMAP_HOST": "",
            "DEFAULT_LANGUAGE": "en",
            **SELLER_ENV,
        }
        done = subprocess.run(
            [sys.executable, "-m", "bot", "run"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
            check=False,
        )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "entonnoir: Telegram refused TELEGRAM_BOT_TOKEN: check it with @BotFather."
    ]
    assert "secret-token" not in done.stdout + done.stderr


def test_logs_never_show_the_token_and_cut_long_texts(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.redact

    monkeypatch.setattr(bot.redact, "_installed", False)
    monkeypatch.setattr(bot.redact, "_secrets", [])
    factory, hook = logging.getLogRecordFactory(), sys.excepthook
    try:
        protect_logs([TOKEN])
        log = logging.getLogger("entonnoir.test")
        with caplog.at_level(logging.INFO):
            log.info("calling https://api.telegram.org/bot%s/getMe", TOKEN)
            try:
                raise RuntimeError(f"The token `{TOKEN}` was rejected; user said {'blah ' * 1000}")
            except RuntimeError:
                log.exception("failed for %s", "x" * 5000)
        text = caplog.text
        assert "very-secret" not in text and "[REDACTED]" in text
        assert "more characters]" in text and len(text) < 6000
    finally:
        logging.setLogRecordFactory(factory)
        sys.excepthook = hook
