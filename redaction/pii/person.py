"""Person names, from a gazetteer and from the words people put before and after names.

Each word is classed as a known name (``S``), a known name that is also an ordinary word such as
"grace" or "mark" (``W``), a capitalized word Whisper wrote mid-sentence that is not a common
word (``C``) or that is one ("Will": ``K``, weak like ``W``), or a rare word no list has (``R``).
Runs of such words are names when:

* a cue comes right before ("call", "text", "remind", "my name is", "doctor", "my friend"):
  any run, even "will" or an unknown "jadwiga" (strong cue) or a known name (weak cue: "to",
  "from", "with", "and" after another name);
* or, with no cue, the run holds a known unambiguous name ("priya patel left a message"), a
  capitalized unknown word, or an ambiguous name followed by "said", "'s" and the like.
"""

from __future__ import annotations

from redaction.numbers import MULTIPLIERS, ORDINALS, TEENS, TENS, UNITS
from redaction.pii import lexicon
from redaction.pii.doc import Doc
from redaction.pii.lexicon import FUNCTION_WORDS, MONTHS, STREET_SUFFIXES, WEEKDAYS, words
from redaction.pii.recognizer import Recognizer
from redaction.spans import Span

STRONG_CUES: list[str | tuple[str, ...]] = [
    *words(
        """call calling ring phone dial text texting message messaging email e-mail tell ask
        remind invite meet meeting visit visiting pay paid owe owes thank thanks congratulate
        contact ping facetime notify cc named dear hi hello hey mr mrs ms miss dr doctor
        professor prof aunt auntie uncle grandma grandpa granny cousin nurse coach officer pastor
        father brother sister friend boss colleague coworker neighbor neighbour son daughter wife
        husband girlfriend boyfriend partner fiance fiancee patient client customer mister
        nephew niece sir madam agent manager"""
    ),
    ("name", "is"),
    ("this", "is"),
    ("i", "am"),
    ("i'm",),
    ("it's",),
    ("under", "the", "name"),
    ("talk", "to"),
    ("speak", "to"),
    ("speak", "with"),
    ("talk", "with"),
    ("message", "to"),
    ("text", "to"),
    ("email", "to"),
    ("note", "to"),
    ("reply", "to"),
    ("call", "from"),
    ("message", "from"),
    ("text", "from"),
    ("email", "from"),
]
WEAK_CUES = words("to from for with and by at as")
_PLACE_PREPOSITIONS = words("to from at in")  # weak for names: places follow them too
# A weak cue is a strong one after these ("send the photos to ...", "add ... to my contacts as ...").
CONTACT_CONTEXT = words(
    """send sent message messages text texts email emails mail write wrote give gave pay paid
    transfer forward reply talk speak say introduce contacts contact add call voicemail invite
    package letter gift card note"""
)
AFTER_CUES = words(
    """said says asked called texted emailed wrote replied left sent wants wanted needs told
    coming awake home here back okay ok available busy"""
)
AFTER_PHRASES = [("to", "my", "contacts"), ("to", "contacts"), ("in", "my", "contacts")]
# After a strong cue a name runs on over one ordinary word before a boundary
# ("call leia spies at ...": "spies" is a surname here).
_BOUNDARY = words("at on and saying that to about for with")
_NOT_SURNAME = words("now later soon today tonight tomorrow back again please first home")
_AFTER_NAME = AFTER_CUES | FUNCTION_WORDS
# A stop-word name ("will", "may") after a strong cue needs one of these (or the end) after it.
_FOLLOW = words("at on and that to about back now tomorrow tonight today please for")
_NOT_NAME = (
    FUNCTION_WORDS
    | WEEKDAYS
    | frozenset(STREET_SUFFIXES)
    | frozenset(c for c in STRONG_CUES if isinstance(c, str))  # titles, relations, verbs
    | words("mom mum dad mommy daddy everyone everybody someone somebody nobody mother me")
)
_NUMBER_WORDS = set(UNITS) | set(TEENS) | set(TENS) | set(MULTIPLIERS) | set(ORDINALS)
_DETERMINERS = words("the a an this that these those some any every")


def word_class(doc: Doc, i: int) -> str:
    """``S``, ``W``, ``C``, ``K``, ``R`` (see the module docstring) or ``""``."""
    w = doc.base[i]
    cap = doc.capitalized(i)
    if cap and w in ("will", "may"):  # "Call Will", "text May" as Whisper writes them
        return "K"
    if not w.isalpha() or w in _NUMBER_WORDS or w in _NOT_NAME:
        return ""
    flags = lexicon.names().get(w)
    if flags is not None:
        return "S" if ("A" not in flags or cap) and w not in MONTHS else "W"
    if w in lexicon.common_words():
        return "K" if cap else ""
    if cap:
        return "C"
    return "R" if len(w) >= 3 else ""


