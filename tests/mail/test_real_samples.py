"""Real banks' files (tests/mail/samples, origin and licence in its README) through the parsers."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from mail.notices import Direction
from mail.parsers.camt import parse_camt
from mail.parsers.errors import ParseError
from mail.parsers.mt940 import parse_mt940
from storage.payments import entry_key

SAMPLES = Path(__file__).parent / "samples"


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def keys(notices) -> list[str]:
    return [entry_key(n) for n in notices]


def test_rabobank_eref_on_every_line_is_never_an_entry_id():
    notices = parse_mt940(sample("mt940/jejik-rabobank-iban.sta"))
    assert len(notices) == 4
    assert {n.entry_ref for n in notices} == {None}  # "EREF" / "NONREF" identify nothing
    # two statements, both numbered 0, two EREF debits of 25.00: four distinct identities
    assert len(set(keys(notices))) == 4
    assert [n.booking_date for n in notices] == [
        date(2013, 1, 1),
        date(2013, 1, 2),
        date(2013, 1, 8),
        date(2013, 1, 9),
    ]


def test_reading_the_same_file_again_gives_the_same_identities():
    first = keys(parse_mt940(sample("mt940/jejik-rabobank-iban.sta")))
    again = keys(parse_mt940(sample("mt940/jejik-rabobank-iban.sta")))
    assert first == again


def test_sns_contra_account_written_as_customer_reference_is_no_id():
    # The old rule used it as the entry id: the next day's payment from the same account
    # would have been taken for this one and lost.
    notices = parse_mt940(sample("mt940/jejik-sns.sta"))
    assert [(n.amount_cents, n.entry_ref) for n in notices] == [(2000, None), (500, None)]
    assert len(set(keys(notices))) == 2


@pytest.mark.parametrize(
    "name, count",
    [
        ("mt940/jejik-ing.sta", 7),
        ("mt940/jejik-abnamro.sta", 10),
    ],
)
def test_ing_and_abn_amro_statements_are_read_entry_by_entry(name: str, count: int):
    notices = parse_mt940(sample(name))
    assert len(notices) == count
    assert len(set(keys(notices))) == count


def test_asn_file_refused_by_the_library_is_read_by_the_fallback():
    notices = parse_mt940(sample("mt940/wolph-asn.940.txt"))
    assert len(notices) == 8
    first = notices[0]
    assert (first.amount_cents, first.direction, first.account_iban) == (
        6500,
        Direction.DEBIT,
        "NL81ASNB9999999999",
    )
    assert first.remittance is not None and "Betaling sieraden" in first.remittance
    credits = [n.amount_cents for n in notices if n.direction is Direction.CREDIT]
    assert credits == [100000, 82872, 100018]
    assert len(set(keys(notices))) == 8


def test_a_sparkasse_amount_wrapped_to_the_next_line_is_not_lost():
    (notice,) = parse_mt940(sample("mt940/wolph-sparkassen.sta"))
    assert (notice.amount_cents, notice.direction, notice.booking_date) == (
        3000,
        Direction.CREDIT,
        date(2018, 11, 26),
    )


def test_an_unreadable_mt940_says_which_line_not_a_python_object():
    bad = (
        b":20:STARTUMSE\n:25:10020030/1234567890\n:28C:1\n:60F:C260301EUR0,00\n"
        b":61:26AB01D1,00NTRFNONREF\n:62F:C260301EUR0,00\n-\n"
    )
    with pytest.raises(ParseError) as caught:
        parse_mt940(bad)
    message = str(caught.value)
    assert "line 5" in message and ":61:" in message
    assert "object at 0x" not in message and "<" not in message


def test_camt052_001_01_is_read_like_001_02():
    (v1,) = parse_camt(sample("camt/genkgo-camt052.v1.xml")).notices
    (v2,) = parse_camt(sample("camt/genkgo-camt052.v2.xml")).notices
    assert parse_camt(sample("camt/genkgo-camt052.v1.xml")).kind == "camt.052"
    same = ("amount_cents", "currency", "booking_date", "direction", "entry_ref")
    assert [getattr(v1, f) for f in same] == [getattr(v2, f) for f in same]
    assert v1.entry_ref == "AAAASESS-FP-ACCR-01"


def test_a_batch_without_amounts_is_one_notice_with_every_reference_and_a_warning():
    result = parse_camt(sample("camt/genkgo-camt054.v2.xml"))
    (notice,) = result.notices
    assert notice.warning == {
        "key": "paynote.batch_without_amounts",
        "params": {"entry": "AAAASESS-FP-ACCR001", "count": 3},
    }
    assert notice.remittance is not None
    assert "V1" in notice.remittance and "V3 block 2" in notice.remittance
    assert notice.reference is None  # several references: the batch rule decides


def test_oca_direct_debits_returned_with_ac06_are_reversals_with_their_reason():
    notices = parse_camt(sample("camt/oca-test-camt053.xml")).notices
    returns = [n for n in notices if n.direction is Direction.REVERSAL]
    assert [(n.amount_cents, n.return_code) for n in returns] == [(56405, "AC06"), (10000, "AC06")]
    assert len(set(keys(notices))) == 4
    credit = next(n for n in notices if n.direction is Direction.CREDIT)
    assert credit.payer_iban == "NL69ABNA0522123643"


def test_camt_bank_reference_keys_the_entry_with_its_account():
    (notice,) = parse_camt(sample("camt/oca-test-camt054.xml")).notices
    assert entry_key(notice) == "bank:NL77ABNA0574908765:15180015077602405"
    # the same bank id on another account is another entry
    assert entry_key(replace(notice, account_iban="NL46ABNA0499998748")) != entry_key(notice)
