"""Held-out special-category evaluation transcripts: health, sex life, religion, politics, ethnicity.

Requests that say something sensitive about the speaker (a prescription drug, a diagnosis, a
mosque, a vote, an ethnicity) and, just as many, hard negatives that share their words but say
nothing sensitive ("the party starts at eight", "lithium batteries", "church street", "text
christian"). Spoken form: lower-case words, numbers as words, as the corpus transcripts are written.

Two disjoint template sets: ``dev`` (look at it, tune on it) and ``test`` (written first, before
the detector was touched, and never tuned on). Slot values (drugs, conditions, faiths, parties,
candidates, ethnicities, names...) come from pools split into two disjoint halves by a stable hash
(:func:`redaction.data.pii_values.split_of`), so a test drug or candidate is never seen on dev.

Gold spans mark the words that carry the category: the term itself (the drug, the condition, the
specialist, "pregnant", the faith, the party, the candidate, the ethnicity) and the fixed words a
template marks with ``[LABEL words]``, never the request around them ("remind me to take my").
A leading article of a slot value ("a fever", "an atheist") is outside the span.

Labelling decisions (a request is positive when it reveals the speaker's, or a relative's, health,
sex life or orientation, faith, political opinion or union membership, or ethnic origin):

* news and general-knowledge questions about politicians are negative ("what did X say today");
* cuisine, languages, music and places named after a people are negative ("a korean restaurant");
* cultural holidays most people keep are negative ("christmas", "easter"); fasts and services
  are positive ("fasting for lent", "what time is mass");
* titles (songs, shows, games) are negative ("sex on fire", "doctor who", "temple run");
* names that are also religious or political words are negative ("call christian", "text faith");
* immigration status counts as ETHNICITY, as the detector's lexicon files it (national origin);
* requests left out because either label is defensible: a routine doctor's or dentist's
  appointment, over-the-counter painkillers, "remind me to vote", dating apps without an
  orientation (tinder), and news about a disease.

    >>> from redaction.data.special_templates import load
    >>> sorted(load("dev", 1, seed=0)[0])
    ['categories', 'spans', 'template', 'words']
"""

from __future__ import annotations

import random
import re
from typing import Any

from redaction.data.pii_values import split_of, words

LABELS = ("HEALTH", "SEXUAL_LIFE", "RELIGION", "POLITICS", "ETHNICITY")
NEGATIVE_SHARE = 0.5


def _pool(text: str) -> tuple[str, ...]:
    """Comma-separated values (each one or more words)."""
    return tuple(t.strip() for t in text.replace("\n", " ").split(",") if t.strip())


