"""Secrets never reach the logs, and people's texts reach them only cut short.

`protect_logs(secrets)` is called once by the composition root with the bot token (and any
other secret). From then on every log record — its message, its arguments, its traceback —
has each secret replaced by `[REDACTED]`, whichever library logs it and whichever handler
writes it (the record factory does it when the record is made), and long texts (a user's
message quoted in an exception, a SQL statement with its values) are cut. Uncaught
exceptions printed by Python itself go through the same redaction.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Iterable
from types import TracebackType
from typing import Any

__all__ = ["MAX_LOGGED", "protect_logs", "redact"]

MAX_LOGGED = 300  # characters of one logged value (a message, an argument, a traceback line)
_MASK = "[REDACTED]"
_secrets: list[str] = []
_installed = False


def redact(text: str) -> str:
    """`text` with every protected secret masked."""
    for secret in _secrets:
        text = text.replace(secret, _MASK)
    return text


def _short(text: str, limit: int = MAX_LOGGED) -> str:
    return text if len(text) <= limit else f"{text[:limit]}…[{len(text) - limit} more characters]"


def _clean_traceback(text: str) -> str:
    return "\n".join(_short(redact(line), 2 * MAX_LOGGED) for line in text.splitlines())


def protect_logs(secrets: Iterable[str | None]) -> None:
    """Mask these secrets (and cut long texts) in every log record and uncaught traceback."""
    global _installed
    for secret in secrets:
        if secret and len(secret) >= 8 and secret not in _secrets:
            _secrets.append(secret)
            if ":" in secret:  # a bot token's secret half appears alone in some URLs
                _secrets.append(secret.split(":", 1)[1])
    if _installed:
        return
    _installed = True
    make_record = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what there is
            message = str(record.msg)
        record.msg, record.args = _short(redact(message), 4 * MAX_LOGGED), None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = _clean_traceback("".join(traceback.format_exception(*record.exc_info)).rstrip())
        if record.stack_info:
            record.stack_info = _clean_traceback(record.stack_info)
        return record

    logging.setLogRecordFactory(factory)
    default_hook = sys.excepthook

    def excepthook(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
        if not _secrets:
            default_hook(kind, error, tb)
            return
        text = "".join(traceback.format_exception(kind, error, tb))
        sys.stderr.write(_clean_traceback(text) + "\n")

    sys.excepthook = excepthook
