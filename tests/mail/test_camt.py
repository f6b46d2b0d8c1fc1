"""camt.053 / camt.054: batched transactions, versions, zip, debits, reversals, XML attacks."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest

from mail.notices import Direction
from mail.parsers.camt import parse_camt, parse_camt_zip
from mail.parsers.errors import ParseError, TooLarge, UnsafeDocument
from tests.mail.camt_builder import Entry, Tx, camt

ACME_IBAN = "FR7630004000031234567890143"
RF = "RF18539007547034"


def two_invoices_in_one_entry(version: int = 8) -> bytes:
    return camt(
        "054",
        [
            Entry(
                "1500.00",
                ref="BQ-2026-0001",
                txs=[
                    Tx("1200.00", name="ACME SA", iban=ACME_IBAN, ustrd=["Facture F2026-00042"]),
                    Tx("300.00", name="Bolt SARL", ref=RF),
                ],
            )
        ],
        version,
    )


def test_a_batched_entry_gives_one_notice_per_transaction_with_its_own_amount():
    result = parse_camt(two_invoices_in_one_entry())

    assert result.kind == "camt.054"
    acme, bolt = result.notices
    assert (acme.amount_cents, acme.currency, acme.direction) == (120000, "EUR", Direction.CREDIT)
    assert acme.payer_name == "ACME SA"
    assert acme.payer_iban == ACME_IBAN
    assert acme.remittance == "Facture F2026-00042"
    assert acme.reference is None
    assert acme.booking_date == date(2026, 3, 2)
    assert (bolt.amount_cents, bolt.payer_name, bolt.reference) == (30000, "Bolt SARL", RF)
    assert result.warnings == []


def test_batched_transactions_without_their_own_reference_get_distinct_entry_refs():
    acme, bolt = parse_camt(two_invoices_in_one_entry()).notices

    assert acme.entry_ref == "BQ-2026-0001/1"
    assert bolt.entry_ref == "BQ-2026-0001/2"
    # the same document read twice gives the same references (idempotent settling)
    assert [n.entry_ref for n in parse_camt(two_invoices_in_one_entry()).notices] == [
        "BQ-2026-0001/1",
        "BQ-2026-0001/2",
    ]


def test_a_transaction_reference_repeated_in_one_document_is_no_identity():
    doc = camt(
        "054",
        [Entry("20.00", ref="E1", txs=[Tx("10.00", tx_ref="T1"), Tx("10.00", tx_ref="T1")])],
    )
    # A reference the bank repeats identifies nothing: both fall back to their fingerprint,
    # numbered in document order so that re-reading gives the same identities.
    notices = parse_camt(doc).notices
    assert [(n.entry_ref, n.occurrence) for n in notices] == [(None, 1), (None, 2)]


@pytest.mark.parametrize("version", [2, 4, 6, 8, 10, 13])
def test_every_version_from_02_to_13_reads_the_same(version):
    notices = parse_camt(two_invoices_in_one_entry(version)).notices

    assert [(n.amount_cents, n.payer_name) for n in notices] == [
        (120000, "ACME SA"),
        (30000, "Bolt SARL"),
    ]


def test_a_document_without_namespace_is_read_too():
    doc = camt("054", [Entry("12.34", txs=[Tx(None, name="X")])], namespace=False)
    notices = parse_camt(doc).notices
    assert [(n.amount_cents, n.payer_name, n.entry_ref) for n in notices] == [(1234, "X", "ENTRY-1")]


def test_a_camt053_statement_lists_every_entry():
    doc = camt(
        "053",
        [
            Entry("99.90", ref="S-1", txs=[Tx("99.90", name="Durand", ustrd=["F2026-7"])]),
            Entry("10.00", ref="S-2", indicator="DBIT", txs=[Tx("10.00")]),
            Entry("5.00", ref=None, ntry_ref="N-3", info="Remise chèque F2026-00009"),
            Entry("1.00", ref="S-4", status="PDNG"),
            Entry("2.00", ref="S-5", booked="2026-03-05", booked_as_datetime=True),
        ],
        version=2,
    )

    result = parse_camt(doc)

    assert result.kind == "camt.053"
    assert [(n.entry_ref, n.amount_cents, n.direction) for n in result.notices] == [
        ("S-1", 9990, Direction.CREDIT),
        ("S-2", 1000, Direction.DEBIT),
        ("N-3", 500, Direction.CREDIT),
        ("S-5", 200, Direction.CREDIT),
    ]
    assert result.notices[2].remittance == "Remise chèque F2026-00009"  # AddtlNtryInf fallback
    assert result.notices[3].booking_date == date(2026, 3, 5)  # BookgDt/DtTm
    assert result.warnings == [{"key": "paynote.not_booked", "params": {"entry": "S-4", "status": "PDNG"}}]


def test_a_reversal_is_recorded_as_such_and_keeps_the_original_payer():
    doc = camt(
        "054",
        [Entry("1200.00", indicator="DBIT", reversal=True, txs=[Tx("1200.00", name="ACME SA")])],
    )
    (notice,) = parse_camt(doc).notices
    assert notice.direction is Direction.REVERSAL
    assert notice.payer_name == "ACME SA"


def test_an_rf_reference_written_in_the_free_text_is_picked_up():
    doc = camt("054", [Entry("10.00", txs=[Tx("10.00", ustrd=["Paiement RF18 5390 0754 7034 merci"])])])
    assert parse_camt(doc).notices[0].reference == RF


def test_batched_transactions_without_amounts_become_one_payment_with_a_warning():
    doc = camt("054", [Entry("30.00", ref="E9", txs=[Tx(None, name="A"), Tx(None, name="B")])])
    result = parse_camt(doc)
    assert [(n.amount_cents, n.entry_ref) for n in result.notices] == [(3000, "E9")]
    warning = {"key": "paynote.batch_without_amounts", "params": {"entry": "E9", "count": 2}}
    assert result.warnings == [warning]
    assert result.notices[0].warning == warning


def test_transactions_that_do_not_add_up_to_their_entry_are_read_with_a_warning_in_cents():
    doc = camt("054", [Entry("30.00", ref="E7", txs=[Tx("12.50", name="A"), Tx("15.00", name="B")])])
    result = parse_camt(doc)
    warning = {
        "key": "paynote.amounts_disagree",
        "params": {"entry": "E7", "total_cents": 2750, "amount_cents": 3000, "currency": "EUR"},
    }
    assert [(n.amount_cents, n.warning) for n in result.notices] == [(1250, warning), (1500, warning)]
    assert result.warnings == [warning]


def test_zipped_camt_files_are_all_read():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("day1.xml", two_invoices_in_one_entry())
        archive.writestr("readme.pdf", b"%PDF-1.4")
        archive.writestr("day2.xml", camt("053", [Entry("7.00", ref="Z")]))
    results = parse_camt_zip(buffer.getvalue(), max_bytes=1_000_000)
    assert [r.kind for r in results] == ["camt.054", "camt.053"]
    assert sum(len(r.notices) for r in results) == 3


def test_a_zip_member_over_the_limit_is_refused_without_inflating_it():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.xml", b"<a>" + b" " * 2_000_000 + b"</a>")
    with pytest.raises((TooLarge, UnsafeDocument)):
        parse_camt_zip(buffer.getvalue(), max_bytes=1_000_000)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<Document><BkToCstmrStmt><Stmt><Ntry><AddtlNtryInf>&lol9;</AddtlNtryInf></Ntry></Stmt></BkToCstmrStmt></Document>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<Document><BkToCstmrStmt><Stmt><Ntry><AddtlNtryInf>&x;</AddtlNtryInf></Ntry></Stmt></BkToCstmrStmt></Document>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE Document SYSTEM "http://127.0.0.1:1/evil.dtd">
<Document/>"""


