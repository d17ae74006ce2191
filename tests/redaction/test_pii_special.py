"""Special categories: the recognizer (positives, hard negatives, context), and the policy."""

from __future__ import annotations

import pytest

from redaction.pii import SpecialPolicy, special_categories
from redaction.pii.doc import Doc
from redaction.pii.special import Action, SpecialCategoryRecognizer

R = SpecialCategoryRecognizer()


def fired(text: str) -> set[str]:
    return {s.label for s in R.analyze(Doc.of(text))}


def marked(text: str) -> list[tuple[str, str]]:
    doc = Doc.of(text)
    return [(s.label, " ".join(doc.words[s.start : s.end])) for s in R.analyze(doc)]


POSITIVES = [
    # HEALTH: medications (listed, or a rare word in a medication request, or a drug stem),
    # conditions, symptoms, specialists, pregnancy, mental health.
    ("refill my xanax prescription", "HEALTH"),
    ("remind me to take my insulin", "HEALTH"),
    ("i ran out of zolpidem", "HEALTH"),
    ("how much quinapril should i take", "HEALTH"),
    ("my dad was diagnosed with crohn's disease", "HEALTH"),
    ("my sister has ulcerative colitis", "HEALTH"),
    ("i think i have an eating disorder", "HEALTH"),
    ("i woke up with a rash on my arm", "HEALTH"),
    ("book an appointment with my rheumatologist", "HEALTH"),
    ("find a therapist near me", "HEALTH"),
    ("my wife is pregnant", "HEALTH"),
    ("when is my next period due", "HEALTH"),
    ("i've been feeling depressed", "HEALTH"),
    # SEXUAL_LIFE
    ("find a gay bar downtown", "SEXUAL_LIFE"),
    ("i came out as bi to my parents", "SEXUAL_LIFE"),
    ("order more condoms", "SEXUAL_LIFE"),
    ("delete my grindr account", "SEXUAL_LIFE"),
    # RELIGION
    ("where is the nearest mosque", "RELIGION"),
    ("what time is mass on sunday", "RELIGION"),
    ("i'm fasting for ramadan", "RELIGION"),
    ("i'm fasting for ekadashi", "RELIGION"),  # unlisted: a rare word after "fasting for"
    ("what do i give up for lent", "RELIGION"),
    ("remind me to call the bishop", "RELIGION"),
    # POLITICS
    ("who did i vote for in the primary", "POLITICS"),
    ("i voted for gavin newsom", "POLITICS"),
    ("donate twenty dollars to the newsom campaign", "POLITICS"),
    ("when is the teachers union meeting", "POLITICS"),
    ("what time is the climate justice rally", "POLITICS"),
    # ETHNICITY
    ("what is my immigration status", "ETHNICITY"),
    ("i'm hispanic", "ETHNICITY"),
    ("my aunt is persian", "ETHNICITY"),
]
HARD_NEGATIVES = [
    "set a timer for twenty five minutes",
    "how many days until christmas",
    "remind me to take my pills",  # too common to withhold every such request
    "remind me to take out the recycling",
    "refill my coffee",
    "set a reminder for the doctor who episode",
    "tell me about the great depression",
    "remind me about fourth period chemistry",
    "play sex on fire by kings of leon",  # a title
    "add queer eye to my watchlist",
    "when is the new album coming out",
    "play livin on a prayer",
    "navigate to twelve church street",  # an address
    "navigate to temple university",
    "what's the mass of the earth",
    "find a jewish deli",  # a cuisine
    "call bishop back",  # a name
    "text christian that i'm late",
    "i lent my car to joe",
    "the party starts at eight",
    "start a poll so we can vote on the pizza toppings",
    "how do i join the credit union",
    "order a taxi to forty one heath unions",
    "my husband works for progressive insurance",
    "when is the debate between ted cruz and beto",  # news, no opinion of the speaker's
    "how do you say hello in vietnamese",  # a language
    "buy a persian rug",
    "play native american flute music",
    "call jordan",
]


