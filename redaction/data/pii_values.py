"""Values for the held-out PII evaluation set, each in a spoken and a written (Whisper-like) form.

This module is written independently of the detector (``redaction.pii``): it spells numbers its
own way and draws names, places, streets and organisations from pools that are split into two
disjoint halves by a stable hash of the value, one for ``dev`` and one for ``test``.

Names come from Faker's locale lists. Some locales (:data:`HELD_OUT_LOCALES`) never enter the
detector's gazetteer (see ``redaction/pii/data/build_gazetteers.py``), so part of every split is
made of names the detector has never seen, reachable only through context.
"""

from __future__ import annotations

import hashlib
import random
import unicodedata
from dataclasses import dataclass


def words(text: str, sep: str | None = None) -> tuple[str, ...]:
    """A tuple of the words of a long literal (keeps word lists readable)."""
    return tuple(text.split(sep))


ONES = words(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
)
TENS = words("_ _ twenty thirty forty fifty sixty seventy eighty ninety")
ORDINAL_WORD = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth", "nine": "ninth", "twelve": "twelfth"}  # fmt: skip
MONTHS = words(
    "january february march april may june july august september october november december"
)

# Faker locales whose names the gazetteer is built from, and locales kept out of it.
NAME_LOCALES = ("en_US", "en_GB", "en_IN", "es_MX", "en_NG", "fr_FR", "de_DE")
HELD_OUT_LOCALES = ("it_IT", "pl_PL", "sv_SE", "nl_NL")


@dataclass(frozen=True)
class Value:
    """One slot filler: the words as spoken (lower case, no punctuation) and as Whisper writes them."""

    spoken: tuple[str, ...]
    written: tuple[str, ...]


def val(spoken: str, written: str) -> Value:
    """A Value from a spoken and a written string (split on spaces)."""
    return Value(tuple(spoken.split()), tuple(written.split()))


def split_of(value: str) -> str:
    """``dev`` or ``test``: a stable partition of value pools (md5, not Python's salted hash)."""
    return "dev" if hashlib.md5(value.encode()).digest()[0] % 2 == 0 else "test"