class PersonRecognizer(Recognizer):
    """Names from the gazetteer (``data/names.tsv``), cue words and Whisper's capitals."""

    labels = ("PERSON",)

    def __init__(self, *, max_words: int = 4) -> None:
        self.max_words = max_words

    def analyze(self, doc: Doc) -> list[Span]:
        classes = [word_class(doc, i) for i in range(len(doc))]
        out: list[Span] = []
        i = 0
        while i < len(doc):
            if not classes[i]:
                i += 1
                continue
            j = i
            while j < len(doc) and classes[j] and j - i < self.max_words:
                j += 1
                if doc.words[j - 1].rstrip("\"')").endswith((",", ".", "?", "!", ";", ":")):
                    break  # Whisper's punctuation ends a name
            span = self._judge(doc, classes, i, j, out)
            if span is not None:
                out.append(span)
            i = j
        return out

    def _judge(
        self, doc: Doc, classes: list[str], i: int, j: int, found: list[Span]
    ) -> Span | None:
        cls = [c if c != "K" else "W" for c in classes[i:j]]
        while j - i > 1 and cls[-1] == "W" and doc.base[j - 1] in _AFTER_NAME:
            j, cls = j - 1, cls[:-1]  # "alfredo said": "said" is also a name, not here
        after_name = bool(found) and found[-1].end == i - 1 and doc.base[i - 1] == "and"
        weak_cue = doc.cue_before(i, WEAK_CUES) or after_name
        contact = weak_cue and bool(CONTACT_CONTEXT & set(doc.before(i - 1, 14)))
        strong_cue = doc.cue_before(i, STRONG_CUES) or after_name
        # a sending verb earlier makes "to"/"as" a strong cue, for names that are not words
        strong_cue = strong_cue or (contact and bool({"S", "C", "R"} & set(cls)))
        ends = j == len(doc) or doc.base[j] in _FOLLOW or doc.words[j - 1][-1:] in ".,?!"
        # ... and for one that is, at the end: "send twenty dollars to mark" (not "... as read")
        strong_cue = strong_cue or (contact and ends and doc.cue_before(i, ["to", "for", "with"]))
        weak_cue = weak_cue and not doc.cue_before(i, _PLACE_PREPOSITIONS)
        contacts_after = any(doc.base[j : j + len(c)] == c for c in AFTER_PHRASES)
        stop_name = [doc.base[k] in FUNCTION_WORDS for k in range(i, j)]
        possessive = doc.norm[j - 1].endswith("'s") and doc.base[j - 1] != doc.norm[j - 1]
        after_cue = possessive or (j < len(doc) and doc.base[j] in AFTER_CUES)

        if strong_cue:
            if any(stop_name) and not ends and not ("S" in cls or "C" in cls):
                return None  # "call will you" is not a name, "call will at five" is
            score = 0.9 if ("S" in cls or "C" in cls) else 0.8 if "W" in cls else 0.75
            if _surname_follows(doc, j):
                j += 1
            return self.span("PERSON", i, j, score)
        if contacts_after:
            return self.span("PERSON", i, j, 0.85)
        if i > 0 and doc.base[i - 1] in _DETERMINERS:
            return None  # "the hunter", "a rose"
        if j < len(doc) and doc.base[j] in STREET_SUFFIXES:
            return None  # "lincoln street": an address
        if set(cls) == {"R"} and after_cue:
            return self.span("PERSON", i, j, 0.7)  # "ruggiero said ...", "what's fabrizia's number"
        # No strong cue: trim ordinary-word names at the edges ("will john come").
        while i < j and ((cls[0] == "W" and stop_name[0]) or cls[0] == "R"):
            if "S" not in cls[1:] or (cls[0] == "W" and stop_name[0]):
                i, cls, stop_name = i + 1, cls[1:], stop_name[1:]
            else:
                break
        while i < j and cls[-1] == "W" and stop_name[-1]:
            j, cls, stop_name = j - 1, cls[:-1], stop_name[:-1]
        if i >= j:
            return None
        if "S" in cls:
            score = 0.85 if len(cls) >= 2 or weak_cue or after_cue else 0.75
        elif "C" in cls:
            score = 0.7 if weak_cue or after_cue or len(cls) >= 2 else 0.6
        elif "W" in cls and after_cue and not any(stop_name):
            score = 0.6
        else:
            return None
        return self.span("PERSON", i, j, score)


def _surname_follows(doc: Doc, j: int) -> bool:
    """An ordinary word at ``j`` and then a boundary ("at", "saying", the end, punctuation)."""
    if j >= len(doc) or doc.words[j - 1][-1:] in ",.?!":
        return False
    w = doc.base[j]
    if not w.isalpha() or w in FUNCTION_WORDS or w in _NOT_NAME or w in _NOT_SURNAME:
        return False
    if j in doc.run_at or w in _NUMBER_WORDS or w in MONTHS:
        return False
    return j + 1 == len(doc) or doc.base[j + 1] in _BOUNDARY or doc.words[j][-1:] in ",.?!"
