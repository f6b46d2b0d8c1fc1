"""MT940: German structured :86:, credits, debits, reversals, references."""

from __future__ import annotations

from datetime import date

import pytest

from mail.notices import Direction
from mail.parsers.errors import ParseError
from mail.parsers.mt940 import is_mt940, parse_mt940

GERMAN = """:20:STARTUMSE
:25:10020030/1234567890
:28C:00001/001
:60F:C260301EUR1000,00
:61:2603020302C1200,00NTRFNONREF//BQ20260302001
:86:166?00GUTSCHRIFT?109310?20EREF+F2026-00042?21SVWZ+Rechnung F2026-00042?22RF18 5390 0754 7034?30BYLADEM1001?31DE89370400440532013000?32ACME GmbH
:61:2603030303D50,00NMSCNONREF
:86:805?00ENTGELT?20Kontofuehrung
:61:2603040304RC1200,00NTRFNONREF//BQ20260304009
:86:159?00RUECKUEBERWEISUNG?20Retour F2026-00042?31DE89370400440532013000?32ACME GmbH
:61:2603050305C10,00NTRFNONREF//BQ20260304009
:86:Virement Durand facture F2026-00050
:62F:C260305EUR1960,00
-
"""


def test_a_german_statement_gives_credits_debits_and_reversals():
    credit, fee, reversal, durand = parse_mt940(GERMAN.encode())

    assert (credit.amount_cents, credit.currency, credit.direction) == (120000, "EUR", Direction.CREDIT)
    assert credit.booking_date == date(2026, 3, 2)
    assert type(credit.booking_date) is date
    assert (fee.amount_cents, fee.direction, fee.entry_ref) == (5000, Direction.DEBIT, None)
    assert (reversal.amount_cents, reversal.direction) == (120000, Direction.REVERSAL)
    assert (durand.amount_cents, durand.remittance) == (1000, "Virement Durand facture F2026-00050")


def test_the_payer_account_of_a_german_86_is_an_iban_not_part_of_the_name():
    credit = parse_mt940(GERMAN.encode())[0]

    assert credit.payer_name == "ACME GmbH"
    assert credit.payer_iban == "DE89370400440532013000"


def test_remittance_and_rf_reference_are_read_from_the_purpose():
    credit = parse_mt940(GERMAN.encode())[0]

    assert "F2026-00042" in (credit.remittance or "")
    assert credit.reference == "RF18539007547034"


def test_a_bank_reference_repeated_within_a_file_is_no_identity():
    refs = [n.entry_ref for n in parse_mt940(GERMAN.encode())]
    # BQ20260304009 names two entries: it identifies neither (their fingerprints do).
    assert refs == ["BQ20260302001", None, None, None]


def test_latin1_statements_are_decoded():
    text = GERMAN.replace("Kontofuehrung", "Kontoführung").encode("latin-1")
    assert parse_mt940(text)[1].remittance == "Kontoführung"


def test_sniffing_tells_mt940_from_other_text():
    assert is_mt940(GERMAN.encode())
    assert not is_mt940(b"Bonjour,\nvoici votre relev\xc3\xa9.\n")


def test_an_unreadable_statement_is_a_parse_error():
    broken = ":20:X\n:25:1\n:28C:1\n:60F:C260301EUR1000,00\n:61:26XX02C1200,00NTRF\n:62F:C2603\n"
    try:
        notices = parse_mt940(broken.encode())
    except ParseError:
        return
    pytest.fail(f"a broken :61: line must not give notices silently: {notices}")


def test_the_statement_account_of_25_is_on_every_notice():
    notices = parse_mt940(GERMAN.encode())
    assert {n.account_iban for n in notices} == {"10020030/1234567890"}
    iban = GERMAN.replace(":25:10020030/1234567890", ":25:DE89 3704 0044 0532 0130 00")
    assert {n.account_iban for n in parse_mt940(iban.encode())} == {"DE89370400440532013000"}
