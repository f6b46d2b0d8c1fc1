"""deploy/: the systemd units pass `systemd-analyze verify`; the image runs as non-root.

The units are checked with their paths pointed at this checkout (systemd checks that the
commands exist). Building the image and running compose need Docker, which CI lacks: the
README says so rather than claiming it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.services import unavailable

ROOT = Path(__file__).resolve().parents[2]
UNITS = ("entonnoir.service", "entonnoir-backup.service", "entonnoir-backup.timer")


def _units(tmp_path: Path) -> list[Path]:
    env = tmp_path / "entonnoir.env"
    env.write_text("")
    out = []
    for name in UNITS:
        text = (ROOT / "deploy" / "systemd" / name).read_text()
        text = text.replace("/etc/entonnoir/entonnoir.env", str(env))
        (tmp_path / name).write_text(text.replace("/opt/entonnoir", str(ROOT)))
        out.append(tmp_path / name)
    return out


def _verify(paths: list[Path]) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        unavailable("systemd-analyze (apt-get install systemd)")
    assert tool is not None
    return subprocess.run(
        [tool, "verify", "--man=no", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=paths[0].parent,
    )


def test_systemd_units_verify(tmp_path: Path) -> None:
    assert (ROOT / ".venv" / "bin" / "entonnoir").exists()
    result = _verify(_units(tmp_path))
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_systemd_verify_catches_a_broken_unit(tmp_path: Path) -> None:
    units = _units(tmp_path)
    units[0].write_text(units[0].read_text().replace("Type=exec", "Type=exek"))
    result = _verify(units)
    assert "Failed to parse service type" in result.stderr


def test_image_is_slim_non_root_and_compose_gives_the_stop_more_than_the_grace() -> None:
    compose = (ROOT / "deploy" / "compose.yaml").read_text()
    assert "image: postgres:15" in compose and "stop_grace_period: 30s" in compose
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert "-slim-" in dockerfile and "\nUSER entonnoir\n" in dockerfile
    assert 'ENTRYPOINT ["tini", "--", "entonnoir"]' in dockerfile
