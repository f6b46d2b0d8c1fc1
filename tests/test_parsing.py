"""Property tests of the parsers of what people type (amounts, dates, phone numbers)."""

from __future__ import annotations

import re
from calendar import monthrange
from datetime import date, timedelta
from decimal import Decimal

import pytest
from babel.numbers import format_decimal
from hypothesis import assume, example, given
from hypothesis import strategies as st

from mail.parsers.amounts import parse_bank_amount
from storage.errors import InvalidInput
from storage.parsing import (
    add_months,
    normalise_amount,
    parse_amount,
    parse_amount_cents,
    parse_date,
    parse_phone,
    to_cents,
)

CENTS = st.integers(min_value=1, max_value=10**14 - 1)  # up to 999 999 999 999.99


def _en(cents: int) -> str:
    return f"{Decimal(cents) / 100:,.2f}"  # 12,000.50


def _fr(cents: int, space: str) -> str:
    return _en(cents).translate({ord(","): space, ord("."): ","})  # 12 000,50


@given(CENTS)
@example(1_200_050)
@example(100_000)  # 1,000.00
def test_english_and_french_forms_round_trip(cents: int) -> None:
    for text in (
        _en(cents),
        _fr(cents, " "),
        _fr(cents, "\u00a0"),
        _fr(cents, "\u202f"),
        _fr(cents, "."),
        _en(cents).replace(",", ""),
    ):
        assert parse_amount_cents(text) == cents, text


@given(CENTS)
def test_babel_formatted_amounts_round_trip(cents: int) -> None:
    value = Decimal(cents) / 100
    for locale in ("fr_FR", "en_GB", "de_CH"):
        text = format_decimal(value, format="#,##0.00", locale=locale)
        assert parse_amount_cents(text) == cents, (locale, text)


@given(CENTS)
def test_chat_and_bank_files_read_amounts_with_the_one_parser(cents: int) -> None:
    value = Decimal(cents) / 100
    for locale, mark in (("fr_FR", ","), ("en_GB", "."), ("de_CH", ".")):
        text = format_decimal(value, format="#,##0.00", locale=locale)
        assert parse_bank_amount(f"{text} EUR", mark) == (parse_amount_cents(text), "EUR")
        grouped = re.sub(r"[\s\u00a0\u202f'’]", "", text)
        assert Decimal(normalise_amount(grouped, bank=True)) == value


@given(st.integers(min_value=1, max_value=10**11 - 1), st.integers(min_value=0, max_value=9))
def test_one_decimal_and_no_grouping(units: int, tenth: int) -> None:
    assert parse_amount(f"{units}.{tenth}") == Decimal(f"{units}.{tenth}0")
    assert parse_amount(f"{units},{tenth}") == Decimal(f"{units}.{tenth}0")
    assert parse_amount(str(units)) == Decimal(units)


@given(st.integers(min_value=1, max_value=999_999))
def test_thousands_suffix(n: int) -> None:
    assert parse_amount(f"{n}k") == Decimal(n * 1000)
    assert parse_amount(f"{n}K") == Decimal(n * 1000)


def test_a_lone_group_of_three_is_thousands_and_other_forms_are_decimals() -> None:
    assert parse_amount("12,000") == Decimal(12000)
    assert parse_amount("12.000") == Decimal(12000)
    assert parse_amount("0,50") == Decimal("0.50")
    with pytest.raises(InvalidInput):
        parse_amount("0,125")  # a leading 0 makes it a decimal mark; sub-cent is refused
    assert parse_amount("12000.5") == Decimal("12000.50")
    assert parse_amount("1.5M") == Decimal(1_500_000)
    assert parse_amount("99€") == Decimal(99)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "abc",
        "12abc",
        "1,2,3",
        "12,0000.5",
        "1.234,56.7",
        "12.",
        ",5",
        "-5",
        "0",
        "0,00",
        "1e5",
        "NaN",
        "Infinity",
        "12..5",
        "1 000 000 000 000",
        "12,345.678",
        "12kk",
    ],
)
def test_garbage_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_amount(text)
    assert err.value.code == "amount"


@given(st.text(max_size=20))
def test_any_text_gives_a_positive_cent_amount_or_one_invalid_input(text: str) -> None:
    try:
        value = parse_amount(text)
    except InvalidInput as err:
        assert err.code == "amount"
        return
    assert value > 0 and value == value.quantize(Decimal("0.01"))
    assert to_cents(value) == value * 100


@given(
    st.text(
        alphabet=st.characters(categories=["L"]).filter(lambda c: c.lower() not in "km"),
        min_size=1,
        max_size=5,
    ),
    st.integers(min_value=0, max_value=10**6),
)
def test_letters_mixed_in_are_refused(letters: str, number: int) -> None:
    assume(letters.strip())
    for text in (f"{letters}{number}", f"{number}{letters}", f"{number}{letters}{number}"):
        with pytest.raises(InvalidInput):
            parse_amount(text)