@pytest.mark.parametrize("payload", [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD])
def test_dtds_entities_and_external_references_are_refused(payload):
    with pytest.raises(UnsafeDocument) as error:
        parse_camt(payload)
    assert error.value.code.startswith("xml_")


def test_malformed_or_foreign_xml_is_a_parse_error_saying_so():
    with pytest.raises(ParseError, match="malformed XML"):
        parse_camt(b"<Document><BkToCstmrStmt>")
    with pytest.raises(ParseError, match="not a camt") as error:
        parse_camt(
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"><CstmrCdtTrfInitn/></Document>'
        )
    assert error.value.code == "not_camt"


def test_every_notice_names_the_account_of_its_statement():
    notices = parse_camt(two_invoices_in_one_entry()).notices
    assert [n.account_iban for n in notices] == ["FR7630006000011234567890189"] * 2
    other = two_invoices_in_one_entry().replace(
        b"<IBAN>FR7630006000011234567890189</IBAN>", b"<IBAN>FR76 3000 4000 0312 3456 7890 143</IBAN>"
    )
    assert {n.account_iban for n in parse_camt(other).notices} == {ACME_IBAN}
    without = two_invoices_in_one_entry().replace(b"<Id><IBAN>FR7630006000011234567890189</IBAN></Id>", b"")
    assert {n.account_iban for n in parse_camt(without).notices} == {None}
