"""Sender trust: allow-list + DKIM (real signatures, our own DNS) or our server's results."""

from __future__ import annotations

import base64
import re
from email.message import EmailMessage

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mail.trust import aligned, check_trust, parse_authentication_results

OUR_SERVER = "mx.entonnoir.test"
ALLOWED = ["bank.fr", "alerts@other-bank.example"]


class Dns:
    """The DKIM keys the verifier may see: {domain: public key record}."""

    def __init__(self) -> None:
        self.records: dict[bytes, bytes] = {}
        self.asked: list[bytes] = []

    def publish(self, domain: str, key: rsa.RSAPrivateKey, selector: str = "sel") -> None:
        der = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        name = f"{selector}._domainkey.{domain}.".encode()
        self.records[name] = b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)

    def __call__(self, name: bytes, timeout: int = 5) -> bytes | None:
        self.asked.append(name)
        return self.records.get(name)


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def keys() -> dict[str, rsa.RSAPrivateKey]:
    return {"bank": _key(), "evil": _key()}


@pytest.fixture
def dns(keys) -> Dns:
    dns = Dns()
    dns.publish("bank.fr", keys["bank"])
    dns.publish("evil.example", keys["evil"])
    return dns


def message(sender: str = "alertes@bank.fr", body: str = "Vous avez reçu un virement.") -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Banque <{sender}>"
    msg["To"] = "compta@entonnoir.example"
    msg["Subject"] = "Avis de virement"
    msg["Message-ID"] = "<x1@bank.fr>"
    msg.set_content(body)
    return msg.as_bytes()


def signed(raw: bytes, key: rsa.RSAPrivateKey, domain: str, **options) -> bytes:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    headers = options.pop("include_headers", [b"from", b"to", b"subject", b"message-id"])
    signature = dkim.sign(raw, b"sel", domain.encode(), pem, include_headers=headers, **options)
    return signature + raw


def received(by: str = OUR_SERVER) -> bytes:
    return (
        f"Received: from mail.bank.fr (mail.bank.fr [192.0.2.7])\n\tby {by} (Postfix) "
        "with ESMTPS id 4Xb2; Thu, 26 Nov 2026 18:00:01 +0100\n"
    ).encode()


def with_results(raw: bytes, *values: str) -> bytes:
    """Headers on top, in the given order (the first one is the last added), above the
    Received header our server added when it took the message."""
    return b"".join(f"Authentication-Results: {v}\n".encode() for v in values) + received() + raw


def check(raw: bytes, dns: Dns, authserv_id: str | None = OUR_SERVER):
    return check_trust(raw, allowed_senders=ALLOWED, authserv_id=authserv_id, dns_lookup=dns)


def test_a_bank_message_signed_by_the_bank_is_trusted(keys, dns):
    verdict = check(signed(message(), keys["bank"], "bank.fr"), dns)

    assert (verdict.trusted, verdict.code, verdict.domain) == (True, "dkim_pass", "bank.fr")
    assert verdict.reason == "DKIM signature of bank.fr verified"
    assert dns.asked == [b"sel._domainkey.bank.fr."]


def test_a_subdomain_sender_is_aligned_with_the_bank_signature(keys, dns):
    verdict = check(signed(message("avis@notifications.bank.fr"), keys["bank"], "bank.fr"), dns)
    assert verdict.trusted


def test_a_spoofed_sender_without_authentication_is_not_trusted(dns):
    verdict = check(message(), dns)

    assert (verdict.trusted, verdict.code) == (False, "no_authentication")
    assert verdict.reason == (
        "possibly spoofed sender bank.fr: no DKIM signature and no result from our server"
    )


def test_a_valid_signature_from_another_domain_is_not_trusted(keys, dns):
    verdict = check(signed(message(), keys["evil"], "evil.example"), dns)

    assert (verdict.trusted, verdict.code) == (False, "dkim_wrong_domain")
    assert "valid DKIM signature, but from evil.example, not bank.fr" in verdict.reason


def test_a_signature_made_with_the_wrong_key_or_a_tampered_body_is_not_trusted(keys, dns):
    forged = signed(message(), keys["evil"], "bank.fr")  # claims bank.fr, evil's key
    assert check(forged, dns).code == "dkim_bad_signature"

    genuine = signed(message(body="Montant : 10,00 EUR"), keys["bank"], "bank.fr")
    tampered = genuine.replace(b"10,00", b"9999,00")
    verdict = check(tampered, dns)
    assert (verdict.trusted, verdict.code) == (False, "dkim_bad_signature")


def test_a_signature_limited_to_part_of_the_body_is_not_enough(keys, dns):
    raw = signed(message(), keys["bank"], "bank.fr", length=True)
    assert check(raw, dns).code == "dkim_partial"


def test_a_sender_off_the_allow_list_is_not_trusted_even_when_signed(keys, dns):
    verdict = check(signed(message("boss@evil.example"), keys["evil"], "evil.example"), dns)
    assert (verdict.trusted, verdict.code) == (False, "not_allowed")
    assert verdict.reason == "sender evil.example is not on the payments allow-list"


def test_an_address_entry_allows_that_address_only(keys, dns):
    ok = check(message("alerts@other-bank.example"), dns)
    assert ok.code == "no_authentication"  # allowed, but still needs authentication
    assert check(message("ceo@other-bank.example"), dns).code == "not_allowed"


def test_two_from_headers_are_refused(dns):
    raw = b"From: a@bank.fr\n" + message()
    assert check(raw, dns).code == "no_from"


