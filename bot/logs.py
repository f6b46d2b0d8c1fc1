"""Logging for the service: one event per line, plain text or JSON (`LOG_FORMAT=json`).

Every line written while an update or a job is handled carries its context (`update_id`,
`user_id`, `job`), whichever module logs it: the access check and the job runner bind it
in a context variable (`bind`), which asyncio copies into the tasks they start, and a
filter on the handler adds it to each record (an explicit `extra=` wins). The JSON lines
carry those fields, the text lines end with them. Anything a user typed is cut to `TEXT_LIMIT` characters and
newlines are escaped, so one event stays one line; secrets are never passed to a logger.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar, Token
from datetime import UTC, datetime

__all__ = ["TEXT_LIMIT", "ContextFilter", "JsonFormatter", "bind", "configure_logging", "truncate", "unbind"]

TEXT_LIMIT = 80
_CONTEXT = ("update_id", "user_id", "job")
_bound: ContextVar[dict[str, object]] = ContextVar("entonnoir_log_context", default={})  # noqa: B039 - never mutated


def bind(**fields: object) -> Token[dict[str, object]]:
    """Attach these fields (None drops one) to every line logged from here on in this task
    and the tasks it starts; `unbind(token)` restores what was bound before."""
    merged = {**_bound.get(), **fields}
    return _bound.set({k: v for k, v in merged.items() if v is not None})


def unbind(token: Token[dict[str, object]]) -> None:
    """Restore the context bound before `bind` returned this token."""
    _bound.reset(token)


class ContextFilter(logging.Filter):
    """Adds the bound context to each record that does not carry the field already."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _bound.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


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
    handler.addFilter(ContextFilter())
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
