"""What the voices say: the wake phrase, hard negatives, and requests with PII.

Each device is a household (:class:`Household`) with its own contacts, address,
cards and habits, so devices differ in what they say (non-IID). Requests come from
templates whose slots Faker fills; every PII slot becomes a :class:`PiiSlot` word
range, so redaction can be trained and scored against exact spans.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass, field

from faker import Faker

from speech.data import spoken
from speech.data.manifest import PiiSlot

# Birth dates are drawn from a fixed window (ages 18 to 90 in 2026), not from today's date:
# a corpus built on another day must say exactly the same things.
BIRTH_DATES = (datetime.date(1936, 1, 1), datetime.date(2008, 12, 31))

CITIES = [
    "boston",
    "chicago",
    "denver",
    "seattle",
    "portland",
    "austin",
    "dallas",
    "houston",
    "phoenix",
    "atlanta",
    "miami",
    "orlando",
    "nashville",
    "memphis",
    "detroit",
    "cleveland",
    "pittsburgh",
    "philadelphia",
    "baltimore",
    "richmond",
    "raleigh",
    "charlotte",
    "tampa",
    "omaha",
    "tulsa",
    "albany",
    "buffalo",
    "madison",
    "milwaukee",
    "minneapolis",
    "sacramento",
    "oakland",
    "fresno",
    "tucson",
    "spokane",
    "boise",
    "reno",
    "anchorage",
    "honolulu",
    "louisville",
]

# Templates: plain words and {SLOT}s. A slot in upper case is PII (its label); lower case is not.
REQUESTS: dict[str, tuple[str, ...]] = {
    "call": (
        "call {PERSON}",
        "call {PERSON} on their mobile",
        "phone {PERSON} please",
        "dial {PHONE_NUMBER}",
        "call {PHONE_NUMBER}",
        "add {PERSON} to my contacts with number {PHONE_NUMBER}",
    ),
    "message": (
        "send a message to {PERSON} saying i will be late",
        "text {PERSON} that dinner is ready",
        "tell {PERSON} i am on my way",
        "send an email to {EMAIL_ADDRESS}",
        "my email address is {EMAIL_ADDRESS}",
        "forward this to {EMAIL_ADDRESS}",
    ),
    "pay": (
        "pay {PERSON} {AMOUNT}",
        "transfer {AMOUNT} to {PERSON}",
        "my card number is {CREDIT_CARD}",
        "pay with the card ending {card_end} no use {CREDIT_CARD}",
        "send {AMOUNT} to {PERSON} for dinner",
    ),
    "address": (
        "navigate to {STREET_ADDRESS}",
        "my address is {STREET_ADDRESS}",
        "order a taxi to {STREET_ADDRESS}",
        "deliver it to {STREET_ADDRESS} please",
    ),
    "identity": (
        "my date of birth is {DATE_OF_BIRTH}",
        "my social security number is {US_SSN}",
        "i was born on {DATE_OF_BIRTH}",
        "the last patient was {PERSON} born {DATE_OF_BIRTH}",
    ),
    "travel": (
        "what is the weather in {LOCATION}",
        "how long does it take to drive to {LOCATION}",
        "book a table for {count} in {LOCATION}",
        "find flights to {LOCATION} for {PERSON}",
    ),
    "timer": (
        "set a timer for {minutes} minutes",
        "cancel the timer",
        "how much time is left on the timer",
        "set an alarm for {clock}",
        "wake me up at {clock} tomorrow",
    ),
    "weather": (
        "what is the weather like today",
        "will it rain tomorrow",
        "do i need an umbrella",
        "how cold is it outside",
    ),
    "music": (
        "play some {genre} music",
        "skip this song",
        "turn the volume up",
        "turn it down a little",
        "pause the music",
        "play the next episode",
    ),
    "home": (
        "turn {onoff} the lights in the {room}",
        "set the thermostat to {count} degrees",
        "lock the front door",
        "dim the {room} lights",
        "is the garage door open",
    ),
    "reminder": (
        "remind me to {task} {when}",
        "add {item} to my shopping list",
        "what is on my calendar {when}",
        "read my shopping list",
    ),
}
_FILL = {
    "genre": ["jazz", "rock", "classical", "country", "pop", "blues", "folk", "reggae"],
    "onoff": ["on", "off"],
    "room": ["kitchen", "bedroom", "living room", "hallway", "bathroom", "office", "garden"],
    "task": [
        "call the bank",
        "water the plants",
        "buy milk",
        "take my pills",
        "pick up the kids",
        "book a dentist appointment",
        "pay the rent",
    ],
    "when": ["tomorrow", "this evening", "on monday", "next week", "in an hour", "tonight"],
    "item": ["eggs", "bread", "apples", "coffee", "butter", "rice", "onions"],
}
ORDINARY = (
    "i think we should leave a bit earlier tomorrow",
    "did you see the game last night",
    "can you pass me the salt",
    "the kids are already asleep upstairs",
    "we need to fix the sink",
    "what time does the shop close",
    "my sister is coming over on sunday",
    "that movie was so long",
    "put the kettle on would you",
    "i can not find my keys anywhere",
    "the dog needs a walk",
    "let us order pizza tonight",
    "it has been raining all week",
    "turn that noise down please",
    "where did you put the remote",
    "dinner will be ready in ten minutes",
    "i will call you back later",
    "have you finished your homework",
    "the traffic was terrible this morning",
    "we are out of milk again",
    "my phone battery is almost dead",
    "the meeting ran over by an hour",
    "look at the snow outside",
    "i have a headache",
    "the neighbours are having a party",
    "this coffee is cold",
)

PII_LABELS = (
    "PERSON",
    "PHONE_NUMBER",
    "EMAIL_ADDRESS",
    "CREDIT_CARD",
    "STREET_ADDRESS",
    "DATE_OF_BIRTH",
    "US_SSN",
    "LOCATION",
    "AMOUNT",
)


@dataclass
class Prompt:
    """A sentence to synthesize: spoken words, kind, PII slots and the intent that made it."""

    text: str
    kind: str
    intent: str = ""
    pii: list[PiiSlot] = field(default_factory=list)


@dataclass
class Household:
    """One device's world: its contacts and habits (intent weights)."""

    device: str
    contacts: list[tuple[str, str]]  # (written, spoken)
    city: str
    habits: dict[str, float]
    seed: int