# ------------------------------------------------------------------------------------ value pools
# Each pool is split in two by a hash of the value; only one half is ever drawn for a split.
DRUG = words(
    """lisinopril metformin atorvastatin levothyroxine amlodipine metoprolol omeprazole simvastatin
    losartan albuterol gabapentin sertraline fluoxetine escitalopram citalopram bupropion trazodone
    alprazolam lorazepam clonazepam adderall ritalin oxycodone hydrocodone tramadol suboxone
    methadone zoloft prozac lexapro wellbutrin lithium seroquel abilify prednisone warfarin eliquis
    xarelto ozempic wegovy mounjaro humira truvada valtrex ambien lipitor synthroid insulin
    tamsulosin spironolactone hydroxyzine montelukast pantoprazole rosuvastatin duloxetine
    venlafaxine quetiapine aripiprazole lamotrigine topiramate clopidogrel furosemide carvedilol
    meloxicam cyclobenzaprine methotrexate tamoxifen finasteride sumatriptan buspirone mirtazapine
    paroxetine zolpidem naltrexone jardiance trulicity januvia enbrel dupixent vyvanse concerta
    xanax valium crestor nexium plavix singulair flomax lyrica cymbalta effexor narcan amoxicillin
    azithromycin doxycycline ciprofloxacin descovy keppra depakote latuda rexulti biktarvy
    letrozole anastrozole"""
)
CONDITION = _pool(
    """diabetes, type two diabetes, high blood pressure, asthma, cancer, breast cancer,
    prostate cancer, lung cancer, leukemia, lymphoma, melanoma, multiple sclerosis,
    crohn's disease, celiac disease, lupus, rheumatoid arthritis, epilepsy, migraines, hiv,
    hepatitis c, copd, kidney disease, heart failure, atrial fibrillation, sleep apnea,
    endometriosis, psoriasis, gout, shingles, glaucoma, hypothyroidism, fibromyalgia,
    parkinson's, alzheimer's, dementia, pneumonia, long covid, anemia, osteoporosis,
    cystic fibrosis, sickle cell anemia, ulcerative colitis, a brain tumor, kidney stones, pcos,
    herpes, chlamydia, lyme disease, tuberculosis, cerebral palsy, muscular dystrophy, als,
    a heart murmur, a hernia, gallstones, cataracts, scoliosis, thyroid cancer, diverticulitis,
    coronary artery disease, a blood clot, liver cirrhosis"""
)
MENTAL = _pool(
    """depression, anxiety, panic attacks, bipolar disorder, ptsd, ocd, adhd, an eating disorder,
    anorexia, bulimia, schizophrenia, insomnia, postpartum depression, social anxiety,
    a drinking problem, an opioid addiction, borderline personality disorder, autism,
    seasonal affective disorder, suicidal thoughts, self harm, a gambling addiction, agoraphobia,
    tourette's, binge eating, alcoholism, a cocaine habit, psychosis"""
)
SYMPTOM = _pool(
    """chest pain, a fever, a rash, shortness of breath, back pain, blood in my urine,
    a lump in my breast, dizziness, night sweats, a persistent cough, nausea, heart palpitations,
    a swollen ankle, numbness in my arm, blurry vision, ringing in my ears, stomach cramps,
    a bad migraine, a sore throat, diarrhea, vomiting, joint pain, a high temperature, hives,
    a stiff neck, a burning when i pee, fainting spells, hair loss, constipation, heartburn,
    swollen glands, memory loss, tingling in my feet, an irregular heartbeat, nosebleeds,
    an earache, blood in my stool, a lump on my neck, yellow skin, hot flashes"""
)
SPECIALIST = _pool(
    """oncologist, cardiologist, psychiatrist, therapist, dermatologist, neurologist,
    gynecologist, urologist, endocrinologist, rheumatologist, gastroenterologist, pulmonologist,
    nephrologist, allergist, fertility specialist, physical therapist, speech therapist,
    psychologist, podiatrist, orthopedic surgeon, midwife, hiv specialist, sleep specialist,
    addiction counselor, hematologist, ophthalmologist, obstetrician, pain management doctor,
    ent specialist, audiologist, psychotherapist, mental health counselor, hepatologist,
    plastic surgeon"""
)
ORIENTATION = _pool(
    """gay, lesbian, bisexual, bi, queer, pansexual, asexual, transgender, trans, nonbinary,
    gender fluid, demisexual"""
)
SEX_ITEM = _pool(
    """condoms, lube, lubricant, a vibrator, sex toys, dental dams, female condoms, a cock ring,
    edible underwear, a strap on, handcuffs for the bedroom, flavored condoms, ky jelly,
    trojan condoms, nipple clamps, a bondage kit, durex condoms, a masturbator"""
)
DATING_APP = _pool("grindr, scruff, feeld, jackd, hornet, taimi, ashley madison, lex, archer")
FAITH = _pool(
    """a catholic, a muslim, a hindu, a buddhist, a sikh, a mormon, a baptist, a methodist,
    a lutheran, an evangelical, an orthodox jew, a jain, a quaker, a pentecostal, a christian,
    an episcopalian, a presbyterian, a jehovah's witness, a seventh day adventist,
    a born again christian, a shia muslim, a sunni muslim, greek orthodox, an atheist,
    a practicing jew, a zoroastrian"""
)
WORSHIP = _pool(
    """church, mosque, synagogue, temple, gurdwara, cathedral, parish, kingdom hall, chapel,
    mandir, masjid, shul, monastery, tabernacle, baptist church, catholic church, hindu temple,
    buddhist temple, methodist church, lutheran church"""
)
CLERGY = _pool(
    """pastor, rabbi, imam, priest, bishop, deacon, youth pastor, chaplain, reverend, vicar,
    parish priest, pandit, granthi, cantor, lama"""
)
OBSERVANCE = _pool(
    """bible study, friday prayers, shabbat dinner, mass, confession, evening prayers,
    sunday school, the rosary, iftar, the passover seder, the eid prayer, puja, vespers,
    communion, bar mitzvah lessons, catechism class, quran class, torah study, the sunday sermon,
    youth group at church, the prayer meeting, choir practice at church, adoration, kirtan"""
)
FAST = _pool(
    """ramadan, lent, yom kippur, navratri, ekadashi, the fast of esther, tisha b'av,
    ash wednesday, great lent, karva chauth, paryushan, the daniel fast"""
)
PARTISAN = _pool(
    """a democrat, a republican, a libertarian, a socialist, a green party member, a tory,
    a labour voter, a progressive, a conservative, a trump supporter, a bernie supporter,
    a maga republican, a democratic socialist, a communist, an independent, a member of the dsa,
    a liberal, a lib dem"""
)
PARTY = _pool(
    """the democratic party, the republican party, the green party, the libertarian party,
    the labour party, the conservative party, the working families party,
    the democratic socialists, the dnc, the rnc, the reform party, the liberal democrats,
    the constitution party, the socialist party, the proud boys, the young republicans,
    the college democrats"""
)
CANDIDATE = _pool(
    """joe biden, donald trump, kamala harris, bernie sanders, ron desantis, nikki haley,
    elizabeth warren, pete buttigieg, barack obama, hillary clinton, mike pence, gavin newsom,
    rfk junior, vivek ramaswamy, alexandria ocasio cortez, ted cruz, marco rubio, jd vance,
    tim walz, keir starmer, rishi sunak, boris johnson, justin trudeau, chuck schumer,
    mitch mcconnell, nancy pelosi, eric adams, greg abbott, gretchen whitmer, josh shapiro,
    jill stein, cory booker"""
)
UNION = _pool(
    """the teamsters, the uaw, the teachers union, the nurses union, seiu, the afl cio,
    the machinists union, the carpenters union, the electricians union, the united steelworkers,
    the screen actors guild, the writers guild, unite here, the ibew, the union local,
    the transit workers union, afscme, the communications workers"""
)
ISSUE = _pool(
    """pro choice, pro life, black lives matter, climate strike, gun control, stop the steal,
    free palestine, anti war, abortion rights, immigrant rights, defund the police,
    second amendment, no kings, anti trump, anti abortion, stand with israel"""
)
ETHNIC = _pool(
    """african american, black, hispanic, latino, latina, mexican american, asian american,
    chinese american, korean american, filipino, vietnamese, native american, cherokee, navajo,
    indigenous, pacific islander, white, caucasian, middle eastern, arab, somali, nigerian,
    haitian, jamaican, puerto rican, irish, italian american, polish, roma, punjabi, mixed race,
    biracial, hmong, samoan, ethiopian, persian, kurdish, pakistani, bengali, armenian, latinx,
    afro latina, indian american, japanese american, dominican"""
)
# Names, some of them religious or political words: never a category themselves.
FIRST = words(
    """christian faith grace jordan mohammed muhammad israel trinity jesus mercy hope emma liam
    olivia noah ava ethan sofia mason maya lucas chloe aiden zoe carlos priya wei fatima omar
    deshawn keisha diego yuki anna david sarah michael nevaeh genesis eden moses abraham
    miriam shiloh bishop deacon jihad christina dominic rebel liberty justice major kennedy
    reagan lincoln"""
)
RELATIVE = words("mom dad son daughter wife husband brother sister grandma grandpa partner aunt")
WHEN = _pool("tomorrow, tonight, on monday, next week, this afternoon, on friday, on sunday")
DAY = words("monday tuesday wednesday thursday friday saturday sunday")
CLOCK = _pool("seven, seven thirty, eight fifteen, nine, ten a m, six p m, noon, five forty five")
COUNT = words("two three four five six seven eight nine ten eleven twelve")
MONEY = _pool("twenty dollars, fifty dollars, a hundred dollars, ten bucks, twenty five dollars")
PERCENT = _pool("twelve, twenty five, forty, sixty, eighty five, thirty")

