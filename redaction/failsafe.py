"""Fail-closed widening of detections on recognizer transcripts.

A detector tuned on clean transcripts misses PII that a recognizer misheard: "text sara
barton" heard as "text set apart in", a house number "eighty two seventy seven" heard as "80
to 77". Before audio is bleeped, the redact path widens what was found, trading some
over-masking for fewer leaks (the reviewer still hears the rest of the request):

* **contact slots**: after a contact verb ("call", "text", "message", "tell", "pay", ...),
  the words up to the next boundary word (at most three) are a PERSON slot, whatever they
  sound like, unless they are a kinship or service word ("mom", "the bank");
* **long numbers**: any run of five or more digits is redacted (``NUMBER``): request numbers
  that are not PII (timers, sums, years) are shorter; so is a run of three or more digits a
  few words after an identifier cue ("last four digits of my social", "ends with");
* **street numbers**: a number followed within four words by a street type;
* **e-mail shapes**: up to three words before "at" when a top-level domain follows;
* **name slots**: up to three words after "name is", "named", "called"; the person of "a
  voicemail for X" and "give X a ring";
* **number neighbours**: digit words next to a numeric or address span join it.

Only the redact path uses this; ``redaction.pii.detect`` stays precise on clean text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from redaction.numbers import normalize
from redaction.spans import Span, merge

CONTACT_VERBS = frozenset(
    [
        "call",
        "text",
        "message",
        "tell",
        "remind",
        "ask",
        "dial",
        "ring",
        "phone",
        "ping",
        "contact",
        "invite",
        "email",
        "e-mail",
        "facetime",
        "skype",
        "pay",
        "send",
        "venmo",
        "zelle",
        "whatsapp",
        "notify",
    ]
)
# words that end a contact slot
BOUNDARY = frozenset(
    [
        "that",
        "to",
        "at",
        "about",
        "and",
        "saying",
        "say",
        "on",
        "for",
        "in",
        "if",
        "when",
        "i",
        "i'm",
        "im",
        "tomorrow",
        "tonight",
        "today",
        "now",
        "please",
        "back",
        "later",
        "after",
        "before",
        "with",
        "from",
        "is",
        "are",
        "was",
        "were",
        "will",
        "would",
        "could",
        "can",
        "should",
        "the",
        "a",
        "an",
        "this",
        "it's",
        "its",
        "my",
        "your",
        "our",
        "their",
        "his",
        "her",
        "him",
        "them",
        "us",
        "me",
        "you",
        "we",
        "they",
        "or",
        "but",
        "so",
        "because",
        "where",
        "what",
        "why",
        "how",
        "who",
        "whether",
        "asking",
        "telling",
    ]
)
# who or what a contact verb often names without naming a person
NOT_A_NAME = frozenset(
    [
        "me",
        "my",
        "mom",
        "mum",
        "mother",
        "dad",
        "father",
        "grandma",
        "grandpa",
        "granny",
        "nana",
        "papa",
        "brother",
        "sister",
        "son",
        "daughter",
        "wife",
        "husband",
        "partner",
        "boyfriend",
        "girlfriend",
        "aunt",
        "uncle",
        "cousin",
        "kids",
        "children",
        "baby",
        "family",
        "friend",
        "friends",
        "neighbor",
        "neighbour",
        "boss",
        "work",
        "office",
        "home",
        "school",
        "doctor",
        "dentist",
        "vet",
        "bank",
        "pharmacy",
        "police",
        "emergency",
        "nine-one-one",
        "911",
        "taxi",
        "cab",
        "uber",
        "lyft",
        "pizza",
        "restaurant",
        "hotel",
        "everyone",
        "everybody",
        "someone",
        "somebody",
        "back",
        "it",
        "that",
        "this",
        "them",
        "him",
        "her",
        "us",
        "you",
        "them",
        "up",
        "off",
        "out",
        "again",
        "him?",
        "home?",
        "an",
        "a",
        "the",
    ]
)
NUMERIC = frozenset(
    {"PHONE_NUMBER", "CREDIT_CARD", "US_SSN", "STREET_ADDRESS", "DATE_OF_BIRTH", "AMOUNT"}
)


def _bare(words: Sequence[str]) -> list[str]:
    """Words without the punctuation Whisper glues to them ("-4", "9 .04"), for reading numbers."""
    return [w.strip("-.,!?;:'\"") or w for w in words]


def _clean(word: str) -> str:
    return re.sub(r"[^a-z0-9'\-]", "", word.lower())


def contact_slots(words: Sequence[str], taken: set[int]) -> list[Span]:
    out = []
    clean = [_clean(w) for w in words]
    for i, w in enumerate(clean):
        if w not in CONTACT_VERBS:
            continue
        j = i + 1
        while j < len(words) and j - i <= 3:
            c = clean[j]
            if not c or c in BOUNDARY or j in taken:
                break
            j += 1
        slot = [k for k in range(i + 1, j) if clean[k] not in NOT_A_NAME]
        if slot:
            out.append(Span("PERSON", min(slot), max(slot) + 1, 0.5, "failsafe-slot"))
    return out


def long_numbers(words: Sequence[str], taken: set[int], min_digits: int = 5) -> list[Span]:
    norm = normalize(_bare(words))
    return [
        Span("NUMBER", r.start, r.end, 0.5, "failsafe-number")
        for r in norm.runs
        if len(r.digits) >= min_digits and not taken.intersection(range(r.start, r.end))
    ]


# words after which a short digit run is an identifier ("last four digits of my social ...")
NUMBER_CUES = frozenset(
    [
        "digits",
        "digit",
        "ending",
        "ends",
        "end",
        "last",
        "social",
        "security",
        "ssn",
        "pin",
        "code",
        "card",
        "account",
        "number",
        "routing",
        "member",
        "policy",
        "license",
        "passport",
        "id",
        "zip",
    ]
)


def cued_numbers(words: Sequence[str], taken: set[int], window: int = 6) -> list[Span]:
    """Runs of three or more digits within ``window`` words after an identifier cue."""
    clean = [_clean(w) for w in words]
    out = []
    for r in normalize(_bare(words)).runs:
        if len(r.digits) < 3 or taken.intersection(range(r.start, r.end)):
            continue
        if any(c in NUMBER_CUES for c in clean[max(0, r.start - window) : r.start]):
            out.append(Span("NUMBER", r.start, r.end, 0.5, "failsafe-cued-number"))
    return out


def street_numbers(words: Sequence[str], taken: set[int]) -> list[Span]:
    """A number followed within four words by a street type ("six to do evergreen street")."""
    from redaction.pii.lexicon import STREET_SUFFIXES

    clean = [_clean(w) for w in words]
    out = []
    for r in normalize(_bare(words)).runs:
        for j in range(r.end, min(len(words), r.end + 4)):
            if clean[j] in STREET_SUFFIXES:
                if not taken.issuperset(range(r.start, j + 1)):
                    out.append(Span("STREET_ADDRESS", r.start, j + 1, 0.5, "failsafe-street"))
                break
    return out


TLDS = ("com", "org", "net", "edu", "gov", "io", "co", "us", "uk")
AT_WORDS = frozenset({"at", "that", "add", "@"})  # "at" as Whisper mishears it before a domain
FOR_NOUNS = frozenset(["voicemail", "message", "note", "reminder", "gift", "card", "present"])
RING_WORDS = frozenset(["ring", "call", "buzz", "shout", "bell"])
EMAIL_STOPS = BOUNDARY | CONTACT_VERBS | {"email", "address", "is", "it", "them", "forward"}
NAME_CUES = frozenset(["named", "called", "name's"])


def email_shapes(words: Sequence[str], taken: set[int]) -> list[Span]:
    """ "<up to three words> at <domain> dot com" however misheard: the words before "at" and
    the domain, when a top-level domain follows within three words."""
    clean = [_clean(w) for w in words]
    out = []
    for k, w in enumerate(clean):
        if w not in AT_WORDS or k == 0:
            continue
        tail = clean[k + 1 : k + 4]
        ends = [
            k + 1 + i
            for i, t in enumerate(tail)
            if t in TLDS or any(t.endswith(f".{d}") or t == f".{d}" for d in TLDS)
        ]
        if not ends:
            continue
        start = k
        while start > 0 and k - start < 3 and clean[start - 1] not in EMAIL_STOPS:
            start -= 1
        if start == k and k - 1 in taken:  # the user name is masked already: the domain too
            start = k
        elif start == k:
            continue
        if not taken.issuperset(range(start, ends[0] + 1)):
            out.append(Span("EMAIL_ADDRESS", start, ends[0] + 1, 0.5, "failsafe-email"))
    return out


def name_slots(words: Sequence[str], taken: set[int]) -> list[Span]:
    """Up to three words after "name is", "named", "called"."""
    clean = [_clean(w) for w in words]
    out = []
    for i, w in enumerate(clean):
        cue = w in NAME_CUES or (w == "is" and i > 0 and clean[i - 1] == "name")
        if not cue:
            continue
        j = i + 1
        while j < len(words) and j - i <= 3 and clean[j] and clean[j] not in BOUNDARY:
            j += 1
        slot = [k for k in range(i + 1, j) if k not in taken and clean[k] not in NOT_A_NAME]
        if slot:
            out.append(Span("PERSON", min(slot), max(slot) + 1, 0.5, "failsafe-name"))
    return out


def idiom_slots(words: Sequence[str], taken: set[int]) -> list[Span]:
    """ "a voicemail for X", "give X a ring": the words in X's place, up to two."""
    clean = [_clean(w) for w in words]
    out = []
    for i, w in enumerate(clean):
        if w == "for" and i > 0 and clean[i - 1] in FOR_NOUNS:
            j = i + 1
            while j < len(words) and j - i <= 2 and clean[j] and clean[j] not in BOUNDARY:
                j += 1
            slot = [k for k in range(i + 1, j) if k not in taken and clean[k] not in NOT_A_NAME]
        elif w == "give":
            end = next(
                (
                    k
                    for k in range(i + 2, min(len(words) - 1, i + 4))
                    if clean[k] in {"a", "our"} and clean[k + 1] in RING_WORDS
                ),
                None,
            )
            slot = [
                k
                for k in range(i + 1, end or i + 1)
                if k not in taken and clean[k] not in NOT_A_NAME
            ]
        else:
            continue
        if slot:
            out.append(Span("PERSON", min(slot), max(slot) + 1, 0.5, "failsafe-idiom"))
    return out


def widen(words: Sequence[str], spans: Sequence[Span]) -> list[Span]:
    """``spans`` plus the fail-closed additions over ``words``."""
    taken = {i for s in spans for i in range(s.start, s.end)}
    extra = (
        contact_slots(words, taken)
        + long_numbers(words, taken)
        + cued_numbers(words, taken)
        + street_numbers(words, taken)
        + email_shapes(words, taken)
        + name_slots(words, taken)
        + idiom_slots(words, taken)
    )
    # digit words right next to a numeric span join it
    runs = normalize(_bare(words)).runs
    grown = []
    for s in spans:
        if s.label in NUMERIC:
            for r in runs:
                if r.end == s.start or r.start == s.end or (r.end == s.start - 1):
                    s = Span(s.label, min(s.start, r.start), max(s.end, r.end), s.score, s.source)
        grown.append(s)
    return merge(grown + extra)
