"""Passwords never show in a repr (logs, tracebacks, debug prints)."""

from __future__ import annotations

from mail.inbox import ImapAccount
from storage.backup import DbTarget


def test_database_and_imap_passwords_stay_out_of_reprs() -> None:
    target = DbTarget(engine="postgres", host="db", user="crm", password="pg-s3cret")
    account = ImapAccount(host="imap", port=993, user="bank", password="imap-s3cret")
    assert "pg-s3cret" not in repr(target) and target.password == "pg-s3cret"
    assert "imap-s3cret" not in repr(account) and account.password == "imap-s3cret"
