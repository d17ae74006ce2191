"""Special categories of personal data (health, sex life, religion, politics, ethnicity).

A request for a prescription drug, a therapist, a mosque or a ballot says something sensitive
about the speaker even with every name and number masked. :class:`SpecialCategoryRecognizer`
marks the words (spans labelled ``HEALTH``, ``SEXUAL_LIFE``, ``RELIGION``, ``POLITICS``,
``ETHNICITY``); :func:`categories` says which fired; :class:`SpecialPolicy` says what a clip that
fired must become: withheld from review, or masked and shown with a content warning.

Three kinds of evidence, so that ordinary requests ("christmas", "pills", "doctor", "the party
starts at eight") are not withheld:

* :data:`LEXICON`, explicit terms that fire anywhere (drug names, conditions, faiths, parties);
* :data:`AMBIGUOUS`, terms that also have an innocent sense ("church", "sex", "union", "polish").
  None fires inside a media request ("play like a prayer by madonna", "add queer eye to my
  watchlist"), before a culture or place noun ("a jewish deli", "temple university", "union
  station", "progressive insurance"), as the street of an address ("forty one heath unions") or,
  for a people's name, as a language ("in japanese"). Some need more, written
  ``term@need``: ``self`` a personal word in the request ("i'm polish", "my aunt is persian"),
  ``my`` a possessive just before it ("my next period", not "fourth period"), ``det`` a
  determiner before it ("the bishop", not the name Bishop), ``prep`` a preposition
  before it ("for lent", not "i lent"), ``act`` a political act in the request ("i voted for
  ...", not "when is the debate between ...");
* context rules for terms no list holds: a rare word in a medication request ("i ran out of
  zolpidem"), medical word endings ("-itis", "-ologist", "-statin"), head nouns ("X disease",
  "X disorder"), the name after "voted for" or before "campaign", the cause before "rally",
  the feast after "fasting for", "came out as".

Measured with ``python -m redaction.pii.metrics --special --split test`` on
:mod:`redaction.data.special_templates` (its ``dev`` split is the one these lists were tuned on).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from redaction.pii.doc import Doc
from redaction.pii.lexicon import (
    FUNCTION_WORDS,
    STREET_SUFFIXES,
    USPS_SUFFIXES,
    common_words,
    ordered,
    words,
)
from redaction.pii.lexicon import names as name_gazetteer
from redaction.pii.lexicon import places as place_gazetteer
from redaction.pii.recognizer import SPECIAL_LABELS, Recognizer
from redaction.spans import Span

Term = tuple[str, ...]


def _terms(text: str) -> tuple[Term, ...]:
    """Comma-separated terms, each one or more words (an ``@need`` suffix kept on the last)."""
    return tuple(tuple(t.split()) for t in text.replace("\n", " ").split(",") if t.strip())


LEXICON: dict[str, tuple[Term, ...]] = {
    "HEALTH": _terms(
        """prescription, medication, dosage, insulin, diabetes, diabetic, cancer, chemo,
        chemotherapy, tumor, tumour, hiv, aids test, std, sti, herpes, hepatitis, pregnant,
        pregnancy, pregnancy test, miscarriage, abortion, ivf, fertility, birth control,
        contraceptive, antidepressant, therapy session, bipolar, schizophrenia, adhd, autism,
        ptsd, rehab, addiction, alcoholic, alcoholism, overdose, suicide, suicidal, self harm, depressed,
        dementia, alzheimer's, alzheimers, parkinson's, epilepsy, seizure, asthma, inhaler,
        blood pressure, hypertension, cholesterol, heart attack, biopsy, diagnosis, diagnosed,
        mri, ultrasound, midwife, methadone, metformin, lisinopril, atorvastatin, levothyroxine,
        amlodipine, metoprolol, omeprazole, simvastatin, losartan, albuterol, gabapentin,
        sertraline, fluoxetine, escitalopram, citalopram, bupropion, trazodone, alprazolam,
        xanax, lorazepam, ativan, clonazepam, klonopin, adderall, ritalin, oxycodone, hydrocodone,
        vicodin, percocet, tramadol, morphine, fentanyl, suboxone, zoloft, prozac, lexapro,
        wellbutrin, lithium, seroquel, abilify, prednisone, warfarin, eliquis, xarelto, ozempic,
        wegovy, mounjaro, humira, truvada, plan b, valtrex, ambien, lipitor, synthroid, viagra,
        cialis, antibiotics, amoxicillin, chlamydia, gonorrhea, syphilis, covid positive,
        jardiance, enbrel, concerta, narcan, cymbalta, effexor, nexium, crestor, keppra,
        depakote, copd, pneumonia, cataracts, insomnia, bulimia, heart murmur, blood clot,
        heart failure, shortness of breath, blurry vision, ringing in my ears, dizziness,
        vomiting, constipation, heartburn, earache, stiff neck, stomach cramps, panic attack,
        anxiety attack, lump in my breast, blood in my urine, tingling in my feet, swollen ankle,
        fainting spells, bipolar disorder, hypothyroidism,
        high blood pressure, type two diabetes, physical therapist, suicidal thoughts"""
    ),
    "SEXUAL_LIFE": _terms(
        """lesbian, bisexual, transgender, trans woman, trans man, lgbt, lgbtq, sexual, condom,
        porn, grindr, scruff, feeld, jackd, taimi, hookup, erectile, sex toy, pride parade,
        nonbinary, non-binary, polyamorous, kink, unprotected sex, strap on, bondage kit,
        nipple clamps, bondage, handcuffs for the bedroom"""
    ),
    "RELIGION": _terms(
        """mosque, synagogue, gurdwara, mandir, masjid, shul, cathedral, chapel, parish, monastery,
        tabernacle, quran, koran, torah, bible, ramadan, eid, iftar, passover, yom kippur,
        rosh hashanah, sabbath, shabbat, rabbi, imam, pastor, youth pastor, priest, chaplain,
        vicar, reverend, pandit, sermon, baptism, bar mitzvah, bat mitzvah, communion, rosary,
        catechism, confirmation class, bible study, puja, kirtan, hindu, muslim, christianity,
        catholic, buddhist, sikh, jain, mormon, atheist, evangelical, protestant, zoroastrian,
        seventh day adventist, jehovah's witness, greek orthodox, born again christian, shia,
        sunni, methodist,
        diwali, halal, kosher, karva chauth, fast of esther"""
    ),
    "POLITICS": _terms(
        """democrat, democratic party, republican, gop, maga, socialist, communist, libertarian,
        political party, voted for, vote for, voting for, ballot, polling place, caucus,
        campaign donation, donate to the campaign, protest, rally for, union meeting, union dues,
        strike vote, canvassing, canvass, tory, labour voter, lib dem, dsa, green party,
        working families party, teamsters, teachers union, nurses union, carpenters union,
        united steelworkers, screen actors guild, writers guild, unite here, pro life,
        stop the steal, anti war, immigrant rights, no kings, stand with israel"""
    ),
    "ETHNICITY": _terms(
        """immigration status, undocumented, refugee, asylum, green card, my race, ethnicity"""
    ),
}
AMBIGUOUS: dict[str, tuple[Term, ...]] = {
    "HEALTH": _terms("depression@self, therapist, period@my, rash@self, lump@self, psychosis@self"),
    "SEXUAL_LIFE": _terms("gay, queer, sex, hornet@self, lex@self"),
    "RELIGION": _terms(
        """church, temple, prayer, prayers, pray, praying, mass, confession, jewish,
        christian@det, bishop@det, deacon@det, lent@prep, great lent"""
    ),
    "POLITICS": _terms(
        """trump@act, biden@act, obama@act, kamala@act, bernie@act, harris@act, warren@act,
        buttigieg@act, ramaswamy@act, ocasio cortez@act, cruz@act, vance@act, walz@act,
        starmer@act, sunak@act, schumer@act, mcconnell@act, abbott@act, whitmer@act,
        booker@act, union, rally, progressive@self"""
    ),
    "ETHNICITY": _terms(
        """ethnic, african american, hispanic, latino, latina, latinx, afro latina, asian american,
        chinese american, native american, indigenous, caucasian, pacific islander,
        middle eastern, mixed race, vietnamese, cherokee, nigerian, punjabi, kurdish, pakistani,
        armenian, polish@self, roma@self, persian@self"""
    ),
}
# Words after which an ambiguous term is a cuisine, an art, a trade or a place, not a person.
CULTURE_NOUNS = words("""restaurant restaurants food deli place cuisine music jazz flute songs song dance recipe
    bakery market takeout dish festival movie film""")
PLACE_NOUNS = (frozenset(STREET_SUFFIXES) | USPS_SUFFIXES | {"university", "college"}) - {"way"}
# ... or a firm ("progressive insurance", "union bank").
FIRM_NOUNS = words("insurance bank company corporation inc services airlines")
# A request for a title (a song, a show, a game): ambiguous terms in it are part of the title.
MEDIA_FIRST = frozenset({"play", "stream", "shuffle", "watch"})
MEDIA_WORDS = words("""watchlist playlist episode episodes movie netflix tv game songs song orchestra music jazz
    album audiobook podcast""")
BLOCK_BEFORE = {("depression",): {"great"}, ("union",): {"credit", "european"}}
BLOCK_AFTER = {("mass",): {"of"}}
SELF_WORDS = words("""i i'm i've i'd i'll me my mine myself we we're our us mom dad son daughter wife husband
    brother sister grandma grandpa partner aunt uncle mother father boyfriend girlfriend""")
DETERMINERS = words("the my our a an your his her their this")
PREPOSITIONS = words("for during of in before after until since")
POLITICAL_ACTS = words("""vote voted voting donate donated donation campaign canvass canvassing volunteer
    volunteering supporter support supporting registered rally endorse elect""")
# Medication requests: a rare word in one is most likely a drug ("i ran out of zolpidem").
MEDICATION_CUES = words(
    "take took taking takes refill refills dose dosage prescription pharmacy pills"
)
MEDICATION_PHRASES = (("ran", "out", "of"), ("alcohol", "with"), ("side", "effects"))
# Endings of drug names (USAN stems seen on dev) and of conditions; rare words only.
DRUG_STEMS = ordered(
    "pril statin olol ilol sartan azepam codone prazole grel triptan mycin pidem icam lukast "
    "formin steride spirone trozole talopram farin"
)
CONDITION_STEMS = ordered("itis osis emia aemia oma trophy phrenia somnia")
# Everyday words with those endings (a condition's ending counts on any other word).
NOT_CONDITIONS = words(
    """academia bohemia diploma aroma oklahoma osmosis symbiosis metamorphosis hypnosis
    diagnosis prognosis trophy trophies"""
)
HEADS = frozenset({"disease", "disorder", "syndrome", "addiction", "cancer", "tumor", "failure"})
SPECIALIST_ENDINGS = ("ologist", "iatrist", "therapist", "surgeon")
NOT_MEDICAL = words("""geologist biologist meteorologist zoologist archaeologist sociologist anthropologist
    seismologist criminologist ecologist technologist theologist astrologist musicologist
    mixologist entomologist paleontologist genealogist ornithologist volcanologist
    climatologist egyptologist""")
MODIFIED_HEADS = frozenset({"specialist", "counselor", "counsellor"})
HEALTH_MODIFIERS = frozenset({"ent", "addiction", "fertility", "sleep", "hiv", "pain", "cancer"})
NOT_MODIFIERS = FUNCTION_WORDS | {"have", "has", "had", "with", "treats", "diagnosed", "think"}


def _split_need(term: Term) -> tuple[Term, str]:
    last, _, need = term[-1].partition("@")
    return (*term[:-1], last), need


class SpecialCategoryRecognizer(Recognizer):
    """Special-category spans from terms, ambiguous terms in context, and context rules.

    Args:
        score: the score of every span.
        lexicon: replaces :data:`LEXICON` (category -> terms that fire anywhere); the ambiguous
            terms and context rules stay.
    """

    labels = SPECIAL_LABELS

    def __init__(self, *, score: float = 0.8, lexicon: Mapping[str, Iterable[str]] | None = None):
        self.score = score
        table = LEXICON if lexicon is None else {k: _terms(",".join(v)) for k, v in lexicon.items()}
        unknown = set(table) - set(SPECIAL_LABELS)
        if unknown:
            raise ValueError(f"unknown special categories {sorted(unknown)}; use {SPECIAL_LABELS}")
        self.terms: dict[Term, tuple[str, str | None]] = {}
        for label, terms in AMBIGUOUS.items():
            for t in terms:
                t, need = _split_need(t)
                self.terms[t] = (label, need)
        for label, terms in table.items():
            self.terms.update({t: (label, None) for t in terms})
        self.lengths = sorted({len(t) for t in self.terms}, reverse=True)

    def analyze(self, doc: Doc) -> list[Span]:
        """Spans of the terms and context rules that fired (word indices, end exclusive)."""
        found = {(s.label, s.start, s.end) for s in self._lexicon(doc)}
        for rule in (_medication, _endings, _heads, _specialists, _politics, _fast, _coming_out):
            found.update(rule(doc))
        # "refill my" before a drug tells a reader it is one: masked with it (not "refill my coffee").
        found.update(
            ("HEALTH", a - 2, a)
            for label, a, _ in list(found)
            if label == "HEALTH" and doc.base[max(0, a - 2) : a] == ("refill", "my")
        )
        ordered_spans = sorted(found, key=lambda t: (t[1], t[2], t[0]))
        return [self.span(label, a, b, self.score) for label, a, b in ordered_spans]

    def _lexicon(self, doc: Doc) -> list[Span]:
        """Longest match per position (a plural ``-s`` on the last word allowed)."""
        out = []
        media = _media(doc)
        i = 0
        while i < len(doc):
            for n in (n for n in self.lengths if i + n <= len(doc)):
                seq = doc.norm[i : i + n]
                hit = self.terms.get(seq)
                if hit is None and seq[-1].endswith("s"):
                    hit = self.terms.get((*seq[:-1], seq[-1][:-1]))
                if hit is None:
                    continue
                label, need = hit
                if need is None or _in_context(doc, i, i + n, label, need, media):
                    out.append(self.span(label, i, i + n, self.score))
                    i += n - 1
                    break
            i += 1
        return out


# --------------------------------------------------------------------------- ambiguous terms
def _media(doc: Doc) -> bool:
    return doc.base[0] in MEDIA_FIRST or bool(MEDIA_WORDS & set(doc.base))


def _in_context(doc: Doc, i: int, j: int, label: str, need: str, media: bool) -> bool:
    """Whether an ambiguous term at ``[i, j)`` keeps its sensitive sense here."""
    term, after, prev = doc.norm[i:j], doc.after(j, 2), doc.base[i - 1] if i else ""
    if media or CULTURE_NOUNS & set(after) or (after[:1] and after[0] in PLACE_NOUNS | FIRM_NOUNS):
        return False
    if term[-1] in PLACE_NOUNS | {t + "s" for t in PLACE_NOUNS} and any(
        doc.run_ending(k) for k in range(max(0, i - 3), i)
    ):
        return False  # the street of an address ("sixty torres union")
    if prev in BLOCK_BEFORE.get(term, ()) or (after[:1] and after[0] in BLOCK_AFTER.get(term, ())):
        return False
    if label == "ETHNICITY" and (
        prev in ("speak", "speaks") or (prev in ("in", "into") and j == len(doc))
    ):
        return False  # a language ("say thank you in japanese")
    if need == "self":
        return bool(SELF_WORDS & set(doc.norm))
    if need == "my":
        return bool({"my", "her", "your"} & set(doc.base[max(0, i - 2) : i]))
    if need == "det":
        return prev in DETERMINERS
    if need == "prep":
        return prev in PREPOSITIONS
    if need == "act":
        return bool(POLITICAL_ACTS & set(doc.base))
    return True


# ----------------------------------------------------------------------------- context rules
def _rare(doc: Doc, i: int) -> bool:
    """A word outside the common words, the name and the place gazetteers."""
    w = doc.base[i]
    return (
        len(w) >= 4
        and w.isalpha()
        and w not in common_words()
        and w not in name_gazetteer()
        and (w,) not in place_gazetteer()
    )


def _medication(doc: Doc) -> list[tuple[str, int, int]]:
    """Rare words within four words of a medication cue ("take", "refill", "ran out of")."""
    cues = [i for i, w in enumerate(doc.base) if w in MEDICATION_CUES]
    for phrase in MEDICATION_PHRASES:
        n = len(phrase)
        cues += [i + n - 1 for i in range(len(doc) - n + 1) if doc.base[i : i + n] == phrase]
    return [
        ("HEALTH", i, i + 1)
        for i in range(len(doc))
        if any(abs(i - c) <= 4 for c in cues) and _rare(doc, i)
    ]


def _endings(doc: Doc) -> list[tuple[str, int, int]]:
    """Rare words ending like a drug ("-statin", "-pril"); words ending like a condition ("-itis",
    "-osis", "-oma") unless everyday ones."""
    out = []
    for i, w in enumerate(doc.base):
        drug = w.endswith(DRUG_STEMS) and _rare(doc, i)
        condition = w.endswith(CONDITION_STEMS) and w not in NOT_CONDITIONS and len(w) >= 6
        if drug or (condition and w not in name_gazetteer() and (w,) not in place_gazetteer()):
            out.append(("HEALTH", _modifiers(doc, i, 1) if condition else i, i + 1))
    return out


def _modifiers(doc: Doc, i: int, most: int) -> int:
    """The start of up to ``most`` content words right before word ``i``."""
    a = i
    while a > max(0, i - most) and doc.base[a - 1] not in NOT_MODIFIERS:
        a -= 1
    return a


def _heads(doc: Doc) -> list[tuple[str, int, int]]:
    """A condition named by its head noun: "crohn's disease", "bipolar disorder"."""
    out = []
    for i, w in enumerate(doc.base):
        if w in HEADS and (
            w != "failure" or doc.base[i - 1 : i] in (("heart",), ("kidney",), ("liver",))
        ):
            out.append(("HEALTH", _modifiers(doc, i, 2), i + 1))
    return out


def _specialists(doc: Doc) -> list[tuple[str, int, int]]:
    """Medical specialists: "-ologist", "-iatrist", "-therapist", "surgeon", "ent specialist"."""
    out = []
    for i, w in enumerate(doc.base):
        if w.endswith(SPECIALIST_ENDINGS) and w.rstrip("s") not in NOT_MEDICAL:
            out.append(("HEALTH", _modifiers(doc, i, 1) if w == "surgeon" else i, i + 1))
        elif w in MODIFIED_HEADS and i and doc.base[i - 1] in HEALTH_MODIFIERS:
            out.append(("HEALTH", i - 1, i + 1))
    return out


def _name_after(doc: Doc, j: int, most: int = 3) -> int:
    """The end of up to ``most`` name-like words (in the name gazetteer, or rare) from ``j``."""
    k = j
    while k < min(len(doc), j + most) and (doc.base[k] in name_gazetteer() or _rare(doc, k)):
        k += 1
    return k


def _politics(doc: Doc) -> list[tuple[str, int, int]]:
    """The candidate after "voted for" / "canvassing for", before "campaign"; the cause before
    "rally" or "protest"."""
    out = []
    for i, w in enumerate(doc.base):
        if w in ("vote", "voted", "voting", "canvassing", "volunteer") and doc.after(i + 1, 1) == ("for",):  # fmt: skip
            k = _name_after(doc, i + 2)
            if k > i + 2:
                out.append(("POLITICS", i + 2, k))
        elif w == "campaign" and POLITICAL_ACTS - {"campaign"} & set(doc.base):
            a = i
            while a > 0 and (doc.base[a - 1] in name_gazetteer() or _rare(doc, a - 1)):
                a -= 1
            out.append(("POLITICS", a, i + 1))
        elif w in ("rally", "protest", "demonstration") and not _media(doc):
            a = i
            while a > 0 and doc.base[a - 1] not in ("the", "a", "this", "that") and i - a < 3:
                a -= 1
            if a > 0 and doc.base[a - 1] in ("the", "a"):
                out.append(("POLITICS", a, i + 1))
    return out


def _fast(doc: Doc) -> list[tuple[str, int, int]]:
    """The feast after "fasting for" / "fast for" when it is no ordinary word."""
    out = []
    for i, w in enumerate(doc.base[:-1]):
        if w in ("fast", "fasting") and doc.base[i + 1] == "for":
            k = i + 2
            while k < len(doc) and _rare(doc, k):
                k += 1
            if k > i + 2:
                out.append(("RELIGION", i + 2, k))
    return out


def _coming_out(doc: Doc) -> list[tuple[str, int, int]]:
    """ "came out as ...", "coming out to my parents" (not an album coming out)."""
    out = []
    for i, w in enumerate(doc.base[:-2]):
        nxt = doc.base[i + 2 : i + 4]
        told = nxt[:1] == ("as",) or (nxt[:1] == ("to",) and nxt[1:] and nxt[1] in SELF_WORDS)
        if w in ("came", "coming", "come") and doc.base[i + 1] == "out" and told:
            out.append(("SEXUAL_LIFE", i, i + 2))
    return out


def categories(spans: Iterable[Span]) -> set[str]:
    """The special categories among ``spans`` (e.g. ``{"HEALTH"}``)."""
    return {s.label for s in spans if s.label in SPECIAL_LABELS}


class Action(StrEnum):
    """What happens to a clip in which a special category fired."""

    WITHHOLD = "withhold"  # never sent to review
    MASK = "mask_and_warn"  # masked like PII, content-warning flag set


@dataclass(frozen=True)
class Decision:
    """A clip's fate: ``withhold`` it, or send it with ``content_warning``; ``reasons`` lists the
    categories that decided."""

    withhold: bool
    content_warning: bool
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class SpecialPolicy:
    """One :class:`Action` per special category; a typo in a category or an action fails here."""

    actions: Mapping[str, Action] = field(
        default_factory=lambda: {
            "HEALTH": Action.WITHHOLD,
            "SEXUAL_LIFE": Action.WITHHOLD,
            "RELIGION": Action.MASK,
            "POLITICS": Action.MASK,
            "ETHNICITY": Action.MASK,
        }
    )

    def __post_init__(self) -> None:
        unknown = set(self.actions) - set(SPECIAL_LABELS)
        if unknown:
            raise ValueError(f"unknown special categories {sorted(unknown)}; use {SPECIAL_LABELS}")
        missing = set(SPECIAL_LABELS) - set(self.actions)
        if missing:
            raise ValueError(f"special categories without an action: {sorted(missing)}")
        try:
            fixed = {k: Action(v) for k, v in self.actions.items()}
        except ValueError as e:
            choices = [a.value for a in Action]
            raise ValueError(f"{e}: each special category takes one of {choices}") from None
        object.__setattr__(self, "actions", fixed)

    def decide(self, fired: Iterable[str]) -> Decision:
        """Withhold if any fired category says so, else warn if any fired."""
        fired = sorted(set(fired) & set(SPECIAL_LABELS))
        withheld = tuple(c for c in fired if self.actions[c] is Action.WITHHOLD)
        if withheld:
            return Decision(True, True, withheld)
        return Decision(False, bool(fired), tuple(fired))