DATES = st.dates(min_value=date(2000, 1, 1), max_value=date(2098, 12, 31))


@given(DATES, DATES)
def test_absolute_dates_round_trip(day: date, today: date) -> None:
    assert parse_date(day.isoformat(), today) == day
    assert parse_date(f"{day.day}/{day.month}/{day.year}", today) == day
    assert parse_date(f"{day.day:02d}.{day.month:02d}.{day.year}", today) == day
    assert parse_date(f"{day.day}/{day.month}/{day.year % 100:02d}", today) == day


@given(DATES, DATES)
def test_day_and_month_is_the_next_such_date(day: date, today: date) -> None:
    assume((day.month, day.day) != (2, 29))
    result = parse_date(f"{day.day}/{day.month}", today)
    assert (result.day, result.month) == (day.day, day.month)
    assert today <= result < today + timedelta(days=367)


@given(DATES, st.integers(min_value=0, max_value=999))
def test_relative_dates(today: date, n: int) -> None:
    assert parse_date(f"+{n}d", today) == today + timedelta(days=n)
    assert parse_date(f"+{n}j", today) == today + timedelta(days=n)
    assert parse_date(f"+{n}w", today) == today + timedelta(weeks=n)
    assert parse_date("tomorrow", today) == parse_date("Demain", today) == today + timedelta(days=1)


@given(DATES, st.integers(min_value=0, max_value=999))
@example(date(2026, 1, 31), 1)
@example(date(2028, 1, 31), 1)
@example(date(2026, 3, 31), 1)
@example(date(2026, 12, 15), 1)
def test_month_offsets_are_calendar_months(today: date, n: int) -> None:
    result = parse_date(f"+{n}m", today)
    assert result == add_months(today, n)
    months = (result.year - today.year) * 12 + result.month - today.month
    assert months == n  # whole calendar months, never 30-day blocks
    last = monthrange(result.year, result.month)[1]
    assert result.day == min(today.day, last)  # same day, or the month's last day when shorter
    if n:
        assert parse_date(f"+{n - 1}m", today) < result


def test_month_offsets_clamp_to_the_end_of_the_month() -> None:
    assert parse_date("+1m", date(2026, 1, 31)) == date(2026, 2, 28)
    assert parse_date("+1m", date(2028, 1, 31)) == date(2028, 2, 29)
    assert parse_date("+1m", date(2026, 3, 31)) == date(2026, 4, 30)
    assert parse_date("+12m", date(2028, 2, 29)) == date(2029, 2, 28)
    assert parse_date("+2m", date(2026, 12, 31)) == date(2027, 2, 28)
    assert parse_date("+1m", date(2026, 7, 15)) == date(2026, 8, 15)
    with pytest.raises(InvalidInput):
        parse_date("+999m", date(9990, 1, 1))


@given(st.text(max_size=15), DATES)
@example("31/02/2026", date(2026, 1, 1))
@example("2026-13-01", date(2026, 1, 1))
@example("next week", date(2026, 1, 1))
def test_any_text_gives_a_date_or_one_invalid_input(text: str, today: date) -> None:
    try:
        parse_date(text, today)
    except InvalidInput as err:
        assert err.code == "date"


# 06 numbers in allocated ranges (libphonenumber: 060-062 and 064-068; 063x and 069x are
# only partly allocated, e.g. +33 6 90 00 00 00 is not a valid number).
MOBILE = st.tuples(st.sampled_from("01245678"), st.integers(0, 10**7 - 1)).map(lambda p: f"6{p[0]}{p[1]:07d}")


@given(MOBILE)
def test_french_mobile_numbers_normalise_to_one_e164(national: str) -> None:
    e164 = "+33" + national
    spaced = "0" + " ".join([national[0]] + [national[i : i + 2] for i in range(1, 9, 2)])
    for text in (
        "0" + national,
        spaced,
        e164,
        "+33 " + national,
        "0033" + national,
        spaced.replace(" ", "."),
        spaced.replace(" ", "-"),
    ):
        assert parse_phone(text, "FR") == e164, text
    assert parse_phone(e164, "US") == e164  # an international number ignores the region
    assert re.fullmatch(r"\+\d{8,15}", parse_phone(e164, "FR"))


@given(st.text(max_size=20))
@example("12")
@example("06 12")
@example("+33 6 12 34 56 78 90 12")
def test_any_text_gives_a_valid_e164_number_or_one_invalid_input(text: str) -> None:
    try:
        result = parse_phone(text, "FR")
    except InvalidInput as err:
        assert err.code == "phone"
        return
    assert re.fullmatch(r"\+\d{8,15}", result)
    assert parse_phone(result, "FR") == result  # normalising twice changes nothing