def _name(fake: Faker) -> tuple[str, str]:
    while True:
        first, last = fake.first_name(), fake.last_name()
        spoken_form = spoken.normalize(f"{first} {last}")
        if len(spoken_form.split()) == 2 and "'" not in spoken_form:
            return f"{first} {last}", spoken_form


def make_household(
    device: str, seed: int, *, n_contacts: int = 6, concentration: float = 0.5
) -> Household:
    """A household with its own contacts and intent preferences.

    Preferences are half uniform, half a Dirichlet(``concentration``) draw: every device
    says every kind of request sometimes, but each leans its own way (non-IID).
    """
    rng = random.Random(seed)
    fake = Faker("en_US")
    fake.seed_instance(seed)
    draw = [rng.gammavariate(concentration, 1.0) + 1e-6 for _ in REQUESTS]
    weights = [0.5 / len(draw) + 0.5 * d / sum(draw) for d in draw]
    total = sum(weights)
    return Household(
        device=device,
        contacts=[_name(fake) for _ in range(n_contacts)],
        city=rng.choice(CITIES),
        habits={k: w / total for k, w in zip(REQUESTS, weights, strict=True)},
        seed=seed,
    )


def _street_number(n: int) -> str:
    # House numbers are read in pairs: 4521 -> "forty five twenty one".
    if n < 100 or n % 100 == 0:
        return spoken.number(n)
    hi, lo = divmod(n, 100)
    return spoken.number(hi) + " " + (("oh " + spoken.number(lo)) if lo < 10 else spoken.number(lo))