# Slot -> (gold label or None, pool). Lower-case slots carry no category.
SLOTS: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "DRUG": ("HEALTH", DRUG),
    "CONDITION": ("HEALTH", CONDITION),
    "MENTAL": ("HEALTH", MENTAL),
    "SYMPTOM": ("HEALTH", SYMPTOM),
    "SPECIALIST": ("HEALTH", SPECIALIST),
    "ORIENTATION": ("SEXUAL_LIFE", ORIENTATION),
    "SEX_ITEM": ("SEXUAL_LIFE", SEX_ITEM),
    "DATING_APP": ("SEXUAL_LIFE", DATING_APP),
    "FAITH": ("RELIGION", FAITH),
    "WORSHIP": ("RELIGION", WORSHIP),
    "CLERGY": ("RELIGION", CLERGY),
    "OBSERVANCE": ("RELIGION", OBSERVANCE),
    "FAST": ("RELIGION", FAST),
    "PARTISAN": ("POLITICS", PARTISAN),
    "PARTY": ("POLITICS", PARTY),
    "CANDIDATE": ("POLITICS", CANDIDATE),
    "UNION": ("POLITICS", UNION),
    "ISSUE": ("POLITICS", ISSUE),
    "ETHNIC": ("ETHNICITY", ETHNIC),
    # No category: they fill the request around the term, or name a person in a hard negative.
    "first": (None, FIRST),
    "relative": (None, RELATIVE),
    "when": (None, WHEN),
    "day": (None, DAY),
    "clock": (None, CLOCK),
    "count": (None, COUNT),
    "money": (None, MONEY),
    "percent": (None, PERCENT),
    "candidate": (None, CANDIDATE),
}
_ARTICLES = {"a", "an", "the"}
# Pools split between dev and test; the other fillers are shared (they carry nothing).
SPLIT_SLOTS = {slot for slot, (label, _) in SLOTS.items() if label is not None} | {
    "first",
    "candidate",
}

