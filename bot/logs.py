"""Logging for the service: one event per line, plain text or JSON (`LOG_FORMAT=json`).

Handlers and jobs attach context through `extra=` (`update_id`, `user_id`, `job`); the
JSON lines carry those fields. Anything a user typed is cut to `TEXT_LIMIT` characters and
newlines are escaped, so one event stays one line; secrets are never passed to a logger.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

__all__ = ["TEXT_LIMIT", "JsonFormatter", "configure_logging", "truncate"]

TEXT_LIMIT = 80
_CONTEXT = ("update_id", "user_id", "job")


def truncate(text: str | None, limit: int = TEXT_LIMIT) -> str:
    """A user's text as logs may show it: one line, at most `limit` characters."""
    flat = (text or "").replace("\r", "\\r").replace("\n", "\\n")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class _OneLine(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        context = " ".join(f"{k}={getattr(record, k)}" for k in _CONTEXT if hasattr(record, k))
        text = super().format(record)
        if context:
            text = f"{text} [{context}]"
        return text.replace("\n", "\\n")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, context, exception."""

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in _CONTEXT:
            if hasattr(record, key):
                event[key] = getattr(record, key)
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        return json.dumps(event, ensure_ascii=False, default=str)


def configure_logging(fmt: str = "text", level: str | int = "INFO") -> None:
    """Root logging to stderr in `fmt`; httpx kept at WARNING (its lines carry the token)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter() if fmt == "json" else _OneLine("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in (
        "httpx",
        "httpcore",
        "apscheduler",
        "tortoise",
        "aiosqlite",
        "asyncpg",
        "fontTools",
    ):  # fontTools: dozens of INFO lines per PDF rendered
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