class TextGenerator:
    """Makes prompts for one household, deterministically from its seed and a stream of draws."""

    def __init__(
        self, household: Household, *, wake_phrase: str, confusables: list[str], seed: int
    ):
        self.h = household
        self.wake_phrase = spoken.normalize(wake_phrase)
        self.confusables = [spoken.normalize(c) for c in confusables]
        bad = [c for c in self.confusables if self._has_wake(c)]
        if bad:
            raise ValueError(f"confusables {bad} contain the wake phrase {self.wake_phrase!r}")
        self.rng = random.Random(seed)
        self.fake = Faker("en_US")
        self.fake.seed_instance(seed)

    def _has_wake(self, text: str) -> bool:
        return f" {self.wake_phrase} " in f" {text} "

    def wake(self) -> Prompt:
        return Prompt(self.wake_phrase, "wake", "wake")

    def negative(self) -> Prompt:
        """A confusable phrase (most of the time) or ordinary speech."""
        if self.confusables and self.rng.random() < 0.6:
            return Prompt(self.rng.choice(self.confusables), "negative", "confusable")
        return Prompt(self.ordinary(), "negative", "ordinary")

    def ordinary(self) -> str:
        """Everyday speech that never contains the wake phrase."""
        while True:
            if self.rng.random() < 0.7:
                text = self.rng.choice(ORDINARY)
            else:
                text = spoken.normalize(self.fake.sentence(nb_words=self.rng.randint(4, 9)))
            if not self._has_wake(text):
                return text

    def request(self) -> Prompt:
        intents = list(self.h.habits)
        intent = self.rng.choices(intents, weights=[self.h.habits[i] for i in intents])[0]
        while True:
            prompt = self._render(intent, self.rng.choice(REQUESTS[intent]))
            if not self._has_wake(prompt.text):
                return prompt

    def _render(self, intent: str, template: str) -> Prompt:
        words: list[str] = []
        pii: list[PiiSlot] = []
        for token in template.split():
            if token.startswith("{") and token.endswith("}"):
                slot = token[1:-1]
                written, said = self._fill(slot)
                said_words = said.split()
                if slot.isupper():
                    pii.append(PiiSlot(slot, len(words), len(words) + len(said_words) - 1, written))
                words += said_words
            else:
                words.append(token)
        return Prompt(" ".join(words), "request", intent, pii)

    def _fill(self, slot: str) -> tuple[str, str]:
        rng, fake = self.rng, self.fake
        if slot == "PERSON":
            return rng.choice(self.h.contacts) if rng.random() < 0.8 else _name(fake)
        if slot == "PHONE_NUMBER":
            d = f"{rng.randint(201, 989)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
            return f"{d[:3]}-{d[3:6]}-{d[6:]}", " ".join(
                spoken.digits(p, rng) for p in (d[:3], d[3:6], d[6:])
            )
        if slot == "CREDIT_CARD":
            card = fake.credit_card_number(
                card_type=rng.choice(["visa16", "mastercard", "discover"])
            )
            groups = [card[i : i + 4] for i in range(0, len(card), 4)]
            return card, " ".join(spoken.digits(g, rng) for g in groups)
        if slot == "US_SSN":
            ssn = fake.ssn()
            return ssn, " ".join(spoken.digits(p, rng, double=0.2) for p in ssn.split("-"))
        if slot == "EMAIL_ADDRESS":
            if rng.random() < 0.5:
                first, last = rng.choice(self.h.contacts)[1].split()
                sep = rng.choice([".", "", "_"])
                addr = f"{first}{sep}{last}@{fake.free_email_domain()}"
            else:
                addr = fake.email()
            return addr, spoken.email(addr, rng)
        if slot == "STREET_ADDRESS":
            num = rng.choice([rng.randint(1, 99), rng.randint(100, 9999)])
            street = fake.street_name()
            return f"{num} {street}", f"{_street_number(num)} {spoken.normalize(street)}"
        if slot == "DATE_OF_BIRTH":
            first, last = BIRTH_DATES
            d = first + datetime.timedelta(days=fake.random.randrange((last - first).days + 1))
            return d.isoformat(), spoken.date(d.month, d.day, d.year)
        if slot == "LOCATION":
            city = self.h.city if rng.random() < 0.5 else rng.choice(CITIES)
            return city.title(), city
        if slot == "AMOUNT":
            cents = rng.choice([rng.randint(1, 500) * 100, rng.randint(100, 50000)])
            return f"${cents / 100:.2f}", spoken.money(cents)
        if slot == "card_end":
            d = f"{rng.randint(0, 9999):04d}"
            return d, spoken.digits(d, rng)
        if slot == "minutes":
            n = rng.choice([1, 2, 3, 5, 10, 15, 20, 25, 30, 45, 90])
            return str(n), spoken.number(n)
        if slot == "count":
            n = rng.randint(2, 30)
            return str(n), spoken.number(n)
        if slot == "clock":
            h, m = rng.randint(1, 12), rng.choice([0, 15, 30, 45, 5, 20])
            minutes = "" if m == 0 else (" oh five" if m == 5 else " " + spoken.number(m))
            return f"{h}:{m:02d}", spoken.number(h) + minutes + rng.choice(["", " a m", " p m"])
        if slot in _FILL:
            v = rng.choice(_FILL[slot])
            return v, v
        raise KeyError(f"template slot {{{slot}}} has no filler")
