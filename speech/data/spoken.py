"""Written values to the words people say: numbers, digit strings, emails, dates, money.

Every function returns lower-case words separated by single spaces, using only
letters and apostrophes, so that TTS engines, aligners and tokenizers agree on them.
"""

from __future__ import annotations

import random
import re

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_ORD = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
DIGITS = _ONES[:10]


def number(n: int) -> str:
    """Cardinal number in words, 0 <= n < 10**9 (``123`` -> ``one hundred twenty three``)."""
    if not 0 <= n < 10**9:
        raise ValueError(f"number out of range: {n}")
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + number(rest))
    for size, name in ((10**6, "million"), (1000, "thousand")):
        if n >= size:
            rest = n % size
            return number(n // size) + " " + name + ("" if rest == 0 else " " + number(rest))
    raise AssertionError  # unreachable


def ordinal(n: int) -> str:
    """``3`` -> ``third``, ``21`` -> ``twenty first``."""
    words = number(n).split()
    last = words[-1]
    if last in _ORD:
        words[-1] = _ORD[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def digits(s: str, rng: random.Random, *, oh: float = 0.5, double: float = 0.4) -> str:
    """A digit string read digit by digit: zero as "oh" (sometimes), pairs as "double five"."""
    ds = [c for c in s if c.isdigit()]
    out: list[str] = []
    i = 0
    while i < len(ds):
        word = "oh" if ds[i] == "0" and rng.random() < oh else DIGITS[int(ds[i])]
        if i + 1 < len(ds) and ds[i + 1] == ds[i] and rng.random() < double:
            out += ["double", word]
            i += 2
        else:
            out.append(word)
            i += 1
    return " ".join(out)


def year(y: int) -> str:
    """``1984`` -> ``nineteen eighty four``, ``2005`` -> ``two thousand five``."""
    if 2000 <= y < 2010:
        return number(y)
    hi, lo = divmod(y, 100)
    return (
        number(hi)
        + " "
        + ("hundred" if lo == 0 else ("oh " + _ONES[lo] if lo < 10 else number(lo)))
    )


def date(month: int, day: int, y: int) -> str:
    return f"{MONTHS[month - 1]} {ordinal(day)} {year(y)}"


def money(cents: int) -> str:
    """``4250`` -> ``forty two dollars and fifty cents``."""
    dollars, c = divmod(cents, 100)
    out = number(dollars) + (" dollar" if dollars == 1 else " dollars")
    if c:
        out += " and " + number(c) + (" cent" if c == 1 else " cents")
    return out


_SYMBOLS = {".": "dot", "_": "underscore", "-": "dash", "@": "at", "+": "plus"}


def spell_token(token: str, rng: random.Random) -> str:
    """An email/user-name piece as spoken: words kept, digit runs read out, symbols named."""
    out: list[str] = []
    for piece in re.findall(r"[a-z]+|\d+|.", token.lower()):
        if piece.isalpha():
            out.append(piece)
        elif piece.isdigit():
            out.append(
                digits(piece, rng, oh=0.3, double=0.2) if len(piece) > 2 else number(int(piece))
            )
        elif piece in _SYMBOLS:
            out.append(_SYMBOLS[piece])
    return " ".join(out)


def email(address: str, rng: random.Random) -> str:
    """``john.smith@example.com`` -> ``john dot smith at example dot com``."""
    user, _, domain = address.lower().partition("@")
    return spell_token(user, rng) + " at " + spell_token(domain, rng)


def normalize(text: str) -> str:
    """Lower-case, keep letters and apostrophes, collapse spaces."""
    return " ".join(re.sub(r"[^a-z' ]+", " ", text.lower()).split())


def from_written(text: str) -> str:
    """A written transcript (Whisper's: digits, symbols, case, punctuation) in the corpus's
    spoken form, for scoring against spoken references: ``$4.50`` -> ``four dollars and
    fifty cents``, ``3rd`` -> ``third``, ``7:30`` -> ``seven thirty``, ``25%`` -> ``twenty
    five percent``, ``1984`` -> ``nineteen eighty four`` (four digits from 1100 to 2099 read as
    a year), ``555-1234`` -> digit by digit, other numbers as cardinals.

    Numbers can be said in several ways ("eighty two seventy seven" and "8277"), so a
    WER against spoken references still counts some of them as errors: compare methods on the
    same references rather than reading the WER as absolute.
    """
    t = text.lower().replace(",", " , ")

    def _money(m: re.Match) -> str:
        cents = int(m.group(1).replace(" ", "")) * 100 + int((m.group(2) or "0").ljust(2, "0"))
        return f" {money(cents)} "

    t = re.sub(r"\$\s?(\d+)(?:\.(\d{1,2}))?", _money, t)
    t = re.sub(r"(\d+)(?:st|nd|rd|th)\b", lambda m: f" {ordinal(int(m.group(1)))} ", t)
    t = re.sub(
        r"\b(\d{1,2}):(\d{2})\b",
        lambda m: (
            f" {number(int(m.group(1)))} "
            + (
                ""
                if m.group(2) == "00"
                else ("oh " if m.group(2)[0] == "0" else "") + number(int(m.group(2)))
            )
            + " "
        ),
        t,
    )
    t = re.sub(r"(\d+)\s?%", r" \1 percent ", t)
    t = re.sub(
        r"\d+(?:[-.]\d+)+",
        lambda m: " " + " ".join(DIGITS[int(c)] for c in m.group(0) if c.isdigit()) + " ",
        t,
    )

    def _number(m: re.Match) -> str:
        s = m.group(0)
        n = int(s)
        if len(s) == 4 and 1100 <= n < 2100:
            return f" {year(n)} "
        if len(s) > 6 or (len(s) > 1 and s[0] == "0"):
            return " " + " ".join(DIGITS[int(c)] for c in s) + " "
        return f" {number(n)} "

    t = re.sub(r"\d+", _number, t)
    return normalize(t)
