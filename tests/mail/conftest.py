"""The loopback Dovecot IMAP server and the account that reads it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from imap_tools import MailBoxUnencrypted

from mail.inbox import ImapAccount
from tests.services import DovecotServer, unavailable


@pytest.fixture
def dovecot() -> Iterator[DovecotServer]:
    """A fresh Dovecot with an empty mailbox (fails under CI when it cannot start)."""
    server = DovecotServer()
    try:
        server.start()
    except (FileNotFoundError, OSError, TimeoutError) as exc:
        server.destroy()
        unavailable(f"Dovecot: {exc}")
    yield server
    server.destroy()


@pytest.fixture
def account(dovecot: DovecotServer) -> ImapAccount:
    return ImapAccount(host="127.0.0.1", port=dovecot.port, user=dovecot.user,
                       password=dovecot.password, security="none", timeout=10.0)


def append(server: DovecotServer, *messages: bytes, folder: str = "INBOX",
           flags: tuple[str, ...] = ()) -> None:
    """Load mail with IMAP APPEND, as a bank's mail would land."""
    with MailBoxUnencrypted("127.0.0.1", server.port).login(server.user, server.password,
                                                           initial_folder=None) as mb:
        if not mb.folder.exists(folder):
            mb.folder.create(folder)
        for raw in messages:
            mb.append(raw, folder, flag_set=list(flags) or None)


def count(server: DovecotServer, folder: str) -> int:
    with MailBoxUnencrypted("127.0.0.1", server.port).login(server.user, server.password,
                                                           initial_folder=None) as mb:
        if not mb.folder.exists(folder):
            return 0
        return int(mb.folder.status(folder, ["MESSAGES"])["MESSAGES"])
