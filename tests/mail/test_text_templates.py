"""Text/HTML notification templates, bank amounts and references (with property tests)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import iso11649
from stdnum.iso7064 import mod_97_10

from mail.parsers.amounts import parse_bank_amount
from mail.parsers.errors import ParseError, TemplateConfigError
from mail.parsers.references import find_invoice_numbers, find_rf_references
from mail.parsers.text import html_to_text, load_templates, parse_text

TEMPLATES = load_templates()

FRENCH = """Bonjour,

Vous avez reçu un virement sur votre compte.
Montant : {amount}
Émetteur : ACME SA
Libellé : Facture F2026-00042 RF18 5390 0754 7034
Date d'opération : 02/03/2026
IBAN de l'émetteur : FR76 3000 4000 0312 3456 7890 143

Votre banque
"""

HTML = """<html><head><style>td {{ color: red }}</style></head><body>
<p>Dear customer, you have received a payment from one of your payers.</p>
<table><tr><th>Amount</th><td>{amount}</td></tr>
<tr><th>From</th><td>Acme &amp; Sons Ltd</td></tr>
<tr><th>Reference</th><td>INV f2026 00042</td></tr>
<tr><th>Date</th><td>March 2, 2026</td></tr>
<tr><th>Transaction ID</th><td>TX-99887766</td></tr></table></body></html>"""


def test_a_french_notification_gives_one_credit_with_everything_the_bank_wrote():
    result = parse_text(
        FRENCH.format(amount="1 200,00 €"), sender="alertes@banque-exemple.fr", templates=TEMPLATES
    )

    (notice,) = result.notices
    assert result.template == "Banque Exemple (FR)"
    assert (notice.amount_cents, notice.currency) == (120000, "EUR")
    assert notice.payer_name == "ACME SA"
    assert notice.payer_iban == "FR7630004000031234567890143"
    assert notice.reference == "RF18539007547034"
    assert find_invoice_numbers(notice.remittance or "") == ["F2026-00042"]
    assert notice.booking_date == date(2026, 3, 2)


def test_an_html_notification_is_read_from_its_visible_text():
    text = html_to_text(HTML.format(amount="GBP 1,200.50"))
    assert "color" not in text

    result = parse_text(text, sender="no-reply@mail.examplebank.com", templates=TEMPLATES)

    (notice,) = result.notices
    assert (notice.amount_cents, notice.currency) == (120050, "GBP")
    assert notice.payer_name == "Acme & Sons Ltd"
    assert notice.booking_date == date(2026, 3, 2)
    assert notice.entry_ref == "TX-99887766"
    assert find_invoice_numbers(notice.remittance or "") == ["F2026-00042"]


def test_an_unknown_sender_or_a_non_payment_email_says_why():
    unknown = parse_text(FRENCH.format(amount="1,00 €"), sender="a@evil.example", templates=TEMPLATES)
    assert unknown.notices == []
    assert unknown.reason == "no bank template for sender evil.example"

    newsletter = parse_text(
        "Découvrez notre nouvelle offre ! Montant : 10,00 €",
        sender="alertes@banque-exemple.fr",
        templates=TEMPLATES,
    )
    assert newsletter.notices == []
    assert newsletter.reason == "Banque Exemple (FR): not a payment notification"


def test_a_lookalike_domain_is_not_the_bank():
    result = parse_text(
        FRENCH.format(amount="1,00 €"), sender="alertes@banque-exemple.fr.evil.com", templates=TEMPLATES
    )
    assert result.notices == []


def test_a_template_file_with_a_bad_regex_fails_loudly_naming_it(tmp_path):
    path = tmp_path / "banks.toml"
    path.write_text('[[template]]\nname = "Bad"\nsenders = ["b.fr"]\namount = "(unclosed"\n')
    with pytest.raises(TemplateConfigError, match="'Bad': amount: bad regular expression"):
        load_templates(path)
    path.write_text('[[template]]\nname = "NoAmount"\nsenders = ["b.fr"]\n')
    with pytest.raises(TemplateConfigError, match="amount: missing"):
        load_templates(path)


def test_a_custom_template_file_replaces_the_default(tmp_path):
    path = tmp_path / "banks.toml"
    path.write_text(
        '[[template]]\nname = "Mine"\nsenders = ["ma-banque.fr"]\n'
        "amount = 'Crédit de (%AMOUNT%)'\ndecimal_mark = \",\"\n"
    )
    templates = load_templates(path)
    result = parse_text("Crédit de 1.234,56 EUR reçu", sender="x@ma-banque.fr", templates=templates)
    assert [n.amount_cents for n in result.notices] == [123456]


# --- amounts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cents", "currency"),
    [
        ("1 200,00 €", 120000, "EUR"),
        ("1\u202f200,00\u00a0€", 120000, "EUR"),
        ("EUR 1,200.00", 120000, "EUR"),
        ("1.200,00 EUR", 120000, "EUR"),
        ("€1,200.00", 120000, "EUR"),
        ("CHF 1'200.50", 120050, "CHF"),
        ("+42,5 EUR", 4250, "EUR"),
        ("12", 1200, None),
    ],
)
def test_bank_amounts_in_french_and_english_forms(text, cents, currency):
    assert parse_bank_amount(text) == (cents, currency)


@pytest.mark.parametrize("text", ["", "EUR", "1,2,3", "1.200.00,5,5", "0,00 €", "1,2345"])
def test_unreadable_amounts_are_refused(text):
    with pytest.raises(ParseError):
        parse_bank_amount(text, ",")


def _group(integer: int, sep: str) -> str:
    text = str(integer)
    groups = []
    while len(text) > 3:
        groups.insert(0, text[-3:])
        text = text[:-3]
    groups.insert(0, text)
    return sep.join(groups)


STYLES = {
    "fr": (" ", ",", ","),
    "fr-nbsp": ("\u202f", ",", ","),
    "de": (".", ",", ","),
    "en": (",", ".", "."),
    "ch": ("'", ".", "."),
    "plain-fr": ("", ",", ","),
}


@given(
    cents=st.integers(min_value=1, max_value=99_999_999_999),
    style=st.sampled_from(sorted(STYLES)),
    currency=st.sampled_from(["€ after", "EUR after", "EUR before", "none", "$ before"]),
)
def test_any_amount_written_the_bank_way_reads_back_exactly(cents, style, currency):
    thousands, mark, template_mark = STYLES[style]
    number = f"{_group(cents // 100, thousands)}{mark}{cents % 100:02d}"
    symbol, _, position = currency.partition(" ")
    text = (
        number if symbol == "none" else f"{number} {symbol}" if position == "after" else f"{symbol} {number}"
    )

    parsed_cents, parsed_currency = parse_bank_amount(text, template_mark)  # type: ignore[arg-type]

    assert parsed_cents == cents
    assert parsed_currency == {"€": "EUR", "EUR": "EUR", "$": "USD", "none": None}[symbol]


@given(cents=st.integers(min_value=1, max_value=9_999_999_999))
def test_any_french_amount_goes_through_the_french_template(cents):
    amount = f"{_group(cents // 100, ' ')},{cents % 100:02d} €"
    result = parse_text(FRENCH.format(amount=amount), sender="alertes@banque-exemple.fr", templates=TEMPLATES)
    assert [n.amount_cents for n in result.notices] == [cents]


# --- references ----------------------------------------------------------------------


@given(
    year=st.integers(min_value=2000, max_value=2099),
    seq=st.integers(min_value=1, max_value=99_999),
    sep=st.sampled_from(["-", " ", "", " - ", "/", "."]),
    lead=st.sampled_from(["F", "f"]),
    pad=st.booleans(),
    before=st.sampled_from(["", "Facture ", "INV:", "paiement fact. ", "ref "]),
    after=st.sampled_from(["", " merci", ", F", ".", " 12,00 EUR"]),
)
def test_an_invoice_number_is_found_however_it_is_typed(year, seq, sep, lead, pad, before, after):
    digits = f"{seq:05d}" if pad or sep == "" else str(seq)
    text = f"{before}{lead}{year}{sep}{digits}{after}"
    assert find_invoice_numbers(text) == [f"F{year}-{seq:05d}"]


def test_invoice_numbers_are_not_found_inside_other_words_or_numbers():
    assert find_invoice_numbers("REF2026-00042 and F2026-000421234 and F1999-00001") == []
    assert find_invoice_numbers("F2026-00042 F2026-00043 f2026 00042") == ["F2026-00042", "F2026-00043"]


@given(
    body=st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=21),
    grouped=st.booleans(),
    lower=st.booleans(),
    before=st.sampled_from(["", "Ref ", "Facture 00042", "motif: "]),
    after=st.sampled_from(["", ", merci", ". IS THE REF", " / F2026-00001"]),
)
def test_an_rf_reference_is_found_written_compact_or_grouped(body, grouped, lower, before, after):
    reference = "RF" + mod_97_10.calc_check_digits(body + "RF") + body
    assert iso11649.is_valid(reference)
    written = " ".join(reference[i : i + 4] for i in range(0, len(reference), 4)) if grouped else reference
    if lower:
        written = written.lower()
    found = find_rf_references(f"{before}{written}{after}")
    assert found[:1] == [reference]


@pytest.mark.parametrize(
    ("sender", "body", "account"),
    [
        (
            "alertes@banque-exemple.fr",
            "Vous avez reçu un virement\nCompte crédité : FR76 3000 6000 0112 3456 7890 189\n"
            "Montant : 12,00 €\n",
            "FR7630006000011234567890189",
        ),
        (
            "alerts@examplebank.co.uk",
            "You have received a payment\nAccount credited: GB29 NWBK 6016 1331 9268 19\nAmount: GBP 12.00\n",
            "GB29NWBK60161331926819",
        ),
        ("alertes@banque-exemple.fr", "Vous avez reçu un virement\nMontant : 12,00 €\n", None),
        (
            "alertes@banque-exemple.fr",  # masked by the bank: kept masked, compared later
            "Vous avez reçu un virement\nCompte crédité : FR76 **** 0189\nMontant : 12,00 €\n",
            "FR76****0189",
        ),
    ],
)
def test_the_shipped_templates_read_the_account_credited(sender, body, account):
    (notice,) = parse_text(body, sender=sender, templates=TEMPLATES).notices
    assert notice.account_iban == account
