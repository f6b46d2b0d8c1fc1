"""A real SMTP server on loopback (aiosmtpd) with STARTTLS (trustme certificates) and AUTH.

    server = LoopbackSmtp(); server.start()
    config = server.config(tmp_path)           # a matching `mail.sender.SmtpConfig`
    ... flush ...
    server.messages                            # parsed `EmailMessage`s received
    server.stop(); server.start()              # an outage, same port

Recipients listed in `reject` get `550 5.1.1 no such user`; those in `defer` get
`451 4.3.0 try again later` at DATA time.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import ssl
import threading
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from mail.sender import SmtpConfig
from tests.services import free_port

USER, PASSWORD = "sender@entonnoir.example", "s3cret-pass"


class _Handler:
    def __init__(self, server: LoopbackSmtp) -> None:
        self.server = server

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.server.reject:
            return "550 5.1.1 no such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.server.delay:  # a slow server: tests act while a flush is under way
            await asyncio.sleep(self.server.delay)
        if any(r in self.server.defer for r in envelope.rcpt_tos):
            return "451 4.3.0 mailbox busy, try again later"
        with self.server.lock:
            self.server.raw.append(bytes(envelope.content))
            self.server.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.server.tls_seen.append(session.ssl is not None)
            self.server.sessions.append(tuple(session.peer))
        return "250 2.0.0 queued"


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (USER.encode(), PASSWORD.encode())
    return AuthResult(success=ok, handled=False)  # handled=False: the server answers 535


class LoopbackSmtp:
    """aiosmtpd in its own thread; STARTTLS required before AUTH, AUTH required to send."""

    def __init__(self, *, tls: bool = True, auth: bool = True) -> None:
        self.port = free_port()
        self.tls, self.auth = tls, auth
        self.raw: list[bytes] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.tls_seen: list[bool] = []
        self.sessions: list[tuple[str, int]] = []  # client address of each message received
        self.reject: set[str] = set()
        self.defer: set[str] = set()
        self.delay = 0.0
        self.lock = threading.Lock()
        self._ca = trustme.CA()
        cert = self._ca.issue_cert("127.0.0.1", "localhost")
        self.server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(self.server_context)
        self.client_context = ssl.create_default_context()
        self._ca.configure_trust(self.client_context)
        self._controller: Controller | None = None

    def start(self) -> None:
        kwargs: dict[str, Any] = {}
        if self.tls:
            kwargs.update(tls_context=self.server_context, require_starttls=True)
        if self.auth:
            kwargs.update(authenticator=_authenticate, auth_required=True, auth_require_tls=self.tls)
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, **kwargs)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def config(self, tmp_path: Path, **overrides: Any) -> SmtpConfig:
        values: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.port,
            "user": USER if self.auth else None,
            "password": PASSWORD if self.auth else None,
            "security": "starttls" if self.tls else "none",
            "timeout": 5.0,
            "mail_from": "Entonnoir Démo <factures@entonnoir.example>",
            "eml_dir": tmp_path / "eml",
            "tls_context": self.client_context,
        }
        values.update(overrides)
        return SmtpConfig(**values)

    @property
    def ca_pem(self) -> bytes:
        """The test CA certificate, for a client in another process."""
        return bytes(self._ca.cert_pem.bytes())

    @property
    def messages(self) -> list[EmailMessage]:
        with self.lock:
            raw = list(self.raw)
        return [email.message_from_bytes(r, policy=email.policy.default) for r in raw]  # type: ignore[misc]