def test_our_server_saying_dkim_or_spf_pass_for_the_bank_is_trusted(dns):
    dkim_pass = with_results(
        message(), f"{OUR_SERVER}; dkim=pass (2048-bit key) header.d=bank.fr header.i=@bank.fr"
    )
    verdict = check(dkim_pass, dns)
    assert (verdict.trusted, verdict.code) == (True, "ar_pass")
    assert verdict.reason == f"our server {OUR_SERVER} saw dkim=pass for bank.fr"

    spf_pass = with_results(message(), f"{OUR_SERVER} 1; spf=pass smtp.mailfrom=bounce@mail.bank.fr")
    assert check(spf_pass, dns).trusted


def test_a_forged_result_below_ours_is_ignored(dns):
    raw = with_results(
        message(),
        f"{OUR_SERVER}; dkim=none; spf=fail smtp.mailfrom=evil.example",
        f"{OUR_SERVER}; dkim=pass header.d=bank.fr; spf=pass smtp.mailfrom=bank.fr",
    )

    verdict = check(raw, dns)

    assert (verdict.trusted, verdict.code) == (False, "ar_fail")
    assert "saw no dkim=pass or spf=pass for bank.fr" in verdict.reason


def test_a_result_with_our_id_below_our_received_header_is_forged_even_with_a_good_signature(
    keys,
    dns,
):
    # The sender wrote "our" header into the message; our server added Received on top of
    # it, and (misconfigured) did not remove it nor add its own (RFC 8601 §5).
    inside = f"Authentication-Results: {OUR_SERVER}; dkim=pass header.d=bank.fr\n".encode()
    raw = received() + inside + signed(message(), keys["bank"], "bank.fr")
    verdict = check_trust(raw, allowed_senders=ALLOWED, authserv_id=OUR_SERVER, dns_lookup=dns)
    assert (verdict.trusted, verdict.code) == (False, "ar_forged")
    assert "below our server's Received header" in verdict.reason


def test_a_second_received_of_ours_above_the_result_does_not_make_it_forged(dns):
    # MX adds Received, its milter adds A-R, then the local delivery adds another Received.
    raw = (
        received()
        + f"Authentication-Results: {OUR_SERVER}; dkim=pass header.d=bank.fr\n".encode()
        + received()
        + message()
    )
    verdict = check_trust(raw, allowed_senders=ALLOWED, authserv_id=OUR_SERVER, dns_lookup=dns)
    assert (verdict.trusted, verdict.code) == (True, "ar_pass")


def test_without_a_received_header_of_ours_a_result_cannot_be_placed_and_counts_for_nothing(dns):
    raw = f"Authentication-Results: {OUR_SERVER}; dkim=pass header.d=bank.fr\n".encode() + message()
    verdict = check_trust(raw, allowed_senders=ALLOWED, authserv_id=OUR_SERVER, dns_lookup=dns)
    assert (verdict.trusted, verdict.code) == (False, "no_authentication")


def test_dkim_verified_here_still_trusts_when_our_server_added_no_result(keys, dns):
    raw = received() + signed(message(), keys["bank"], "bank.fr")
    verdict = check_trust(raw, allowed_senders=ALLOWED, authserv_id=OUR_SERVER, dns_lookup=dns)
    assert (verdict.trusted, verdict.code) == (True, "dkim_pass")


def test_results_from_other_servers_or_for_other_domains_do_not_count(dns):
    other_server = with_results(message(), "mx.evil.example; dkim=pass header.d=bank.fr")
    assert check(other_server, dns).code == "no_authentication"

    other_domain = with_results(message(), f"{OUR_SERVER}; dkim=pass header.d=evil.example")
    assert check(other_domain, dns).code == "ar_fail"

    not_configured = with_results(message(), f"{OUR_SERVER}; dkim=pass header.d=bank.fr")
    assert check(not_configured, dns, authserv_id=None).trusted is False


def test_authentication_results_are_parsed_with_comments_and_versions():
    server, results = parse_authentication_results(
        'MX.Example.org 1; dkim=pass (good (nested) sig) header.d=Bank.FR header.s="sel";'
        " spf=softfail smtp.mailfrom=x@y.fr; none"
    )
    assert server == "mx.example.org"
    assert [(r.method, r.result, r.properties) for r in results] == [
        ("dkim", "pass", {"header.d": "bank.fr", "header.s": "sel"}),
        ("spf", "softfail", {"smtp.mailfrom": "x@y.fr"}),
    ]


@pytest.mark.parametrize(
    ("auth", "sender", "expected"),
    [
        ("bank.fr", "bank.fr", True),
        ("bank.fr", "notif.bank.fr", True),
        ("mail.bank.fr", "bank.fr", True),
        ("fr", "bank.fr", False),
        ("evilbank.fr", "bank.fr", False),
        ("bank.fr.evil.com", "bank.fr", False),
        ("", "bank.fr", False),
    ],
)
def test_domain_alignment(auth, sender, expected):
    assert aligned(auth, sender) is expected


def test_every_trust_and_parse_code_reads_in_english_and_french():
    from pathlib import Path

    from bot.i18n import t
    from mail.trust import CODES

    trust_source = (Path(__file__).resolve().parents[2] / "mail" / "trust.py").read_text()
    assert all(f'"{code}"' in trust_source for code in CODES)
    parse_codes = set()
    for path in (Path(__file__).resolve().parents[2] / "mail" / "parsers").glob("*.py"):
        parse_codes |= set(re.findall(r'code\s*=\s*"(\w+)"', path.read_text()))
    assert {"too_large", "xml_dtd", "not_camt"} <= parse_codes
    # template problems are reported inside text reasons, not as attachment problems
    attachment_codes = {c for c in parse_codes if not c.startswith("template_") and c != "amount"}
    for key in [f"trust.{c}" for c in CODES] + [f"mailparse.{c}" for c in attachment_codes]:
        english, french = (t(lang, key, domain="bank.fr", part="x.xml") for lang in ("en", "fr"))
        assert english and french and english != french, key
