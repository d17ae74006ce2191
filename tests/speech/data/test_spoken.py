"""Spoken forms of numbers, digits, dates, money and emails (table-driven)."""

from __future__ import annotations

import random

import pytest

from speech.data import spoken


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "zero"),
        (7, "seven"),
        (13, "thirteen"),
        (40, "forty"),
        (42, "forty two"),
        (100, "one hundred"),
        (123, "one hundred twenty three"),
        (1000, "one thousand"),
        (2024, "two thousand twenty four"),
        (1500000, "one million five hundred thousand"),
    ],
)
def test_number(n, words):
    assert spoken.number(n) == words


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (1, "first"),
        (2, "second"),
        (3, "third"),
        (12, "twelfth"),
        (20, "twentieth"),
        (21, "twenty first"),
        (30, "thirtieth"),
    ],
)
def test_ordinal(n, words):
    assert spoken.ordinal(n) == words


@pytest.mark.parametrize(
    ("y", "words"),
    [
        (1984, "nineteen eighty four"),
        (2005, "two thousand five"),
        (1900, "nineteen hundred"),
        (1907, "nineteen oh seven"),
    ],
)
def test_year(y, words):
    assert spoken.year(y) == words


def test_digits_oh_and_double():
    rng = random.Random(0)
    assert spoken.digits("0123", rng, oh=1.0, double=0.0) == "oh one two three"
    assert spoken.digits("0123", rng, oh=0.0, double=0.0) == "zero one two three"
    assert spoken.digits("5559", rng, oh=0.0, double=1.0) == "double five five nine"


def test_money_and_date_and_email():
    rng = random.Random(0)
    assert spoken.money(4250) == "forty two dollars and fifty cents"
    assert spoken.money(100) == "one dollar"
    assert spoken.date(3, 3, 1984) == "march third nineteen eighty four"
    assert spoken.email("john.smith@example.com", rng) == "john dot smith at example dot com"
    assert spoken.email("j_doe42@mail.org", rng) == "j underscore doe forty two at mail dot org"


def test_number_out_of_range():
    with pytest.raises(ValueError, match="out of range"):
        spoken.number(-1)


def test_normalize():
    assert spoken.normalize("  Hello, World!  It's 5 ") == "hello world it's"


@pytest.mark.parametrize(
    "written, said",
    [
        ("Book a table for 18 in Denver.", "book a table for eighteen in denver"),
        ("Set an alarm for 7:30, please", "set an alarm for seven thirty please"),
        ("at 7:05", "at seven oh five"),
        ("It costs $4.50?", "it costs four dollars and fifty cents"),
        ("Call 555-1234 on the 3rd", "call five five five one two three four on the third"),
        ("born in 1984", "born in nineteen eighty four"),
        ("25% of 300", "twenty five percent of three hundred"),
        ("PIN 0427", "pin zero four two seven"),
        ("", ""),
    ],
)
def test_from_written_reads_a_whisper_transcript_aloud(written, said):
    assert spoken.from_written(written) == said
