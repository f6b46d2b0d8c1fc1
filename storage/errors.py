"""The storage exception tree.

    StorageError
    ├── UserError          a person's mistake: one clear sentence, nothing written
    │   ├── InvalidInput   a value that does not parse (amount, date, phone, email...)
    │   ├── NotFound       no such record (or one the user may not see: same answer)
    │   ├── Forbidden      the user's role does not allow the action
    │   └── Conflict       the record's state forbids it (already won, already issued...)
    └── (anything else is a bug and goes to the error handler)

A `UserError` carries a message `code` and its `params`; the chat layer translates
`error.<code>` with those params. `str(err)` is an English fallback for logs and the CLI.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Conflict", "Forbidden", "InvalidInput", "NotFound", "StorageError", "UserError"]


class StorageError(Exception):
    """Base of every error raised on purpose by `storage`."""


class UserError(StorageError):
    """A mistake by the person acting; nothing was written."""

    def __init__(self, code: str, **params: Any) -> None:
        self.code = code
        self.params = params
        detail = ", ".join(f"{k}={v}" for k, v in params.items())
        super().__init__(f"{code}: {detail}" if detail else code)


class InvalidInput(UserError):
    """A value that does not parse."""


class NotFound(UserError):
    """No such record, or one the user may not see (the answer is the same)."""


class Forbidden(UserError):
    """The user's role does not allow this."""


class Conflict(UserError):
    """The record's current state forbids this change."""
