"""Word lists the recognizers share: the gazetteers in ``data/`` and small closed classes.

The gazetteers are built once, offline, by ``python -m redaction.pii.data.build_gazetteers``
and loaded lazily (about 0.1 s, once per process).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


def words(text: str) -> frozenset[str]:
    """A set from a whitespace-separated literal (keeps long word lists readable)."""
    return frozenset(text.split())


def _rows(name: str) -> list[list[str]]:
    path = DATA / name
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: rebuild it with python -m redaction.pii.data.build_gazetteers"
        )
    lines = path.read_text(encoding="utf-8").splitlines()
    return [ln.split("\t") for ln in lines if ln and not ln.startswith("#")]


@cache
def names() -> dict[str, str]:
    """Person name -> flags (``F`` first, ``L`` last, ``A`` also an ordinary word)."""
    return {r[0]: r[1] for r in _rows("names.tsv")}


@cache
def places() -> dict[tuple[str, ...], tuple[str, bool]]:
    """Place words -> (kind, ambiguous) for cities, US states and countries."""
    return {tuple(r[0].split()): (r[1], len(r) > 2 and "A" in r[2]) for r in _rows("places.tsv")}


@cache
def place_lengths() -> tuple[int, ...]:
    """The word counts of the places in the gazetteer, longest first."""
    return tuple(sorted({len(k) for k in places()}, reverse=True))


@cache
def common_words() -> frozenset[str]:
    """The 25,000 most frequent English words (wordfreq): a word outside them is rare."""
    return frozenset(r[0] for r in _rows("common_words.txt"))


def ordered(text: str) -> tuple[str, ...]:
    """A tuple of the words of a literal, in order."""
    return tuple(text.split())


MONTHS = ordered(
    "january february march april may june july august september october november december"
)
MONTH_ABBR = {m[:3]: m for m in MONTHS} | {"sept": "september"}
WEEKDAYS = words("monday tuesday wednesday thursday friday saturday sunday")
STREET_SUFFIXES = {
    "street": "street", "st": "street", "avenue": "avenue", "ave": "avenue", "av": "avenue",
    "road": "road", "rd": "road", "boulevard": "boulevard", "blvd": "boulevard", "lane": "lane",
    "ln": "lane", "drive": "drive", "dr": "drive", "court": "court", "ct": "court",
    "place": "place", "pl": "place", "way": "way", "terrace": "terrace", "ter": "terrace",
    "circle": "circle", "cir": "circle", "parkway": "parkway", "pkwy": "parkway", "trail": "trail",
    "trl": "trail", "highway": "highway", "hwy": "highway", "square": "square", "sq": "square",
    "alley": "alley", "crescent": "crescent", "close": "close", "row": "row", "loop": "loop",
    "pike": "pike", "plaza": "plaza", "path": "path", "walk": "walk", "run": "run",
}  # fmt: skip
DIRECTIONS = words(
    "north south east west n s e w ne nw se sw northeast northwest southeast southwest"
)
# The rest of the USPS street suffixes (Publication 28), plurals included. Many are ordinary words
# ("courts", "points", "falls"), so the street's name must look like a name before one of them.
USPS_SUFFIXES = words(
    """annex arcade bayou beach bend bluff bluffs bottom branch bridge brook brooks burg burgs
    bypass camp canyon cape causeway center centers circles cliff cliffs club common commons
    corner corners course courts cove coves creek crest crossing crossroad curve dale dam divide
    drives estate estates expressway extension extensions fall falls ferry field fields flat
    flats ford fords forest forge forges fork forks fort freeway garden gardens gateway glen
    glens green greens grove groves harbor harbors haven heights hill hills hollow inlet island
    islands isle junction junctions key keys knoll knolls lake lakes land landing light lights
    loaf lock locks lodge mall manor manors meadow meadows mews mill mills mission motorway mount
    mountain mountains neck orchard oval overpass park parks parkways pass passage pine pines
    plain plains point points port ports prairie radial ramp ranch rapid rapids rest ridge
    ridges river roads route rue shoal shoals shore shores skyway spring springs spur spurs
    squares station stravenue stream streets summit throughway trace track trafficway trailer
    tunnel turnpike underpass union unions valley valleys viaduct view views village villages
    ville vista walks wall ways well wells via"""
)
# Words that never belong to a name, a street name or an organisation name.
FUNCTION_WORDS = words(
    """a an the my your his her our their its this that these those to from in on at by for of
    with and or but if is are was were be been am i me you he she we they it us them him what
    when where who how why which please can could would should will shall may might must do does
    did have has had not no yes so then than too very just also about into onto over under up
    down out off again there here all any some each every much many more most other another
    such only own same few both either neither one ones"""
)
# Units after a number that make it a measure, not PII.
MEASURE_UNITS = words(
    """second seconds sec secs minute minutes min mins hour hours hr hrs day days week weeks
    month months year years degree degrees percent times time mile miles kilometer kilometers km
    meter meters foot feet inch inches ounce ounces oz cup cups tablespoon tablespoons teaspoon
    teaspoons gram grams kilo kilos kilogram kilograms liter liters litre litres gallon gallons
    calorie calories step steps rep reps lap laps page pages chapter chapters episode episodes
    track tracks song songs people person points point o'clock am pm a.m p.m"""
)
