"""Spoken numbers to digit strings, keeping every digit's words.

Transcripts say numbers as words ("five five five one two three four", "oh", "double five",
"triple two", "one twenty three", "nineteen eighty four", "two thousand and five") or, from
Whisper, as digits ("555-1234", "$20", "4111 1111 1111 1111", "3rd,"). :func:`number_runs`
finds each maximal run of number words and reads it as a digit string, the way a person would
write it down: the run is cut into *chunks*, each a cardinal phrase ("twenty three" -> ``23``,
"two thousand and five" -> ``2005``), a repeated digit ("double five" -> ``55``) or a written
number, and the chunks are concatenated ("nineteen eighty four" -> ``19`` + ``84``). Every chunk
keeps its word range, so a detection over any digits maps back to whole words.

    >>> run = number_runs("call five five five one two three four now".split())[0]
    >>> run.digits, run.start, run.end
    ('5551234', 1, 8)
    >>> run.word_span(3, 7)  # the last four digits
    (4, 8)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_LEAD = "\"'([{<«“‘`"
_TRAIL = ".,!?;:\"')]}>»”’…`"

UNITS = {"zero": 0, "nought": 0, "naught": 0, "oh": 0, "o": 0, "one": 1, "two": 2, "three": 3,
         "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}  # fmt: skip
TEENS = {"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
         "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}  # fmt: skip
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fourty": 40, "fifty": 50, "sixty": 60,
        "seventy": 70, "eighty": 80, "ninety": 90}  # fmt: skip
MULTIPLIERS = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}
REPEATS = {"double": 2, "triple": 3}
_ORD_UNITS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6,
              "seventh": 7, "eighth": 8, "ninth": 9}  # fmt: skip
_ORD_OTHER = {"tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
              "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
              "nineteenth": 19, "twentieth": 20, "thirtieth": 30, "fortieth": 40, "fiftieth": 50,
              "sixtieth": 60, "seventieth": 70, "eightieth": 80, "ninetieth": 90}  # fmt: skip
ORDINALS = {**_ORD_UNITS, **_ORD_OTHER}
_ZERO_WORDS = {"oh", "o"}  # numbers only next to other number words ("oh no" is not zero)

_MONEY = re.compile(r"^(?:[$€£]\d[\d,]*(?:\.\d{1,2})?|\d[\d,]*(?:\.\d{1,2})?[$€£])$")
_PERCENT = re.compile(r"^\d+(?:\.\d+)?%$")
_TIME = re.compile(r"^\d{1,2}:\d{2}(?:[ap]\.?m\.?)?$")
_DATE = re.compile(r"^\d{1,4}/\d{1,2}/\d{2,4}$")
_ORDINAL = re.compile(r"^(\d+)(?:st|nd|rd|th)$")
_DECIMAL = re.compile(r"^\d+\.\d+$")
_DIGITS = re.compile(r"^[+#]?\(?\d[\d\-.()/,]*$")


def clean(word: str) -> str:
    """A word lower-cased with surrounding punctuation removed (``"Smith,"`` -> ``smith``)."""
    return word.strip().lstrip(_LEAD).rstrip(_TRAIL).lower()


def ends_sentence(word: str) -> bool:
    """Whether Whisper ended a sentence on this word (``"5551234."``, ``"late?"``)."""
    w = word.rstrip("\"')]”’")
    return w.endswith(("?", "!")) or (w.endswith(".") and not re.search(r"\b[a-z]\.$", w.lower()))


def written_number(text: str) -> tuple[str, str] | None:
    """A cleaned word written with digits: ``(digits, kind)``, else ``None``.

    Kinds: ``digits`` (joins its neighbours: "555-1234", "1,250", "(555)"), and stand-alone
    ``money`` ("$4.99"), ``percent``, ``time`` ("7:30"), ``date`` ("03/04/1984"), ``ordinal``
    ("3rd"), ``decimal`` ("4.5"), ``decade`` ("1980s").
    """
    if not text or not any(c.isdigit() for c in text):
        return None
    digits = "".join(c for c in text if c.isdigit())
    for kind, pattern in (("money", _MONEY), ("percent", _PERCENT), ("time", _TIME),
                          ("date", _DATE), ("decimal", _DECIMAL)):  # fmt: skip
        if pattern.match(text):
            return digits, kind
    if m := _ORDINAL.match(text):
        return m.group(1), "ordinal"
    if re.fullmatch(r"'?\d+s", text):
        return digits, "decade"
    if _DIGITS.match(text) and "/" not in text:
        return digits, "digits"
    return None


@dataclass(frozen=True)
class Chunk:
    """A piece of a run read as one group of digits.

    Attributes:
        digits: the digits it contributes ("23", "2005", "55", "5551234").
        start, end: its words ``[start, end)``.
        kind: ``cardinal`` (number words), ``repeat`` ("double five"), or a kind from
            :func:`written_number` for a word written with digits.
        value: the number it says (``None`` for repeats).
        multiplied: it used "hundred", "thousand", ... (phone digits rarely do).
    """

    digits: str
    start: int
    end: int
    kind: str
    value: int | None
    multiplied: bool = False


@dataclass(frozen=True)
class NumberRun:
    """A maximal run of number words ``[start, end)`` read as one digit string."""

    start: int
    end: int
    chunks: tuple[Chunk, ...]

    @property
    def digits(self) -> str:
        """The digits the run says, chunk after chunk."""
        return "".join(c.digits for c in self.chunks)

    @property
    def value(self) -> int | None:
        """The number said, when the run is one chunk ("twenty five" -> 25), else ``None``."""
        return self.chunks[0].value if len(self.chunks) == 1 else None

    @property
    def ordinal(self) -> bool:
        """Whether the run ends in an ordinal ("forty second", "3rd")."""
        return self.chunks[-1].kind == "ordinal"

    @property
    def kind(self) -> str:
        """The written kind of a one-chunk run ("money", "time", ...), else "spoken"/"digits"."""
        kinds = {c.kind for c in self.chunks}
        if len(self.chunks) == 1 and self.chunks[0].kind not in ("cardinal", "repeat"):
            return self.chunks[0].kind
        return "digits" if kinds == {"digits"} else "spoken"

    @property
    def multiplied(self) -> bool:
        """Whether any chunk used "hundred", "thousand", ..."""
        return any(c.multiplied for c in self.chunks)

    def digit_words(self) -> list[tuple[int, int]]:
        """For each digit, the words ``[start, end)`` of the chunk that said it."""
        return [(c.start, c.end) for c in self.chunks for _ in c.digits]

    def word_span(self, i: int, j: int) -> tuple[int, int]:
        """The words that said digits ``[i, j)`` (whole chunks: "twenty three" is never split)."""
        owners = self.digit_words()[i:j]
        if not owners:
            raise ValueError(f"no digits [{i}, {j}) in a run of {len(self.digits)}")
        return owners[0][0], owners[-1][1]


@dataclass(frozen=True)
class _Atom:
    kind: str  # unit teen tens mult rep and a ord written
    value: int
    index: int
    digits: str = ""
    written_kind: str = ""


def _atom(text: str, index: int) -> _Atom | None:
    if text in UNITS:
        return _Atom("unit", UNITS[text], index)
    if text in TEENS:
        return _Atom("teen", TEENS[text], index)
    if text in TENS:
        return _Atom("tens", TENS[text], index)
    if text in MULTIPLIERS:
        return _Atom("mult", MULTIPLIERS[text], index)
    if text in REPEATS:
        return _Atom("rep", REPEATS[text], index)
    if text in ORDINALS:
        return _Atom("ord", ORDINALS[text], index)
    if text in ("and", "a"):
        return _Atom(text, 1 if text == "a" else 0, index)
    tens, _, unit = text.partition("-")  # Whisper's "twenty-five", "forty-second"
    if tens in TENS and (unit in UNITS or unit in _ORD_UNITS) and UNITS.get(unit, 1):
        if unit in _ORD_UNITS:
            return _Atom("ord", TENS[tens] + _ORD_UNITS[unit], index)
        value = TENS[tens] + UNITS[unit]
        return _Atom("written", value, index, str(value), "digits")
    if w := written_number(text):
        return _Atom("written", int(w[0]) if w[0] else 0, index, w[0], w[1])
    return None


def _candidates(cleaned: Sequence[str]) -> list[_Atom | None]:
    """Atoms for each word, with context rules for the words that are not always numbers."""
    atoms = [_atom(w, i) for i, w in enumerate(cleaned)]
    numeric = {"unit", "teen", "tens", "mult", "written", "ord"}

    def is_num(k: int) -> bool:
        a = atoms[k] if 0 <= k < len(atoms) else None
        return a is not None and a.kind in numeric and cleaned[k] not in _ZERO_WORDS

    zero = {i for i, w in enumerate(cleaned) if w in _ZERO_WORDS and atoms[i] is not None}
    near_number: set[int] = set()
    changed = True
    while changed:  # "oh" next to a number, or next to an "oh" that is ("two two oh oh")
        changed = False
        for i in zero - near_number:
            nxt = cleaned[i + 1] if i + 1 < len(cleaned) else ""
            if (
                is_num(i - 1)
                or is_num(i + 1)
                or {i - 1, i + 1} & near_number
                or nxt in REPEATS
                or (i > 0 and cleaned[i - 1] in REPEATS)
            ):
                near_number.add(i)
                changed = True
    out: list[_Atom | None] = []
    for i, a in enumerate(atoms):
        if a is None:
            out.append(None)
        elif i in zero:
            out.append(a if i in near_number else None)
        elif a.kind == "a":  # "a hundred", "a thousand"
            nxt = atoms[i + 1] if i + 1 < len(atoms) else None
            out.append(a if nxt is not None and nxt.kind == "mult" else None)
        elif a.kind == "and":  # only inside "two hundred and five"
            prev = atoms[i - 1] if i > 0 else None
            nxt = atoms[i + 1] if i + 1 < len(atoms) else None
            ok = prev is not None and prev.kind == "mult" and nxt is not None
            out.append(a if ok and nxt.kind in ("unit", "teen", "tens") else None)
        elif a.kind == "rep":
            nxt = atoms[i + 1] if i + 1 < len(atoms) else None
            out.append(a if nxt is not None and nxt.kind == "unit" else None)
        elif a.kind == "mult" and not (i > 0 and atoms[i - 1] is not None):
            out.append(None)  # "hundreds of people", a bare "thousand"
        else:
            out.append(a)
    return out


def _parse(atoms: list[_Atom]) -> list[Chunk]:
    """Cut a run of atoms into chunks (see the module docstring)."""
    chunks: list[Chunk] = []
    total = cur = 0
    start = -1
    last = ""  # kind of the last atom in the open cardinal chunk
    mult_used = False
    forced = False  # an "and" asked for the next number to join

    def close(end: int) -> None:
        nonlocal total, cur, start, last, mult_used
        if start >= 0:
            value = total + cur
            chunks.append(Chunk(str(value), start, end, "cardinal", value, mult_used))
        total = cur = 0
        start, last, mult_used = -1, "", False

    def sub_len(i: int) -> int:  # atoms in the cardinal below 100 starting at i
        a = atoms[i]
        nxt = atoms[i + 1] if i + 1 < len(atoms) else None
        return 2 if a.kind == "tens" and nxt is not None and nxt.kind == "unit" and nxt.value else 1

    def may_join(i: int) -> bool:  # a number after "hundred"/"thousand": is it part of it?
        if forced:
            return True
        j = i + sub_len(i)
        return j >= len(atoms) or atoms[j].kind == "mult"

    i = 0
    while i < len(atoms):
        a = atoms[i]
        end = a.index + 1
        if a.kind == "and":
            forced = True
            i += 1
            continue
        if a.kind == "written" or a.kind == "rep" or (a.kind == "unit" and a.value == 0):
            close(a.index)
            if a.kind == "written":
                kind = "ordinal" if a.written_kind == "ordinal" else a.written_kind
                chunks.append(Chunk(a.digits, a.index, end, kind, a.value))
            elif a.kind == "rep":
                d = atoms[i + 1]
                chunks.append(Chunk(str(d.value) * a.value, a.index, d.index + 1, "repeat", None))
                i += 1
            else:
                chunks.append(Chunk("0", a.index, end, "cardinal", 0))
        elif a.kind == "ord":
            if last == "tens" and a.value < 10:
                cur += a.value
                ordinal_start = start
                total_value = total + cur
                total = cur = 0
                start, last, mult_used = -1, "", False
                chunks.append(Chunk(str(total_value), ordinal_start, end, "ordinal", total_value))
            else:
                close(a.index)
                chunks.append(Chunk(str(a.value), a.index, end, "ordinal", a.value))
        elif a.kind == "mult":
            if start < 0:
                start, cur = a.index, 1
            if a.value == 100 and 0 < cur < 100 and last != "hundred":
                cur *= 100
                last = "hundred"
            elif a.value >= 1000 and (total == 0 or total >= a.value * 1000):
                total += max(cur, 1) * a.value
                cur = 0
                last = "mult"
            else:
                close(a.index)
                start, cur, last = a.index, a.value, "mult"
            mult_used = True
        else:  # unit (1-9), teen, tens, "a"
            value = 1 if a.kind == "a" else a.value
            if start >= 0 and last == "tens" and a.kind == "unit":
                cur += value
                last = "done"
            elif start >= 0 and last in ("hundred", "mult") and may_join(i):
                cur += value
                last = "tens" if a.kind == "tens" else "done"
            else:
                close(a.index)
                start, cur = a.index, value
                last = "tens" if a.kind == "tens" else a.kind
        forced = False
        i += 1
    close(atoms[-1].index + 1 if atoms else 0)
    return sorted(chunks, key=lambda c: c.start)


def number_runs(words: Sequence[str]) -> list[NumberRun]:
    """Every maximal run of number words in ``words`` (raw transcript words).

    A run ends at a word that is not a number, at a sentence end Whisper wrote ("...1234.") and
    around stand-alone written kinds ("$20", "7:30", "3rd", "03/04/1984").
    """
    cleaned = [clean(w) for w in words]
    atoms = _candidates(cleaned)
    runs: list[NumberRun] = []
    group: list[_Atom] = []

    def flush() -> None:
        while group and group[-1].kind in ("and", "a", "rep"):
            group.pop()
        while group and group[0].kind == "and":
            group.pop(0)
        if group:
            chunks = tuple(_parse(group))
            if chunks:
                runs.append(NumberRun(chunks[0].start, chunks[-1].end, chunks))
        group.clear()

    for i, a in enumerate(atoms):
        if a is None:
            flush()
            continue
        if a.kind == "ord" and group and group[-1].kind == "tens":  # "twenty third"
            group.append(a)
            flush()
        elif a.kind == "ord" or (a.kind == "written" and a.written_kind != "digits"):
            flush()
            group.append(a)
            flush()
        else:
            group.append(a)
        if ends_sentence(words[i]):
            flush()
    flush()
    return runs


@dataclass(frozen=True)
class Normalized:
    """A transcript with each number run replaced by its digits.

    Attributes:
        tokens: cleaned words, number runs replaced by one digit-string token each.
        word_spans: for each token, its words ``[start, end)`` in the original transcript.
        runs: the number runs, in order.
    """

    tokens: tuple[str, ...]
    word_spans: tuple[tuple[int, int], ...]
    runs: tuple[NumberRun, ...]

    @property
    def text(self) -> str:
        """The tokens joined by spaces ("call 5551234")."""
        return " ".join(self.tokens)


def normalize(words: Sequence[str]) -> Normalized:
    """``["call", "five", "five", "five", "one", "two", "three", "four"]`` -> ``call 5551234``."""
    runs = number_runs(words)
    by_start = {r.start: r for r in runs}
    tokens: list[str] = []
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(words):
        if i in by_start:
            r = by_start[i]
            tokens.append(r.digits)
            spans.append((r.start, r.end))
            i = r.end
        else:
            tokens.append(clean(words[i]))
            spans.append((i, i + 1))
            i += 1
    return Normalized(tuple(tokens), tuple(spans), tuple(runs))
