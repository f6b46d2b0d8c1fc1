"""Why a bank document could not be read.

Exception tree::

    ParseError                 the document is not what it claims, or is malformed
    ├── UnsafeDocument         DTD, entity declaration, external reference, zip bomb
    └── TooLarge               an attachment (or a zip member) is over the size limit

    TemplateConfigError        the bank templates file is invalid (a setup error)

Each carries a stable `code` (for translation as `mailparse.<code>`) and an English
message for logs. Parsers never return partial garbage: they raise one of these.
"""

from __future__ import annotations

__all__ = ["ParseError", "TemplateConfigError", "TooLarge", "UnsafeDocument"]


class ParseError(ValueError):
    """A bank document is malformed or not of the expected kind."""

    code = "malformed"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code:
            self.code = code


class UnsafeDocument(ParseError):
    """Refused for safety: DTD, entities, external references, zip bombs."""

    code = "unsafe"


class TooLarge(ParseError):
    """An attachment or an archive member exceeds the size limit."""

    code = "too_large"


class TemplateConfigError(Exception):
    """The bank templates file is invalid (not a bank document problem: a setup one)."""
