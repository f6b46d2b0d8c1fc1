"""Benchmarks that print figures (`make bench`), never part of the pass/fail suite.

Each one runs as a module from the repository root (`.venv/bin/python -m bench.loop`), so it
can import the product and the test helpers (`tests.mail.smtp_server`, `tests.services`) as
the tests do. Each accepts `--quick`: a size that finishes in seconds, run by `.ci/run` as a
smoke test (`make bench-quick`; no timing is asserted). Each prints, in the same run, the
reference it is compared with, and `machine()` — the date and the machine's load — so a
figure can be read against how busy the machine was.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

__all__ = ["machine"]


def machine() -> str:
    """One line: when, and how loaded the machine was (load averages over 1/5/15 minutes)."""
    one, five, fifteen = os.getloadavg()
    return (
        f"measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average {one:.2f} "
        f"{five:.2f} {fifteen:.2f} on {os.cpu_count()} CPU(s)"
    )