@pytest.mark.parametrize(("text", "category"), POSITIVES)
def test_positives(text, category):
    assert category in fired(text)


@pytest.mark.parametrize("text", HARD_NEGATIVES)
def test_hard_negatives(text):
    assert fired(text) == set()


@pytest.mark.parametrize(
    ("text", "spans"),
    [
        (
            "please refill my xanax prescription",
            [("HEALTH", "refill my"), ("HEALTH", "xanax"), ("HEALTH", "prescription")],
        ),
        ("my sister has ulcerative colitis", [("HEALTH", "ulcerative colitis")]),
        ("find a plastic surgeon", [("HEALTH", "plastic surgeon")]),
        ("i voted for gavin newsom", [("POLITICS", "voted for"), ("POLITICS", "gavin newsom")]),
        ("i'm fasting for karva chauth", [("RELIGION", "karva chauth")]),
        ("find a therapist near me", [("HEALTH", "therapist")]),  # one span, not one per rule
    ],
)
def test_spans_cover_the_terms(text, spans):
    assert marked(text) == spans


def test_written_style():
    assert marked("Refill my Zolpidem prescription.") == [
        ("HEALTH", "Refill my"),
        ("HEALTH", "Zolpidem"),
        ("HEALTH", "prescription."),
    ]


@pytest.mark.parametrize(
    ("ambiguous", "innocent"),
    [
        ("i'm polish", "buy nail polish"),  # @self: a personal word
        ("text the deacon", "text deacon"),  # @det: a determiner before it
        ("i gave up chocolate for lent", "i lent him my car"),  # @prep
        ("i'm voting for trump", "what did trump say today"),  # @act: a political act
        ("my period is late", "what period is the class"),  # @my: a possessive before it
        ("where is the nearest church", "play church bells"),  # media request
    ],
)
def test_ambiguous_terms_need_their_context(ambiguous, innocent):
    assert fired(ambiguous) and not fired(innocent)


def test_categories_through_the_analyzer():
    for text, expected in [("find a therapist near me", {"HEALTH"}), ("play sex on fire", set())]:
        assert special_categories(text.split(" ")) == expected


def test_lexicon_override_and_typos():
    r = SpecialCategoryRecognizer(lexicon={"HEALTH": ["flux capacitor"]})
    assert [s.label for s in r.analyze(Doc.of("order a flux capacitor"))] == ["HEALTH"]
    with pytest.raises(ValueError, match="HEALTHCARE"):
        SpecialCategoryRecognizer(lexicon={"HEALTHCARE": ["aspirin"]})


def test_policy():
    policy = SpecialPolicy()
    assert policy.decide(["HEALTH", "RELIGION"]).withhold
    d = policy.decide(["RELIGION"])
    assert (d.withhold, d.content_warning, d.reasons) == (False, True, ("RELIGION",))
    assert policy.decide([]) == policy.decide(["PERSON"])
    assert not policy.decide([]).content_warning


@pytest.mark.parametrize(
    "actions",
    [
        {"HEALTH": "withold", "SEXUAL_LIFE": "withhold", "RELIGION": "withhold", "POLITICS": "withhold", "ETHNICITY": "withhold"},
        {"HEALTH": "withhold"},
        {"HEALTHCARE": "withhold", "SEXUAL_LIFE": "withhold", "RELIGION": "withhold", "POLITICS": "withhold", "ETHNICITY": "withhold"},
    ],
)  # fmt: skip
def test_a_policy_typo_fails_at_load(actions):
    with pytest.raises(ValueError):
        SpecialPolicy(actions)


def test_policy_takes_strings():
    p = SpecialPolicy(dict.fromkeys(["HEALTH", "SEXUAL_LIFE", "RELIGION", "POLITICS", "ETHNICITY"], "mask_and_warn"))  # fmt: skip
    assert set(p.actions.values()) == {Action.MASK}
