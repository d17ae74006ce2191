"""Held-out PII evaluation transcripts with gold spans, in spoken and Whisper-written form.

Two disjoint template sets: ``dev`` (look at it, tune on it) and ``test`` (written once, before the
detector, and never tuned on). Their value pools are disjoint too (:mod:`redaction.data.pii_pools`).
About a third of each split is PII-free requests full of numbers that are not PII (timers, sums,
years, temperatures, times of day, counts): the over-masking set.

Each sentence is rendered twice from the same draws: ``spoken`` (lower case, numbers as words, as
the corpus transcripts are written) and ``written`` (as Whisper writes: digits, ``$``, ``@``,
capitals and punctuation attached to words).

    >>> from redaction.data.pii_templates import load
    >>> load("dev", 1, seed=0)[0].keys()
    dict_keys(['words', 'spans', 'template', 'pii_free'])
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from redaction.data import pii_pools as pools
from redaction.data import pii_values as v
from redaction.data.pii_values import Value, val

# fmt: off
DEV_TEMPLATES = (
    "call {PERSON}", "call {PERSON} at {PHONE}", "text {FIRST} that i'm running late",
    "send a message to {PERSON} , saying dinner is at {clock}", "remind me to call {FIRST} {when}",
    "add {FULLNAME} to my contacts", "my name is {FULLNAME}", "dial {PHONE}",
    "my phone number is {PHONE}", "add {PHONE} to my contacts as {FIRST}",
    "my card number is {CARD}", "pay with my card {CARD}", "use the card ending in {LAST4_CARD}",
    "my social security number is {SSN}", "the last four of my social are {LAST4_SSN}",
    "my email is {EMAIL}", "send the photos to {EMAIL}", "navigate to {ADDRESS}",
    "my address is {ADDRESS}", "i was born on {DOB}", "my date of birth is {DOB}",
    "what's the weather in {PLACE}", "how far is {PLACE} from here", "i work at {ORG}",
    "what time does {ORG} close", "send {MONEY} to {FIRST}", "transfer {MONEY} to my savings account",
    "the price is {PRICE}", "email {FULLNAME} at {EMAIL}", "order a taxi from {ADDRESS} to {PLACE}",
    "{FIRST} said she'd be home by {clock}", "is {FIRST} coming to dinner {when}",
    "book a table for {count} under the name {LAST}", "my doctor is doctor {LAST}",
    "pay {PERSON} {MONEY} for the tickets", "remind {FIRST} to take out the trash",
    "call {FIRST} on her cell", "what's {FIRST's} phone number",
)
DEV_NEGATIVES = (
    "set a timer for {minutes} minutes", "what's {big} times {big}", "play songs from {year}",
    "set the thermostat to {temp} degrees", "wake me up at {clock}", "turn the volume to {volume}",
    "play track {count}", "how many ounces in {count} cups", "add {count} eggs to my shopping list",
    "remind me in {minutes} minutes to check the oven", "what's {big} plus {big}",
    "play the top {count} songs of {year}", "set an alarm for {clock} {when}",
    "turn on the lights in the kitchen", "how many days until christmas", "read me chapter {count}",
    "skip forward {seconds} seconds", "preheat the oven to {oven}",
)
TEST_TEMPLATES = (
    "give {FIRST} a ring", "phone {PERSON} on speaker", "can you ring {PERSON} for me",
    "video call {FIRST} and {FIRST}", "tell {FIRST} i'll pick her up at {clock}",
    "ask {PERSON} if she's free {when}", "what's {FIRST's} number",
    "this is {FULLNAME} calling about my appointment",
    "leave a voicemail for {PERSON} at {PHONE}", "save this number {PHONE}",
    "you can reach me at {PHONE}", "her cell is {PHONE}", "charge it to {CARD}",
    "put it on my visa {CARD}", "the card that ends with {LAST4_CARD}", "my ssn is {SSN}",
    "social security {SSN}", "last four digits of my social security number {LAST4_SSN}",
    "write to me at {EMAIL}", "forward the receipt to {EMAIL} please", "directions to {ADDRESS}",
    "send a package to {FULLNAME} at {ADDRESS}", "we just moved to {ADDRESS}",
    "patient {FULLNAME} , born {DOB}", "my birthday is {DOB}", "find hotels in {PLACE}",
    "i'm flying to {PLACE} {when}", "my husband works for {ORG}", "is {ORG} open on sundays",
    "pay {FIRST} back {MONEY}", "i owe {PERSON} {MONEY}", "it costs {PRICE}",
    "set up a meeting with {PERSON} {when}", "{FULLNAME} left a message",
    "did {FIRST} reply to my email", "my mother's maiden name is {LAST}",
    "schedule a pickup at {ADDRESS} for {clock}", "my account email is {EMAIL} and my phone is {PHONE}",
)
TEST_NEGATIVES = (
    "start a {minutes} minute timer", "what is {big} divided by {count}", "play the best hits of {year}",
    "make it {temp} degrees in the living room", "set the oven to {oven} degrees",
    "snooze for {minutes} minutes", "what's {percent} percent of {big}",
    "play episode {count} of season {count}", "how many calories are in {count} bananas",
    "turn the volume up to {volume}", "what happened in {year}", "convert {count} miles to kilometers",
    "what's the weather this weekend", "remind me at {clock} to take out the trash",
    "count down from {big}", "turn on channel {channel}", "what's the square root of {big}",
    "how long do i boil an egg for {count} people",
)
# fmt: on
TEMPLATES = {"dev": (DEV_TEMPLATES, DEV_NEGATIVES), "test": (TEST_TEMPLATES, TEST_NEGATIVES)}
NEGATIVE_SHARE = 0.35


def _num(lo: int, hi: int, words: float = 0.5) -> Callable[[random.Random, str], Value]:
    def fill(rng: random.Random, split: str) -> Value:
        n = rng.randint(lo, hi)
        return val(v.say_int(n, rng), v.say_small(n, rng, words))

    return fill


def _year(rng: random.Random, split: str) -> Value:
    y = rng.randint(1950, 2023)
    return val(v.say_year(y, rng), str(y))


def _clock(rng: random.Random, split: str) -> Value:
    h, m = rng.randint(1, 12), rng.choice([0, 0, 5, 15, 30, 45, 20, 10])
    ampm = rng.choice(["", "", "a m", "p m"])
    if m == 0 and rng.random() < 0.4:
        spoken, written = f"{v.say_int(h)} o'clock", f"{h} o'clock"
    elif m == 30 and rng.random() < 0.3:
        spoken, written = f"half past {v.say_int(h)}", f"half past {h}"
    else:
        mins = "" if m == 0 else " oh five" if m == 5 else " " + v.say_int(m)
        spoken, written = v.say_int(h) + mins, f"{h}:{m:02d}"
    if ampm and "past" not in spoken and "o'clock" not in spoken:
        spoken += " " + ampm
        written += " " + ampm.replace(" ", ".") + "."
    return val(spoken, written)


def _oven(rng: random.Random, split: str) -> Value:
    t = rng.choice([325, 350, 375, 400, 425, 450])
    spoken = v.say_int(t, rng) if rng.random() < 0.4 else f"{v.ONES[t // 100]} {v.say_int(t % 100) if t % 100 else 'hundred'}"  # fmt: skip
    return val(spoken, str(t))


def _choice(options: tuple[str, ...]) -> Callable[[random.Random, str], Value]:
    return lambda rng, split: val(o := rng.choice(options), o)


def _first(rng: random.Random, split: str) -> Value:
    n = pools.first_name(rng, split)
    return val(n, n.title())


def _last(rng: random.Random, split: str) -> Value:
    n = pools.last_name(rng, split)
    return val(n, n.title())


# Slot -> (gold label or None, filler). Lower-case slots are not PII.
SLOTS: dict[str, tuple[str | None, Callable[[random.Random, str], Value]]] = {
    "PERSON": ("PERSON", lambda r, s: pools.person(r, s)),
    "FULLNAME": ("PERSON", lambda r, s: pools.person(r, s, full=True)),
    "FIRST": ("PERSON", _first),
    "LAST": ("PERSON", _last),
    "PHONE": ("PHONE_NUMBER", lambda r, s: v.phone(r)),
    "CARD": ("CREDIT_CARD", lambda r, s: v.card(r)),
    "LAST4_CARD": ("CREDIT_CARD", lambda r, s: v.last4(r)),
    "SSN": ("US_SSN", lambda r, s: v.ssn(r)),
    "LAST4_SSN": ("US_SSN", lambda r, s: v.last4(r)),
    "EMAIL": ("EMAIL_ADDRESS", pools.email),
    "ADDRESS": ("STREET_ADDRESS", pools.street_address),
    "DOB": ("DATE_OF_BIRTH", lambda r, s: v.date_of_birth(r)),
    "PLACE": ("LOCATION", pools.place),
    "ORG": ("ORGANIZATION", pools.organisation),
    "MONEY": ("AMOUNT", lambda r, s: v.money(r)),
    "PRICE": ("AMOUNT", lambda r, s: v.money(r, bare=True)),
    "minutes": (None, _num(1, 90)),
    "seconds": (None, _num(5, 60)),
    "count": (None, _num(2, 12, 0.6)),
    "big": (None, _num(11, 99, 0.0)),
    "year": (None, _year),
    "temp": (None, _num(60, 80, 0.0)),
    "volume": (None, _num(1, 10)),
    "percent": (None, _num(5, 50, 0.0)),
    "channel": (None, _num(2, 999, 0.0)),
    "oven": (None, _oven),
    "clock": (None, _clock),
    "when": (None, _choice(("tomorrow", "tonight", "on monday", "next week", "this afternoon"))),
}
_QUESTION = {"what", "what's", "how", "is", "did", "can", "when", "where", "who", "do", "does", "are"}  # fmt: skip
_WRITTEN_WORD = {"i": "I", "i'm": "I'm", "i'll": "I'll", "i'd": "I'd"}


@dataclass
class Example:
    """One sentence in both styles, with gold spans ``(label, start, end)`` (words, end exclusive)."""

    template: str
    spoken: list[str]
    written: list[str]
    spoken_spans: list[tuple[str, int, int]]
    written_spans: list[tuple[str, int, int]]

    def record(self, style: str) -> dict[str, Any]:
        """The record of one style: ``{words, spans, template, pii_free}``."""
        words, spans = (self.spoken, self.spoken_spans) if style == "spoken" else (self.written, self.written_spans)  # fmt: skip
        return {
            "words": list(words),
            "spans": [{"label": lab, "start": s, "end": e} for lab, s, e in spans],
            "template": self.template,
            "pii_free": not spans,
        }


def render(template: str, rng: random.Random, split: str) -> Example:
    """Fill a template's slots once and lay the sentence out in both styles."""
    out: dict[str, tuple[list[str], list[tuple[str, int, int]]]] = {"spoken": ([], []), "written": ([], [])}  # fmt: skip
    for token in template.split():
        if token == ",":  # a pause Whisper writes as a comma; nothing is said
            words = out["written"][0]
            words[-1] = words[-1] + ","
            continue
        if not (token.startswith("{") and token.endswith("}")):
            for style, (words, _) in out.items():
                words.append(_WRITTEN_WORD.get(token, token) if style == "written" else token)
            continue
        slot, possessive = token[1:-1], False
        if slot.endswith("'s"):
            slot, possessive = slot[:-2], True
        label, fill = SLOTS[slot]
        value = fill(rng, split)
        for style, (words, spans) in out.items():
            new = list(value.spoken if style == "spoken" else value.written)
            if possessive:
                new[-1] += "'s"
            if label is not None:
                spans.append((label, len(words), len(words) + len(new)))
            words += new
    written = out["written"][0]
    written[0] = written[0][:1].upper() + written[0][1:]
    if rng.random() < 0.9 and not written[-1].endswith("."):
        written[-1] += "?" if out["spoken"][0][0] in _QUESTION else "."
    return Example(template, *[out[s][0] for s in ("spoken", "written")], *[out[s][1] for s in ("spoken", "written")])  # fmt: skip


def generate(split: str, n: int, seed: int = 0) -> list[Example]:
    """``n`` examples of one split; about :data:`NEGATIVE_SHARE` of them PII-free."""
    if split not in TEMPLATES:
        raise ValueError(f"split must be one of {sorted(TEMPLATES)}, not {split!r}")
    positives, negatives = TEMPLATES[split]
    rng = random.Random(f"pii-{split}-{seed}")
    return [
        render(rng.choice(negatives if rng.random() < NEGATIVE_SHARE else positives), rng, split)
        for _ in range(n)
    ]


def load(split: str, n: int = 1000, seed: int = 0, style: str = "spoken") -> list[dict[str, Any]]:
    """Records ``{words, spans, template, pii_free}``; spans are gold ``{label, start, end}``.

    Args:
        split: ``dev`` (tune on it) or ``test`` (held out).
        n: number of sentences.
        seed: the same seed gives the same sentences in both styles.
        style: ``spoken`` (lower-case words) or ``written`` (Whisper-like digits and punctuation).
    """
    if style not in ("spoken", "written"):
        raise ValueError(f"style must be 'spoken' or 'written', not {style!r}")
    return [ex.record(style) for ex in generate(split, n, seed)]