# ---------------------------------------------------------------------------------- templates
# fmt: off
# The test set: written first, before the detector was changed; never tuned on.
TEST_POSITIVES = (
    # HEALTH: medications, conditions, symptoms, specialists, pregnancy, mental health.
    "order a refill of my {DRUG}",
    "did i take my {DRUG} this morning",
    "remind me to take my {DRUG} at {clock}",
    "what are the side effects of {DRUG}",
    "remind me to give my {relative} the {DRUG} after dinner",
    "my {relative} was just [HEALTH diagnosed] with {CONDITION}",
    "find a support group for people with {CONDITION}",
    "what foods should i avoid with {CONDITION}",
    "i've had {SYMPTOM} for {count} days",
    "should i go to urgent care for {SYMPTOM}",
    "book an appointment with my {SPECIALIST} {when}",
    "cancel my {SPECIALIST} appointment on {day}",
    "i'm {count} weeks [HEALTH pregnant]",
    "add a [HEALTH pregnancy test] to my shopping list",
    "find a {SPECIALIST} who treats {MENTAL}",
    "i've been struggling with {MENTAL} lately",
    "remind me to check my [HEALTH blood sugar] before lunch",
    # SEXUAL_LIFE
    "are there any {ORIENTATION} clubs around here",
    "how do i tell my parents i'm {ORIENTATION}",
    "add {SEX_ITEM} to my cart",
    "open {DATING_APP}",
    "i had [SEXUAL_LIFE unprotected sex] last night where can i get the [HEALTH morning after pill]",
    # RELIGION
    "what time is {OBSERVANCE} {when}",
    "find a {WORSHIP} near me",
    "remind me to call the {CLERGY} about the [RELIGION baptism]",
    "i'm {FAITH} so what can i eat at this restaurant",
    "i'm fasting for {FAST} so no lunch reminders",
    "set an alarm for [RELIGION morning prayers]",
    # POLITICS
    "i'm registered as {PARTISAN}",
    "donate {money} to the {CANDIDATE} [POLITICS campaign]",
    "i [POLITICS voted for] {CANDIDATE} in the primary",
    "when is the next meeting of {UNION}",
    "sign me up to volunteer for {PARTY}",
    "find the {ISSUE} [POLITICS protest] {when}",
    "pay my [POLITICS union dues]",
    # ETHNICITY
    "my family is {ETHNIC}",
    "my dna test says i'm {percent} percent {ETHNIC}",
    "check {ETHNIC} for [ETHNICITY race] on the census form",
    "find scholarships for {ETHNIC} students like me",
    "when is my [ETHNICITY green card] interview",
)
TEST_NEGATIVES = (
    # Words of HEALTH that carry none.
    "what's my horoscope for cancer this week",
    "is there a tropical depression heading for florida",
    "buy a {count} pack of lithium batteries",
    "add a case of doctor pepper to my cart",
    "set a reminder for the doctor who episode",
    "check the tire pressure on my car",
    "remind me to take out the recycling",
    "play saturday night fever",
    "when is the new season of grey's anatomy",
    "run a virus scan on my laptop",
    "add coffee capsules to the shopping list",
    # SEXUAL_LIFE
    "when is the new album coming out",
    "there's a kink in the garden hose",
    "play sex on fire by kings of leon",
    "hook up the new speaker to the tv",
    "play the pride and prejudice audiobook",
    # RELIGION
    "navigate to {count} church street",
    "play living on a prayer by bon jovi",
    "text {first} that i'm running late",
    "call {first} back {when}",
    "play temple run",
    "play christmas carols in the kitchen",
    "add kosher salt to the shopping list",
    "what's the score of the saints game",
    # POLITICS
    "remind everyone the party starts at eight",
    "start a poll so we can vote on the pizza toppings",
    "what time does union station close",
    "transfer {money} to my credit union account",
    "give me a conservative estimate for the drive",
    "play party in the usa",
    "how do i vote for my favorite singer on american idol",
    "what did {candidate} say today",
    "book a flight to the dominican republic",
    # ETHNICITY
    "find a mexican restaurant near me",
    "translate good morning into korean",
    "play irish folk music",
    "show me black friday deals on televisions",
    "how deep is the indian ocean",
    "play white noise",
    "which native plants grow well in shade",
)
# The dev set: tune on it.
DEV_POSITIVES = (
    # HEALTH
    "refill my {DRUG} [HEALTH prescription]",
    "how much {DRUG} should i take",
    "i ran out of {DRUG}",
    "is it safe to drink alcohol with {DRUG}",
    "set a daily reminder for my {relative} to take {DRUG}",
    "i was [HEALTH diagnosed] with {CONDITION} last year",
    "my {relative} has {CONDITION}",
    "my {relative} is in the hospital with {CONDITION}",
    "i woke up with {SYMPTOM}",
    "why do i keep getting {SYMPTOM}",
    "what time is my {SPECIALIST} appointment",
    "find a {SPECIALIST} near me",
    "my wife is [HEALTH pregnant] with twins",
    "when is my [HEALTH ultrasound] appointment",
    "i think i have {MENTAL}",
    "log my [HEALTH blood pressure] reading",
    "when is my next [HEALTH period] due",
    # SEXUAL_LIFE
    "find a {ORIENTATION} bar downtown",
    "i came out as {ORIENTATION} to my friends",
    "order {SEX_ITEM}",
    "delete my {DATING_APP} account",
    "find a [SEXUAL_LIFE sex] [HEALTH therapist] for me and my partner",
    # RELIGION
    "when does {OBSERVANCE} start {when}",
    "directions to my {WORSHIP}",
    "text the {CLERGY} that i'll be late for [RELIGION confirmation] class",
    "as {FAITH} can i eat gelatin",
    "what time do i break my fast for {FAST} today",
    "read me today's [RELIGION bible verse]",
    "play a [RELIGION quran recitation]",
    # POLITICS
    "i've always been {PARTISAN}",
    "donate {money} to {PARTY}",
    "i'm [POLITICS voting for] {CANDIDATE} in november",
    "remind me about the [POLITICS strike vote] at {UNION}",
    "how do i join {UNION}",
    "what time is the {ISSUE} [POLITICS rally]",
    "i'm [POLITICS canvassing for] {CANDIDATE} this weekend",
    # ETHNICITY
    "i'm {ETHNIC}",
    "my {relative} is {ETHNIC}",
    "as a {ETHNIC} woman what shade of foundation suits me",
    "fill in {ETHNIC} as my [ETHNICITY ethnicity]",
    "help me fill out my [ETHNICITY asylum] application",
    "i'm [ETHNICITY undocumented] can i still get a driver's license",
)
DEV_NEGATIVES = (
    # HEALTH
    "tell me about the great depression",
    "play songs by doctor dre",
    "what's the barometric pressure today",
    "add blood oranges to the shopping list",
    "play heart of glass by blondie",
    "where is the operation board game",
    "how do i get rid of the virus on my computer",
    "put on an episode of scrubs",
    "remind me about fourth period chemistry",
    "is my tablet charged",
    "play fever by peggy lee",
    # SEXUAL_LIFE
    "play god save the queen by the sex pistols",
    "what time is the movie coming out on netflix",
    "add sex and the city to my watchlist",
    "buy some tinder and kindling for the fire pit",
    "play the trans siberian orchestra",
    "add queer eye to my watchlist",
    # RELIGION
    "play stairway to heaven",
    "play god of war",
    "find a recipe for angel food cake",
    "how many days until easter",
    "when is the saint patrick's day parade",
    "text {first} happy birthday",
    "remind {first} to feed the cat",
    "navigate to temple university",
    "play like a prayer by madonna",
    "what's the mass of the earth",
    "find a jewish deli near the office",
    # POLITICS
    "plan a surprise party for {first}",
    "give me ideas for a bachelor party",
    "the third party app keeps crashing",
    "what countries are in the european union",
    "how do i join the credit union",
    "when is labor day this year",
    "draft an email about our marketing campaign",
    "when is the debate between {candidate} and {candidate}",
    "when is the monte carlo rally on tv",
    "find a banana republic store",
    "add a liberal amount of salt",
    # ETHNICITY
    "order pad thai from the thai place",
    "how do you say thank you in japanese",
    "play latin jazz",
    "brew a pot of black coffee",
    "my dog is a german shepherd",
    "find an indian restaurant that delivers",
    "play native american flute music",
    "what time is it in jamaica",
)
# fmt: on
TEMPLATES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "dev": (DEV_POSITIVES, DEV_NEGATIVES),
    "test": (TEST_POSITIVES, TEST_NEGATIVES),
}

