"""A payment's notes are catalogue messages with raw parameters, said in the reader's
language at the moment they are read: amounts through Babel, bank references escaped."""

from __future__ import annotations

import json

from storage.i18n import said
from storage.payments.notes import (
    MAX_CANDIDATES,
    amounts_disagree,
    batch_without_amounts,
    english,
    invoices_do_not_add_up,
    notes_of,
    said_notes,
)


def test_a_note_keeps_raw_values_and_survives_json() -> None:
    note = invoices_do_not_add_up(1_500_00, "eur", [("F2026-00081", "issued", 1_200_00, "EUR")] * 2)
    assert json.loads(json.dumps(note)) == note
    assert note["params"]["amount_cents"] == 1_500_00 and note["params"]["currency"] == "EUR"
    assert note["params"]["candidates"][0]["params"]["open_cents"] == 1_200_00


def test_amounts_are_said_in_the_readers_language() -> None:
    note = amounts_disagree("E-1", 1_450_00, 1_500_00, "EUR")
    assert said("fr", note) == (
        "écriture E-1 : ses opérations totalisent 1\u202f450,00\xa0€, l'écriture indique 1\u202f500,00\xa0€"
    )
    assert said("en", note) == "entry E-1: its transactions add up to €1,450.00, the entry says €1,500.00"
    assert amounts_disagree("E-1", 1_00, 2_00, "CHF")["params"]["currency"] == "CHF"
    assert "CHF" in said("en", amounts_disagree("E-1", 1_00, 2_00, "CHF"))


def test_a_bank_reference_is_escaped_in_chat_and_kept_in_plain_text() -> None:
    note = batch_without_amounts("<b>X&Y</b>", 3)
    assert "&lt;b&gt;X&amp;Y&lt;/b&gt;" in said_notes("en", [note])[0]
    assert (
        english([note])
        == "entry <b>X&Y</b> batches 3 transactions without their amounts: read as one payment"
    )
    assert batch_without_amounts(None, 2)["params"]["entry"] == "?"
    assert len(batch_without_amounts("R" * 500, 2)["params"]["entry"]) == 40


def test_a_long_list_of_candidates_is_bounded_and_counted() -> None:
    many = [(f"F2026-{n:05d}", "sent", 10_00, "EUR") for n in range(1, 31)]
    note = invoices_do_not_add_up(5_00, "EUR", many)
    assert note["params"]["count"] == 30 and len(note["params"]["candidates"]) == MAX_CANDIDATES
    text = said("fr", note)
    assert (
        text.startswith("cite 30 factures") and "F2026-00010 (envoyée" in text and "F2026-00011" not in text
    )


def test_a_note_stored_by_another_version_is_said_by_its_key_and_rubbish_is_left_out() -> None:
    assert said("fr", {"key": "paynote.from_the_future", "params": {"x": 1}}) == "paynote.from_the_future"
    assert said("en", {"key": "paynote.amounts_disagree", "params": {}}) == "paynote.amounts_disagree"
    assert notes_of(None) == [] and notes_of([{"key": "k"}, "x", {"no": "key"}]) == [{"key": "k"}]
    assert english([]) is None
