"""The loopback Dovecot IMAP server and the account that reads it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from imap_tools import MailBoxUnencrypted

from mail.inbox import ImapAccount
from tests.services import DovecotMailbox, DovecotServer, unavailable


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[DovecotServer]:
    """One Dovecot for the whole run (fails under CI when it cannot start)."""
    server = DovecotServer()
    try:
        server.start()
    except (FileNotFoundError, OSError, TimeoutError) as exc:
        server.destroy()
        unavailable(f"Dovecot: {exc}")
    yield server
    server.destroy()


@pytest.fixture
def dovecot(dovecot_server: DovecotServer) -> DovecotMailbox:
    """A fresh user on the shared Dovecot: an empty INBOX and no folders of any other test."""
    return dovecot_server.add_user()


@pytest.fixture
def account(dovecot: DovecotMailbox) -> ImapAccount:
    return ImapAccount(
        host="127.0.0.1",
        port=dovecot.port,
        user=dovecot.user,
        password=dovecot.password,
        security="none",
        timeout=10.0,
    )


def append(
    server: DovecotMailbox, *messages: bytes, folder: str = "INBOX", flags: tuple[str, ...] = ()
) -> None:
    """Load mail with IMAP APPEND, as a bank's mail would land."""
    with MailBoxUnencrypted("127.0.0.1", server.port).login(
        server.user, server.password, initial_folder=None
    ) as mb:
        if not mb.folder.exists(folder):
            mb.folder.create(folder)
        for raw in messages:
            mb.append(raw, folder, flag_set=list(flags) or None)


def count(server: DovecotMailbox, folder: str) -> int:
    with MailBoxUnencrypted("127.0.0.1", server.port).login(
        server.user, server.password, initial_folder=None
    ) as mb:
        if not mb.folder.exists(folder):
            return 0
        return int(mb.folder.status(folder, ["MESSAGES"])["MESSAGES"])
