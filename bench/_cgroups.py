"""CPU caps for benchmark processes: one cgroup per process, with a CFS quota.

bench/scale.py uses it to emulate instances that each run on their own small host: a
process capped at 0.25 CPU gets 2.5 ms of CPU in every 10 ms period, no more, and (its
group weighing ten times any other process) no less while it wants it, whatever else the
machine runs (a short period, so waiting out a throttled period adds at most ~10 ms).
Uncapped groups get the weight alone (the benchmark's database and load generator).
cgroup v1 (the `cpu` controller's hierarchy, `cpu.cfs_period_us` + `cpu.cfs_quota_us`)
and cgroup v2 (`cpu.max`) are both handled; needs write access to the hierarchy (root).
`CpuCaps.open()` returns None and a reason when caps cannot be set here.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CpuCaps", "Throttling"]

PREFIX = "entonnoir-bench-"
# Scheduling weight of the groups (cgroup v1 cpu.shares; the default is 1024): ten times
# any other process's, so another workload on the machine takes none of a group's quota —
# as if each group had its host to itself. (cgroup v2: cpu.weight 1000, default 100.)
WEIGHT = 10_240


@dataclass(frozen=True)
class Throttling:
    """A group's cpu.stat counters: CFS periods, periods throttled, seconds throttled."""

    periods: int = 0
    throttled: int = 0
    seconds: float = 0.0

    def __sub__(self, other: Throttling) -> Throttling:
        return Throttling(
            self.periods - other.periods, self.throttled - other.throttled, self.seconds - other.seconds
        )

    def __add__(self, other: Throttling) -> Throttling:
        return Throttling(
            self.periods + other.periods, self.throttled + other.throttled, self.seconds + other.seconds
        )


class CpuCaps:
    """Groups `<root>/entonnoir-bench-<our pid>-<name>`, each capped at `cpus` CPUs."""

    def __init__(self, root: Path, version: int, cpus: float, period_us: int) -> None:
        self.root, self.version, self.cpus, self.period_us = root, version, cpus, period_us
        self.groups: dict[str, Path] = {}

    @classmethod
    def open(cls, cpus: float, period_us: int = 10_000) -> tuple[CpuCaps | None, str]:
        """The caps, or None and why not (no cgroup hierarchy with the cpu controller, or
        not writable)."""
        found = _hierarchy()
        if found is None:
            return None, "no cgroup hierarchy with the cpu controller is mounted"
        root, version = found
        caps = cls(root, version, cpus, period_us)
        caps._sweep()
        try:
            if version == 2:
                controllers = (root / "cgroup.controllers").read_text().split()
                if "cpu" not in controllers:
                    return None, f"the cpu controller is not available in {root}"
                if "cpu" not in (root / "cgroup.subtree_control").read_text().split():
                    (root / "cgroup.subtree_control").write_text("+cpu")
            # creating one, capping it and moving a process into it proves we may
            with subprocess.Popen(["sleep", "30"]) as probe:
                try:
                    caps.add("probe", probe.pid)
                finally:
                    probe.kill()
            caps.remove("probe")
        except OSError as exc:
            caps.close()
            return None, f"cannot create a capped cgroup in {root} ({exc.strerror or exc})"
        return caps, f"cgroup v{version} at {root}"

    def group(self, name: str, capped: bool = True) -> Path:
        """Creates (once) the group `name`, with the cap (or none) and a high scheduling
        weight; its directory."""
        if name in self.groups:
            return self.groups[name]
        path = self.root / f"{PREFIX}{os.getpid()}-{name}"
        path.mkdir(exist_ok=True)
        self.groups[name] = path
        quota = max(1000, round(self.cpus * self.period_us))
        if self.version == 2:
            (path / "cpu.max").write_text(f"{quota if capped else 'max'} {self.period_us}")
            (path / "cpu.weight").write_text(str(WEIGHT * 100 // 1024))
        else:
            (path / "cpu.cfs_period_us").write_text(str(self.period_us))
            (path / "cpu.cfs_quota_us").write_text(str(quota if capped else -1))
            (path / "cpu.shares").write_text(str(WEIGHT))
        return path

    def add(self, name: str, pid: int, capped: bool = True) -> None:
        """Moves process `pid` into group `name` (its later children follow it)."""
        (self.group(name, capped) / "cgroup.procs").write_text(str(pid))

    def throttling(self, name: str) -> Throttling:
        stat = dict(
            (line.split()[0], int(line.split()[1]))
            for line in (self.groups[name] / "cpu.stat").read_text().splitlines()
            if len(line.split()) == 2
        )
        seconds = (
            stat.get("throttled_usec", 0) / 1e6 if self.version == 2 else stat.get("throttled_time", 0) / 1e9
        )
        return Throttling(stat.get("nr_periods", 0), stat.get("nr_throttled", 0), seconds)

    def remove(self, name: str) -> None:
        """Removes group `name`, moving any process still in it back to the root group."""
        path = self.groups.pop(name, None)
        if path is not None:
            _remove(path, self.root)

    def close(self) -> None:
        for name in list(self.groups):
            with contextlib.suppress(OSError):
                self.remove(name)

    def _sweep(self) -> None:
        """Groups left by a run that was killed (its pid gone): removed."""
        for path in self.root.glob(f"{PREFIX}*"):
            owner = path.name.removeprefix(PREFIX).split("-", 1)[0]
            if owner.isdigit() and not Path(f"/proc/{owner}").exists():
                with contextlib.suppress(OSError):
                    _remove(path, self.root)


def _remove(path: Path, root: Path) -> None:
    for pid in (path / "cgroup.procs").read_text().split():
        with contextlib.suppress(OSError):  # exited meanwhile
            (root / "cgroup.procs").write_text(pid)
    path.rmdir()


def _hierarchy() -> tuple[Path, int] | None:
    """Where to create cpu groups: (mount point, cgroup version), from /proc/self/mounts."""
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
    except OSError:
        return None
    v2 = None
    for line in mounts:
        fields = line.split()
        if len(fields) < 4:
            continue
        point, kind, options = fields[1], fields[2], fields[3].split(",")
        if kind == "cgroup" and "cpu" in options:
            return Path(point), 1
        if kind == "cgroup2" and point == "/sys/fs/cgroup":
            v2 = Path(point), 2
    return v2
