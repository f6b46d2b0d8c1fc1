"""Is this payment email really from the bank? Sender allow-list + authentication.

A message is trusted only when its single From address is on the payments allow-list
AND that domain is authenticated, either

- by a DKIM signature that verifies here (dkimpy), covers the From header, has no `l=`
  body-length limit (which would let anyone append parts), and whose `d=` is aligned with
  the From domain (equal, parent or subdomain, never a bare top-level domain); or
- by the Authentication-Results header added by OUR receiving server (its authserv-id is
  configured) saying dkim=pass (header.d / header.i aligned) or spf=pass (smtp.mailfrom
  aligned). Such a header counts only when it stands ABOVE the first Received header our
  server added (the lowest `Received: ... by <authserv-id>`): a header below it was in the
  message before our server saw it (RFC 8601 §5), i.e. written by the sender. A message
  whose only headers with our authserv-id sit below our Received header is refused as
  forged (`ar_forged`), whatever else it carries. With no Received header of ours the
  results cannot be placed and count for nothing (DKIM, verified here, still can).

Everything else is not trusted, with a one-sentence reason and a stable `code`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from typing import Any

import dkim

__all__ = ["CODES", "TrustVerdict", "check_trust", "parse_authentication_results"]

#: Every `TrustVerdict.code` (the chat layer translates `trust.<code>`).
CODES = (
    "dkim_pass",
    "ar_pass",
    "no_from",
    "not_allowed",
    "no_authentication",
    "dkim_bad_signature",
    "dkim_wrong_domain",
    "dkim_partial",
    "dkim_error",
    "ar_fail",
    "ar_forged",
)

log = logging.getLogger(__name__)

_COMMENT = re.compile(r"\([^()]*\)")


@dataclass(frozen=True)
class TrustVerdict:
    """The answer: trusted or not, why (one English sentence), for which From domain."""

    trusted: bool
    reason: str
    domain: str | None
    code: str = ""  # stable: translated as `trust.<code>` by the chat layer


@dataclass(frozen=True)
class AuthResult:
    """One result of an Authentication-Results header: `dkim=pass header.d=bank.fr`."""

    method: str
    result: str
    properties: dict[str, str]


def check_trust(
    raw: bytes,
    *,
    allowed_senders: list[str],
    authserv_id: str | None,
    dns_lookup: Callable[..., Any] | None = None,
) -> TrustVerdict:
    """Decide whether `raw` (a whole RFC 822 message) comes from an allowed bank."""
    headers = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
    from_values = headers.get_all("From") or []
    addresses = [a for _, a in getaddresses([str(v) for v in from_values]) if a]
    if len(from_values) != 1 or len(addresses) != 1 or "@" not in addresses[0]:
        return TrustVerdict(False, "the message has no single From address", None, "no_from")
    sender = addresses[0].strip().lower()
    domain = sender.rpartition("@")[2].rstrip(".")
    if not _allowed(sender, domain, allowed_senders):
        return TrustVerdict(
            False, f"sender {domain} is not on the payments allow-list", domain, "not_allowed"
        )
    results, forged = placed_results(list(headers.items()), authserv_id)
    if forged:
        return TrustVerdict(
            False,
            f"forged Authentication-Results: a header with our authserv-id "
            f"{(authserv_id or '').strip().lower()} sits below our server's Received "
            "header, so the sender wrote it",
            domain,
            "ar_forged",
        )
    dkim_verdict, dkim_note = _dkim(raw, domain, dns_lookup)
    if dkim_verdict:
        return TrustVerdict(True, f"DKIM signature of {domain} verified", domain, "dkim_pass")
    ar_verdict, ar_note = _authentication_results(results, authserv_id, domain)
    if ar_verdict and ar_note:
        return TrustVerdict(True, ar_note, domain, "ar_pass")
    # not trusted: say the most telling reason
    if dkim_note:
        code, sentence = dkim_note
    elif ar_note:
        code, sentence = "ar_fail", ar_note
    else:
        code, sentence = "no_authentication", "no DKIM signature and no result from our server"
    return TrustVerdict(False, f"possibly spoofed sender {domain}: {sentence}", domain, code)


_BY = re.compile(r"\bby\s+\[?([A-Za-z0-9.\-_:]+)", re.IGNORECASE)


def _ours(host: str, server: str) -> bool:
    host = host.strip().lower().rstrip(".")
    return host == server or host.endswith("." + server)


def placed_results(headers: list[tuple[str, str]], authserv_id: str | None) -> tuple[list[str], bool]:
    """(the Authentication-Results values that our server added, top first; forged?).

    `headers` in message order (top first). Ours are the A-R headers with our authserv-id
    standing above the lowest Received header whose `by` names our server (authserv-id or
    a host under it). Forged: there are A-R headers with our authserv-id, none of them
    above that Received header."""
    if not authserv_id:
        return [], False
    server = authserv_id.strip().lower().rstrip(".")
    lowest_ours = -1
    for index, (name, value) in enumerate(headers):
        if name.lower() == "received":
            found = _BY.search(" ".join(str(value).split()))
            if found and _ours(found.group(1), server):
                lowest_ours = index
    placed: list[str] = []
    below = 0
    for index, (name, value) in enumerate(headers):
        if name.lower() != "authentication-results":
            continue
        text = str(value)
        if parse_authentication_results(text)[0] != server:
            continue
        if index < lowest_ours:
            placed.append(text)
        else:
            below += 1
    return placed, bool(below and not placed and lowest_ours >= 0)


def _allowed(sender: str, domain: str, allowed: list[str]) -> bool:
    for entry in allowed:
        entry = entry.strip().lower().lstrip("@")
        if not entry:
            continue
        if "@" in entry:
            if sender == entry:
                return True
        elif domain == entry or domain.endswith("." + entry):
            return True
    return False


def aligned(auth_domain: str, from_domain: str) -> bool:
    """Relaxed alignment: equal, or one is a subdomain of the other (never a bare TLD)."""
    a = auth_domain.strip().lower().rstrip(".")
    f = from_domain.strip().lower().rstrip(".")
    if not a or not f:
        return False
    if a == f:
        return True
    parent = a if f.endswith("." + a) else f if a.endswith("." + f) else None
    return parent is not None and "." in parent


def _dkim(
    raw: bytes, domain: str, dns_lookup: Callable[..., Any] | None
) -> tuple[bool, tuple[str, str] | None]:
    """(verified and aligned, else the (code, sentence) of the most telling failure)."""
    try:
        verifier = dkim.DKIM(raw)
    except Exception as exc:  # dkimpy raises many kinds on malformed input
        log.info("DKIM: unparsable message: %s", type(exc).__name__)
        return False, ("dkim_error", "the message cannot be read for DKIM")
    count = sum(1 for name, _ in verifier.headers if name.lower() == b"dkim-signature")
    note: tuple[str, str] | None = None
    kwargs = {"dnsfunc": dns_lookup} if dns_lookup is not None else {}
    for idx in range(count):
        try:
            ok = verifier.verify(idx=idx, **kwargs)
        except dkim.DKIMException as exc:
            log.info("DKIM signature %d refused: %s", idx, exc)
            ok = False
        except Exception as exc:  # DNS errors and the like: a failure, not a crash
            log.info("DKIM signature %d not checked: %s", idx, type(exc).__name__)
            ok = False
        fields = getattr(verifier, "signature_fields", {}) or {}
        signer = (fields.get(b"d") or b"").decode("ascii", "replace").lower()
        if not ok:
            note = note or ("dkim_bad_signature", f"DKIM signature of {signer or '?'} does not verify")
            continue
        if b"l" in fields:
            note = ("dkim_partial", f"DKIM signature of {signer} covers only part of the body")
            continue
        if b"from" not in getattr(verifier, "include_headers", ()):
            note = ("dkim_partial", f"DKIM signature of {signer} does not cover From")
            continue
        if aligned(signer, domain):
            return True, None
        note = ("dkim_wrong_domain", f"valid DKIM signature, but from {signer}, not {domain}")
    return False, note


def _authentication_results(
    values: list[str], authserv_id: str | None, domain: str
) -> tuple[bool, str | None]:
    if not authserv_id:
        return False, None
    ours = authserv_id.strip().lower()
    for value in values:  # top first: the first one of ours is the one our server added
        server, results = parse_authentication_results(value)
        if server != ours:
            continue
        for r in results:
            if r.result != "pass":
                continue
            if r.method == "dkim":
                signer = r.properties.get("header.d") or r.properties.get("header.i", "")
                if aligned(signer.rpartition("@")[2], domain):
                    return True, f"our server {ours} saw dkim=pass for {domain}"
            elif r.method == "spf":
                mailfrom = r.properties.get("smtp.mailfrom", "")
                if aligned(mailfrom.rpartition("@")[2], domain):
                    return True, f"our server {ours} saw spf=pass for {domain}"
        return False, f"our server {ours} saw no dkim=pass or spf=pass for {domain}"
    return False, None


def parse_authentication_results(value: str) -> tuple[str, list[AuthResult]]:
    """(authserv-id, results) of one Authentication-Results header value (RFC 8601)."""
    text = " ".join(value.split())
    previous = None
    while previous != text:  # nested comments go from the inside out
        previous, text = text, _COMMENT.sub(" ", text)
    parts = [p.strip() for p in text.split(";")]
    head = parts[0].split()
    server = head[0].lower() if head else ""
    results = []
    for part in parts[1:]:
        tokens = part.split()
        if not tokens or "=" not in tokens[0]:
            continue
        method, _, result = tokens[0].partition("=")
        props = {}
        for token in tokens[1:]:
            key, sep, val = token.partition("=")
            if sep:
                props[key.lower()] = val.strip('"').lower()
        results.append(AuthResult(method.split("/")[0].lower(), result.lower(), props))
    return server, results
