"""Entry identity and masked accounts: property tests of the pure rules."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from mail.notices import Direction, PaymentNotice
from mail.parsers.common import assign_identities, is_placeholder
from storage.payments import entry_key, masked_account_matches

ACCOUNT = "NL71RABO0123456789"

entries = st.builds(
    PaymentNotice,
    amount_cents=st.integers(1, 5),
    currency=st.just("EUR"),
    booking_date=st.sampled_from([date(2026, 11, 26), date(2026, 11, 27)]),
    direction=st.sampled_from([Direction.CREDIT, Direction.DEBIT]),
    remittance=st.sampled_from([None, "EREF", "Facture F2026-00001"]),
    entry_ref=st.sampled_from([None, "EREF", "NONREF", "N", "B-000001", "B-000002"]),
    account_iban=st.just(ACCOUNT),
    statement_ref=st.sampled_from(["0", "1/1"]),
)


@given(st.lists(entries, max_size=30))
def test_every_entry_of_a_document_gets_its_own_stable_identity(notices):
    first = [entry_key(n) for n in assign_identities(notices)]
    again = [entry_key(n) for n in assign_identities(list(notices))]
    assert first == again
    assert len(set(first)) == len(first)


@given(st.lists(entries, min_size=1, max_size=10), st.lists(entries, min_size=1, max_size=10))
def test_a_statement_never_shares_an_identity_with_a_different_entry(day1, day2):
    keys1 = {entry_key(n): n for n in assign_identities(day1)}
    for n in assign_identities(day2):
        same = keys1.get(entry_key(n))
        if same is not None and n.entry_ref is None:
            # a fingerprint only repeats for the same entry seen again
            assert (
                same.booking_date,
                same.amount_cents,
                same.direction,
                same.remittance,
                same.statement_ref,
            ) == (n.booking_date, n.amount_cents, n.direction, n.remittance, n.statement_ref)


@given(st.sampled_from(["EREF", "NONREF", "N", "X", "XXXXXXXXXX", "0000000", "NOTPROVIDED"]))
def test_placeholders_are_never_identities(ref):
    assert is_placeholder(ref, 4)


@given(st.from_regex(r"[A-Z]{2}[0-9]{2}[0-9A-Z]{12,26}", fullmatch=True))
def test_a_masked_iban_matches_its_own_visible_parts_only(iban):
    masked = iban[:4] + "****" + iban[-4:]
    assert masked_account_matches(masked, iban)
    other_end = iban[:-1] + ("0" if iban[-1] != "0" else "1")
    assert not masked_account_matches(masked, other_end)
    assert not masked_account_matches("****" + iban[-4:], iban)  # too little to tell
