"""The run's closing line counts the tests that ran against the real servers (tests/conftest.py):
a test asking for PostgreSQL on the way (`any_db[postgres]`) counts, its SQLite twin and a
skipped test do not."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_run_says_how_many_tests_ran_against_postgresql_and_dovecot() -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-v",
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            "tests/storage/test_users.py",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    ran = re.findall(r"^(\S+) (PASSED|SKIPPED)", run.stdout, re.MULTILINE)
    assert any("[sqlite]" in test for test, _ in ran), run.stdout
    on_postgres = sum(1 for test, outcome in ran if "[postgres]" in test and outcome == "PASSED")
    assert f"real servers: {on_postgres} against PostgreSQL, 0 against Dovecot" in run.stdout, run.stdout
