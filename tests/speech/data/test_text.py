"""Prompts: the wake phrase never leaks into negatives or requests; PII spans are exact."""

from __future__ import annotations

from collections import Counter

import pytest

from speech.data.text import PII_LABELS, TextGenerator, make_household


def _gen(seed=1, **kw):
    return TextGenerator(
        make_household("dev0001", seed),
        wake_phrase="hey nova",
        confusables=["hey nora", "nova", "hey now"],
        seed=seed,
        **kw,
    )


def test_requests_have_exact_pii_spans():
    gen = _gen()
    labels = Counter()
    for _ in range(1500):
        p = gen.request()
        words = p.text.split()
        assert all(w.replace("'", "").isalpha() for w in words), p.text
        for slot in p.pii:
            assert slot.label in PII_LABELS
            assert 0 <= slot.start_word <= slot.end_word < len(words)
            labels[slot.label] += 1
    assert set(labels) == set(PII_LABELS)  # every label occurs


def test_person_slots_prefer_household_contacts():
    gen = _gen(3)
    contacts = {s for _, s in gen.h.contacts}
    said = [
        " ".join(p.text.split()[s.start_word : s.end_word + 1])
        for p in (gen.request() for _ in range(2000))
        for s in p.pii
        if s.label == "PERSON"
    ]
    assert sum(name in contacts for name in said) / len(said) > 0.6


def test_wake_phrase_never_in_negatives_or_requests():
    gen = _gen(5)
    for _ in range(1000):
        for p in (gen.negative(), gen.request()):
            assert " hey nova " not in f" {p.text} "
    assert gen.wake().text == "hey nova"


def test_confusable_containing_wake_phrase_is_refused():
    with pytest.raises(ValueError, match="contain the wake phrase"):
        TextGenerator(
            make_household("d", 0),
            wake_phrase="hey nova",
            confusables=["oh hey nova there"],
            seed=0,
        )


def test_households_differ_and_are_deterministic():
    a, b = make_household("d1", 1), make_household("d2", 2)
    assert a.contacts != b.contacts and a.habits != b.habits
    assert make_household("d1", 1) == a
    assert [_gen(9).request().text for _ in range(3)] == [_gen(9).request().text for _ in range(3)]


def test_requests_do_not_depend_on_the_build_date(monkeypatch):
    """A corpus built tomorrow says the same birth dates as one built today."""
    import datetime as dt

    import faker.providers.date_time as faker_dates

    def texts_on(day: dt.date) -> list[str]:
        class Clock(dt.datetime):
            @classmethod
            def now(cls, tz=None):
                return dt.datetime(day.year, day.month, day.day, 12, tzinfo=tz)

        monkeypatch.setattr(faker_dates, "datetime", Clock)
        gen = _gen(4)
        prompts = [gen.request() for _ in range(400)]
        dobs = [s for p in prompts for s in p.pii if s.label == "DATE_OF_BIRTH"]
        assert len(dobs) >= 3  # the check below compares some birth dates
        return [p.text for p in prompts]

    assert texts_on(dt.date(2026, 11, 25)) == texts_on(dt.date(2031, 3, 2))
