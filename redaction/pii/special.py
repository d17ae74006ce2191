"""Special categories of personal data (health, sex life, religion, politics, ethnicity).

A request for a prescription drug, a therapist, a mosque or a ballot says something sensitive
about the speaker even with every name and number masked. :class:`SpecialCategoryRecognizer`
marks the words (spans labelled ``HEALTH``, ``SEXUAL_LIFE``, ``RELIGION``, ``POLITICS``,
``ETHNICITY``); :func:`categories` says which fired; :class:`SpecialPolicy` says what a clip that
fired must become: withheld from review, or masked and shown with a content warning.

The lexicons are deliberately explicit terms (drug names, conditions, faiths, parties), not
everyday words that merely touch a topic ("christmas", "pills", "doctor"), so that ordinary
requests are not withheld.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from redaction.pii.doc import Doc
from redaction.pii.recognizer import SPECIAL_LABELS, Recognizer
from redaction.spans import Span


def _terms(text: str) -> tuple[tuple[str, ...], ...]:
    """Comma-separated terms, each one or more words."""
    return tuple(tuple(t.split()) for t in text.replace("\n", " ").split(",") if t.strip())


LEXICON: dict[str, tuple[tuple[str, ...], ...]] = {
    "HEALTH": _terms(
        """prescription, prescriptions, refill my, medication, medications, dosage, insulin,
        diabetes, diabetic, cancer, chemo, chemotherapy, tumor, tumour, hiv, aids test, std, stds,
        sti, herpes, hepatitis, pregnant, pregnancy, pregnancy test, miscarriage, abortion, ivf,
        fertility, birth control, contraceptive, depression, depressed, anxiety attack,
        antidepressant, antidepressants, therapist, therapy session, psychiatrist, psychologist,
        bipolar, schizophrenia, adhd, autism, ptsd, rehab, addiction, alcoholic, overdose,
        suicide, suicidal, dementia, alzheimer's, alzheimers, parkinson's, epilepsy, seizure,
        seizures, asthma, inhaler, blood pressure, hypertension, cholesterol, heart attack,
        chemotherapy, biopsy, diagnosis, diagnosed, mri, oncologist, cardiologist, dermatologist,
        gynecologist, urologist, methadone, metformin, lisinopril, atorvastatin, levothyroxine,
        amlodipine, metoprolol, omeprazole, simvastatin, losartan, albuterol, gabapentin,
        sertraline, fluoxetine, escitalopram, citalopram, bupropion, trazodone, alprazolam,
        xanax, lorazepam, ativan, clonazepam, klonopin, adderall, ritalin, oxycodone, hydrocodone,
        vicodin, percocet, tramadol, morphine, fentanyl, suboxone, zoloft, prozac, lexapro,
        wellbutrin, lithium, seroquel, abilify, prednisone, warfarin, eliquis, xarelto, ozempic,
        wegovy, mounjaro, humira, truvada, plan b, valtrex, ambien, lipitor, synthroid, viagra,
        cialis, antibiotics, amoxicillin, chlamydia, gonorrhea, syphilis, covid positive"""
    ),
    "SEXUAL_LIFE": _terms(
        """gay, lesbian, bisexual, transgender, trans woman, trans man, queer, lgbt, lgbtq,
        sex, sexual, condom, condoms, porn, grindr, tinder, hookup, erectile, sex toy, coming out,
        pride parade, nonbinary, non-binary, polyamorous, kink"""
    ),
    "RELIGION": _terms(
        """church, mosque, synagogue, prayer, prayers, pray, praying, bible, quran, koran, torah,
        ramadan, eid, passover, yom kippur, rosh hashanah, sabbath, shabbat, rabbi, imam,
        sermon, baptism, bar mitzvah, bat mitzvah, communion, confession, rosary, hindu, muslim,
        christianity, catholic, jewish, buddhist, sikh, atheist, mormon, evangelical, protestant,
        diwali, gurdwara, halal, kosher, mass on sunday, go to mass, temple service, jehovah's"""
    ),
    "POLITICS": _terms(
        """democrat, democrats, democratic party, republican, republicans, gop, maga, socialist,
        communist, libertarian, political party, voted for, vote for, ballot, polling place,
        caucus, campaign donation, donate to the campaign, protest, protests, rally for,
        union meeting, trump, biden, obama, kamala"""
    ),
    "ETHNICITY": _terms(
        """ethnicity, ethnic, african american, hispanic, latino, latina, latinx, asian american,
        native american, indigenous, caucasian, immigration status, undocumented, refugee,
        asylum, green card, my race"""
    ),
}


class SpecialCategoryRecognizer(Recognizer):
    """Longest lexicon match per position; one span per term, labelled with its category."""

    labels = SPECIAL_LABELS

    def __init__(self, *, score: float = 0.8, lexicon: Mapping[str, Iterable[str]] | None = None):
        self.score = score
        table = LEXICON if lexicon is None else {k: _terms(",".join(v)) for k, v in lexicon.items()}
        unknown = set(table) - set(SPECIAL_LABELS)
        if unknown:
            raise ValueError(f"unknown special categories {sorted(unknown)}; use {SPECIAL_LABELS}")
        self.terms = {t: label for label, terms in table.items() for t in terms}
        self.lengths = sorted({len(t) for t in self.terms}, reverse=True)

    def analyze(self, doc: Doc) -> list[Span]:
        out = []
        i = 0
        while i < len(doc):
            for n in (n for n in self.lengths if i + n <= len(doc)):
                label = self.terms.get(doc.norm[i : i + n])
                if label is not None:
                    out.append(self.span(label, i, i + n, self.score))
                    i += n - 1
                    break
            i += 1
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