_TOKEN = re.compile(r"\[([A-Z_]+) ([^\]]+)\]|\{(\w+)\}|(\S+)")


def values(slot: str, split: str) -> tuple[str, ...]:
    """The values of a slot that ``split`` draws from (half the pool for :data:`SPLIT_SLOTS`)."""
    pool = SLOTS[slot][1]
    return tuple(x for x in pool if split_of(x) == split) if slot in SPLIT_SLOTS else pool


def render(template: str, rng: random.Random, split: str) -> dict[str, Any]:
    """Fill a template's slots from ``split``'s half of each pool; the record with its gold spans."""
    out: list[str] = []
    spans: list[dict[str, Any]] = []
    for m in _TOKEN.finditer(template):
        label, fixed, slot, plain = m.groups()
        if plain is not None:
            out.append(plain)
            continue
        skip = 0
        if fixed is not None:
            new = fixed.split()
        else:
            label, _ = SLOTS[slot]
            new = rng.choice(values(slot, split)).split()
            skip = int(new[0] in _ARTICLES and len(new) > 1)
            if out and out[-1] == "a" and new[0][0] in "aeiou":
                out[-1] = "an"
        if label is not None:
            spans.append({"label": label, "start": len(out) + skip, "end": len(out) + len(new)})
        out += new
    return {
        "words": out,
        "categories": sorted({s["label"] for s in spans}, key=LABELS.index),
        "spans": spans,
        "template": template,
    }


def generate(split: str, n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` records of one split, about :data:`NEGATIVE_SHARE` of them hard negatives."""
    if split not in TEMPLATES:
        raise ValueError(f"split must be one of {sorted(TEMPLATES)}, not {split!r}")
    positives, negatives = TEMPLATES[split]
    rng = random.Random(f"special-{split}-{seed}")
    return [
        render(rng.choice(negatives if rng.random() < NEGATIVE_SHARE else positives), rng, split)
        for _ in range(n)
    ]


def load(split: str, n: int = 1000, seed: int = 0) -> list[dict[str, Any]]:
    """Records ``{words, categories, spans, template}``.

    Args:
        split: ``dev`` (tune on it) or ``test`` (held out).
        n: number of requests; about half are hard negatives (``categories == []``).
        seed: the same seed gives the same requests.

    Returns:
        One dict per request: ``words`` (lower-case spoken words), ``categories`` (the special
        labels it carries, in :data:`LABELS` order), ``spans`` (gold ``{label, start, end}``, word
        indices, end exclusive) and the ``template`` it came from.
    """
    return generate(split, n, seed)
