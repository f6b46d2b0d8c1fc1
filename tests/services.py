"""Real servers for the tests, started from Debian's packages on loopback.

Under `CI=true` (or `ENTONNOIR_TEST_SERVICES=required`, which `make test` sets once
scripts/install-test-services.sh made sure they are installed) a missing server fails the
run; elsewhere the tests that need it skip with the reason.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def unavailable(reason: str) -> None:
    """Fail under CI (or when `make test` requires the services), skip elsewhere."""
    if (
        os.environ.get("CI", "").lower() in ("1", "true", "yes")
        or os.environ.get("ENTONNOIR_TEST_SERVICES") == "required"
    ):
        pytest.fail(f"required test service missing: {reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


class PostgresServer:
    """A throwaway PostgreSQL cluster in a temp dir, on a loopback port."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="entonnoir-pg-"))
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}"

    def _as_postgres(self, *cmd: str) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", "postgres", "--", *cmd]
        return list(cmd)

    def start(self) -> None:
        bin_dir = next((d for d in PG_BIN_DIRS if (d / "initdb").exists()), None)
        if bin_dir is None:
            raise FileNotFoundError("PostgreSQL server binaries (apt-get install postgresql)")
        data = self.dir / "data"
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        subprocess.run(
            self._as_postgres(
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
            ),
            check=True,
            capture_output=True,
        )
        self.proc = subprocess.Popen(
            self._as_postgres(
                str(bin_dir / "postgres"),
                "-D",
                str(data),
                "-p",
                str(self.port),
                "-h",
                "127.0.0.1",
                "-k",
                str(self.dir),
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
            ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_port(self.port)
        time.sleep(0.3)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=20)
        shutil.rmtree(self.dir, ignore_errors=True)


class DovecotServer:
    """A throwaway Dovecot IMAP server (Debian's dovecot-imapd) on a loopback port.

    Started once per test session: every test gets its own user (`add_user`: any user name
    logs in with the one password, each into its own fresh Maildir), so tests stay isolated
    without paying for a server start each. Maildir in a temp dir, plain text login
    (loopback only), MOVE announced before login so imap-tools issues a real UID MOVE.
    """

    user = "bank"
    password = "secret-imap"

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="entonnoir-dovecot-"))
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._users = 0

    @property
    def mail_dir(self) -> Path:
        return self.dir / "mail"

    def add_user(self) -> DovecotMailbox:
        """A new user with an empty mailbox, usable at once (no restart)."""
        self._users += 1
        return DovecotMailbox(self, f"{self.user}{self._users}", self.password)

    def _config(self) -> str:
        d = self.dir
        root = os.geteuid() == 0
        owner = (
            "mail_uid = nobody\nmail_gid = nogroup\nfirst_valid_uid = 1\n"
            if root
            else (
                f"mail_uid = {os.getuid()}\nmail_gid = {os.getgid()}\n"
                f"first_valid_uid = {min(os.getuid(), 1) or 1}\n"
            )
        )
        return f"""
protocols = imap
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
info_log_path = {d}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
{owner}
mail_location = maildir:{d}/mail/%u
mail_plugins =
imap_idle_notify_interval = 1 secs
default_internal_user = {"dovecot" if root else os.environ.get("USER", "nobody")}
default_login_user = {"dovenull" if root else os.environ.get("USER", "nobody")}
passdb {{
  driver = static
  args = password={self.password}
}}
userdb {{
  driver = static
  args = uid={"nobody" if root else os.getuid()} gid={"nogroup" if root else os.getgid()} home={d}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
"""

    def start(self) -> None:
        binary = shutil.which("dovecot") or (
            "/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None
        )
        if binary is None:
            raise FileNotFoundError("dovecot (apt-get install dovecot-imapd)")
        for sub in ("run", "state", "mail"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        conf = self.dir / "dovecot.conf"
        conf.write_text(self._config())
        if os.geteuid() == 0:
            shutil.chown(self.dir / "mail", "nobody", "nogroup")
            os.chmod(self.dir, 0o755)
        self.proc = subprocess.Popen(
            [binary, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        self._wait_greeting()

    def _wait_greeting(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                log = self.dir / "dovecot.log"
                detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                raise OSError(f"dovecot exited: {err.strip()} {detail.strip()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    if s.recv(200).startswith(b"* OK"):
                        return
            except OSError:
                pass
            time.sleep(0.02)
        raise TimeoutError(f"dovecot did not greet on 127.0.0.1:{self.port}")

    def stop(self) -> None:
        """Stop the server (the mail stays: `start_again()` brings it back on the same port)."""
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            self.proc = None

    def kill_sessions(self) -> int:
        """Kill every IMAP session process of this server (its clients see the socket drop)."""
        if self.proc is None:
            return 0
        killed = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                comm = stat.read_text().split("(", 1)[1].rsplit(")", 1)[0]
            except OSError:
                continue
            if int(fields[1]) == self.proc.pid and comm == "imap":
                os.kill(int(stat.parent.name), 9)
                killed += 1
        return killed

    def start_again(self) -> None:
        binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
        self.proc = subprocess.Popen(
            [binary, "-F", "-c", str(self.dir / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self._wait_greeting()

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class DovecotMailbox:
    """One test's view of the shared Dovecot: its own user (so its own INBOX and folders)."""

    def __init__(self, server: DovecotServer, user: str, password: str) -> None:
        self.server = server
        self.user = user
        self.password = password

    @property
    def port(self) -> int:
        return self.server.port

    def kill_sessions(self) -> int:
        """Kill the server's IMAP sessions (tests run one at a time: they are this test's)."""
        return self.server.kill_sessions()