# ----------------------------------------------------------------------------- numbers in words
def say_int(n: int, rng: random.Random | None = None) -> str:
    """Cardinal words for ``0 <= n < 10**7``; with ``rng``, "and" after hundreds sometimes."""
    use_and = rng is not None and rng.random() < 0.3
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else " " + ONES[n % 10])
    if n < 1000:
        rest = n % 100
        head = ONES[n // 100] + " hundred"
        return head if rest == 0 else head + (" and " if use_and else " ") + say_int(rest)
    for size, name in ((10**6, "million"), (1000, "thousand")):
        if n >= size:
            rest = n % size
            head = say_int(n // size) + " " + name
            if rest == 0:
                return head
            joiner = " and " if use_and and rest < 100 else " "
            return head + joiner + say_int(rest, rng)
    raise ValueError(n)


def say_ordinal(n: int) -> str:
    """``23`` -> "twenty third"."""
    words = say_int(n).split()
    last = words[-1]
    words[-1] = ORDINAL_WORD.get(last) or (
        last[:-1] + "ieth" if last.endswith("y") else last + "th"
    )
    return " ".join(words)


def ordinal_suffix(n: int) -> str:
    """``23`` -> "23rd"."""
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}" + {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def say_digits(s: str, rng: random.Random, *, oh: float = 0.5, repeat: float = 0.2) -> str:
    """Digit by digit; zero as "oh" sometimes; runs as "double"/"triple" sometimes."""
    out: list[str] = []
    i = 0
    while i < len(s):
        d = s[i]
        word = "oh" if d == "0" and rng.random() < oh else ONES[int(d)]
        run = 1
        while i + run < len(s) and s[i + run] == d and run < 3:
            run += 1
        if run >= 2 and rng.random() < repeat:
            out += ["triple" if run == 3 else "double", word]
            i += run
        else:
            out.append(word)
            i += 1
    return " ".join(out)


def say_pairs(s: str, rng: random.Random) -> str:
    """A 2- or 4-digit group read as numbers: ``1234`` -> twelve thirty four, ``0512`` -> oh five twelve."""
    out = []
    for j in range(0, len(s), 2):
        p = s[j : j + 2]
        if len(p) == 1 or p[0] == "0":
            out.append(say_digits(p, rng, oh=0.8, repeat=0))
        else:
            out.append(say_int(int(p)))
    return " ".join(out)


def say_year(y: int, rng: random.Random) -> str:
    """``1984`` -> "nineteen eighty four"; 2000s as "two thousand (and) five"."""
    if 2000 <= y < 2010 or (y >= 2010 and rng.random() < 0.3):
        return say_int(y, rng)
    hi, lo = divmod(y, 100)
    return (
        say_int(hi) + " " + ("hundred" if lo == 0 else "oh " + ONES[lo] if lo < 10 else say_int(lo))
    )


def say_house(n: int, rng: random.Random) -> str:
    """House numbers: 123 -> "one twenty three" (mostly), "one two three" or the cardinal."""
    s = str(n)
    r = rng.random()
    if n < 100 or r < 0.15:
        return say_int(n, rng)
    if r < 0.3:
        return say_digits(s, rng, oh=0.7, repeat=0)
    if n < 1000:
        rest = n % 100
        tail = say_int(rest) if rest >= 10 else "oh " + ONES[rest] if rest else "hundred"
        return ONES[n // 100] + " " + tail
    return say_pairs(s, rng)


def say_small(n: int, rng: random.Random, p_words: float = 0.5) -> str:
    """How Whisper writes a small non-PII number: digits, or words below ten sometimes."""
    return say_int(n) if n < 10 and rng.random() < p_words else str(n)


def money(rng: random.Random, *, bare: bool = False) -> Value:
    """A money amount. ``bare``: a price said without a currency word ("four ninety nine")."""
    if bare:
        dollars, cents = rng.choice([(rng.randint(1, 99), rng.choice([49, 95, 99])), (rng.randint(1, 9), 99)])  # fmt: skip
        return val(f"{say_int(dollars)} {say_int(cents)}", f"${dollars}.{cents:02d}")
    kind = rng.random()
    if kind < 0.45:
        d = rng.choice([rng.randint(2, 100), rng.randint(1, 40) * 5, rng.randint(1, 30) * 50])
        unit = "bucks" if rng.random() < 0.2 else "dollars"
        written = f"${d:,}" if rng.random() < 0.8 else f"{d:,} dollars"
        return val(f"{say_int(d, rng)} {unit}", written)
    if kind < 0.75:
        d, c = rng.randint(1, 500), rng.randint(1, 99)
        return val(
            f"{say_int(d, rng)} dollars and {say_int(c)} cents",
            f"${d:,}.{c:02d}",
        )
    if kind < 0.9:
        d = rng.randint(1, 30) * 100 + rng.choice([0, 0, 50])
        return val(f"{say_int(d, rng)} dollars", f"${d:,}")
    cur, sym = rng.choice([("euros", "€"), ("pounds", "£")])
    d = rng.randint(5, 900)
    return val(f"{say_int(d, rng)} {cur}", f"{sym}{d}")


# ----------------------------------------------------------------------------- identifiers
def luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    """A ``length``-digit number starting with ``prefix`` whose Luhn check digit is right."""
    body = prefix + "".join(str(rng.randint(0, 9)) for _ in range(length - len(prefix) - 1))
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


def phone(rng: random.Random) -> Value:
    """A US phone number: 10 digits, 7, or 1 + 10 (some toll-free), in several spoken and written forms."""
    area = f"{rng.randint(2, 9)}{rng.randint(0, 8)}{rng.randint(0, 9)}"
    exch = f"{rng.randint(2, 9)}{rng.randint(0, 9)}{rng.randint(0, 9)}"
    line = f"{rng.randint(0, 9999):04d}"
    kind = rng.random()
    groups = [area, exch, line]
    lead = ""
    if kind < 0.15:
        groups = [exch, line]
    elif kind < 0.27:
        lead = "1"
        if rng.random() < 0.5:
            groups[0] = rng.choice(["800", "888", "877"])
    spoken = []
    if lead:
        spoken.append("one")
    for j, g in enumerate(groups):
        if g in ("800", "888", "877") and j == 0 and lead and rng.random() < 0.6:
            spoken.append(
                say_digits(g[0], rng) + " hundred" if g == "800" else say_digits(g, rng, repeat=0.6)
            )
        elif len(g) == 4 and rng.random() < 0.2:
            spoken.append(say_pairs(g, rng))
        else:
            spoken.append(say_digits(g, rng))
    fmt = rng.random()
    if len(groups) == 2:
        written = f"{groups[0]}-{groups[1]}"
    elif fmt < 0.45:
        written = "-".join(groups)
    elif fmt < 0.7:
        written = f"({groups[0]}) {groups[1]}-{groups[2]}"
    elif fmt < 0.85:
        written = " ".join(groups)
    else:
        written = "".join(groups)
    if lead:
        written = ("1-" if "-" in written[:4] else "+1 ") + written
    return val(" ".join(spoken), written)


def card(rng: random.Random) -> Value:
    """A Luhn-valid Visa, Mastercard, Discover or Amex number, in groups."""
    kind = rng.random()
    if kind < 0.45:
        num = luhn_complete("4", 16, rng)
    elif kind < 0.75:
        num = luhn_complete(str(rng.randint(51, 55)), 16, rng)
    elif kind < 0.87:
        num = luhn_complete("6011", 16, rng)
    else:
        num = luhn_complete(rng.choice(["34", "37"]), 15, rng)
    groups = [num[:4], num[4:10], num[10:]] if len(num) == 15 else [num[i : i + 4] for i in range(0, 16, 4)]  # fmt: skip
    pairs = rng.random() < 0.1
    spoken = " ".join(say_pairs(g, rng) if pairs and len(g) == 4 else say_digits(g, rng, repeat=0.15) for g in groups)  # fmt: skip
    sep = rng.choice([" ", " ", "-", ""])
    return val(spoken, sep.join(groups))


def last4(rng: random.Random) -> Value:
    """Four digits (a card's or an SSN's last four)."""
    s = f"{rng.randint(0, 9999):04d}"
    return val(say_digits(s, rng) if rng.random() < 0.8 else say_pairs(s, rng), s)


def ssn(rng: random.Random) -> Value:
    """A US social security number that follows the SSA's rules."""
    area = rng.choice([rng.randint(1, 665), rng.randint(667, 899)])
    s = f"{area:03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"
    parts = [s[:3], s[3:5], s[5:]]
    spoken = " ".join(say_digits(p, rng, repeat=0.15) for p in parts)
    written = rng.choice(["-".join(parts), "-".join(parts), " ".join(parts), s])
    return val(spoken, written)


def date_of_birth(rng: random.Random) -> Value:
    """A birth date between 1940 and 2008 in one of several spoken/written shapes."""
    y, m, d = rng.randint(1940, 2008), rng.randint(1, 12), rng.randint(1, 28)
    month = MONTHS[m - 1]
    kind = rng.random()
    if kind < 0.55:
        spoken = (
            f"{month} {say_ordinal(d) if rng.random() < 0.85 else say_int(d)} {say_year(y, rng)}"
        )
        written = f"{month.title()} {ordinal_suffix(d) if rng.random() < 0.4 else d}, {y}"
    elif kind < 0.75:
        spoken = f"the {say_ordinal(d)} of {month} {say_year(y, rng)}"
        written = f"the {ordinal_suffix(d)} of {month.title()} {y}"
    elif kind < 0.9:
        spoken = f"{month} {say_ordinal(d)}"
        written = f"{month.title()} {ordinal_suffix(d) if rng.random() < 0.5 else d}"
    else:
        mm, dd, yy = f"{m:02d}", f"{d:02d}", str(y)
        spoken = f"{say_digits(mm, rng, oh=0.9)} {say_digits(dd, rng, oh=0.9)} {say_year(y, rng)}"
        written = f"{mm}/{dd}/{yy}"
    return val(spoken, written)


def fold(text: str) -> str:
    """ASCII lower case: accents dropped (``Łukasz`` -> ``lukasz``)."""
    text = text.lower().translate(
        str.maketrans({"ł": "l", "ß": "ss", "đ": "d", "ø": "o", "æ": "ae"})
    )
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
