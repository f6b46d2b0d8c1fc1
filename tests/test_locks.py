"""The two locks `make lock` writes: the runtime one carries no test tool, both carry hashes,
and they pin the same version of every package they share."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+) \\$")


def _name(text: str) -> str:
    return re.sub(r"[-_.]+", "-", text).lower()


def _pins(lock: str) -> dict[str, str]:
    text = (ROOT / lock).read_text()
    pins: dict[str, str] = {}
    for block in re.split(r"\n(?=\S)", text):
        first = block.splitlines()[0]
        if first.startswith("#") or not first.strip():
            continue
        match = PIN.match(first)
        assert match, f"{lock}: not a hashed pin: {first!r}"
        assert "--hash=sha256:" in block, f"{lock}: {first} has no hash"
        pins[_name(match.group(1))] = match.group(2)
    return pins


def _requirements(group: list[str]) -> set[str]:
    return {_name(re.split(r"[\[<>=!~; ]", req, maxsplit=1)[0]) for req in group}


def test_the_runtime_lock_has_what_the_product_needs_and_no_test_tool() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime, dev = _pins("requirements.lock"), _pins("requirements-dev.lock")
    assert _requirements(project["dependencies"]) <= set(runtime)
    tools = _requirements(project["optional-dependencies"]["dev"])
    assert tools <= set(dev)
    assert not tools & set(runtime), tools & set(runtime)  # `make run` installs no test tool
    assert {k: dev[k] for k in runtime} == runtime  # one version of each package
