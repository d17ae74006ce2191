"""The spoken-number normalizer: digits, and the words each digit came from."""

from __future__ import annotations

import pytest

from redaction.numbers import clean, normalize, number_runs, written_number


def w(text: str) -> list[str]:
    return text.split()


CASES = [
    # words, digits of each run
    ("five five five one two three four", ["5551234"]),
    ("oh", []),  # alone, "oh" is an interjection
    ("ten oh five", ["1005"]),
    ("double five", ["55"]),
    ("triple two oh", ["2220"]),
    ("double oh seven", ["007"]),
    ("one twenty three", ["123"]),
    ("nineteen eighty four", ["1984"]),
    ("nineteen oh five", ["1905"]),
    ("two thousand and five", ["2005"]),
    ("two thousand nineteen", ["2019"]),
    ("twenty twenty", ["2020"]),
    ("one hundred twenty three", ["123"]),
    ("a hundred and fifty", ["150"]),
    ("twelve hundred", ["1200"]),
    ("one million two hundred thousand", ["1200000"]),
    ("forty five twenty one", ["4521"]),
    ("four ninety nine", ["499"]),
    ("one eight hundred five five five one two one two", ["18005551212"]),
    ("twelve times fourteen", ["12", "14"]),
    ("555-1234", ["5551234"]),
    ("(555) 123-4567", ["5551234567"]),
    ("4111 1111 1111 1111", ["4111111111111111"]),
    ("5 5 5", ["555"]),
    ("1,250 dollars", ["1250"]),
    ("twenty-five minutes", ["25"]),
    ("forty-second street", ["42"]),
]


@pytest.mark.parametrize(("text", "digits"), CASES)
def test_digits(text, digits):
    assert [r.digits for r in number_runs(text.split())] == digits


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("twenty five", 25),
        ("two thousand and five", 2005),
        ("a hundred and fifty", 150),
        ("nineteen eighty four", None),
    ],
)
def test_value_only_for_one_cardinal(text, value):
    (run,) = number_runs(text.split())
    assert run.value == value


def test_digit_mapping_back_to_words():
    words = w("call five five five one two three four now")
    (run,) = number_runs(words)
    assert (run.start, run.end) == (1, 8)
    assert run.word_span(3, 7) == (4, 8)  # the last four digits: "one two three four"
    assert run.digit_words()[0] == (1, 2)


def test_chunks_are_never_split():
    # "twenty three" says two digits; asking for one of them returns both words
    (run,) = number_runs(w("one twenty three maple street"))
    assert run.digits == "123"
    assert run.word_span(2, 3) == (1, 3)
    assert run.word_span(0, 1) == (0, 1)


def test_double_maps_to_both_words():
    (run,) = number_runs(w("double five one"))
    assert run.digit_words() == [(0, 2), (0, 2), (2, 3)]


def test_normalize_tokens_and_spans():
    n = normalize(w("Call John at 555-1234. Thanks"))
    assert n.tokens == ("call", "john", "at", "5551234", "thanks")
    assert n.word_spans[3] == (3, 4)
    spoken = normalize(w("set a timer for twenty five minutes"))
    assert spoken.text == "set a timer for 25 minutes"
    assert spoken.word_spans[4] == (4, 6)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("$20", "money"),
        ("$4.99", "money"),
        ("€291", "money"),
        ("10%", "percent"),
        ("7:30", "time"),
        ("03/04/1984", "date"),
        ("3rd", "ordinal"),
        ("4.5", "decimal"),
        ("1980s", "decade"),
        ("555-1234", "digits"),
    ],
)
def test_written_kinds(text, kind):
    assert written_number(text)[1] == kind


def test_written_kinds_stand_alone():
    runs = number_runs(w("Born March 3rd, 1984."))
    assert [(r.digits, r.kind, r.ordinal) for r in runs] == [("3", "ordinal", True), ("1984", "digits", False)]  # fmt: skip


def test_sentence_end_breaks_a_run():
    assert [r.digits for r in number_runs(w("Call 555. 1234 later"))] == ["555", "1234"]


def test_ordinals():
    (run,) = number_runs(w("forty second street"))
    assert (run.digits, run.ordinal, run.end) == ("42", True, 2)


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("oh no", []),
        ("double check the oven", []),
        ("hundreds of them", []),
        ("a thousand", ["1000"]),
    ],
)
def test_words_that_are_numbers_only_in_context(text, digits):
    assert [r.digits for r in number_runs(text.split())] == digits


def test_clean_keeps_inner_punctuation():
    assert clean('"Smith,"') == "smith"
    assert clean("john.smith@example.com.") == "john.smith@example.com"
    assert clean("(555)") == "555"
