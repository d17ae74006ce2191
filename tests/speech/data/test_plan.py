"""Device planning: round robin over speakers, and devices reserved for a slow engine."""

from __future__ import annotations

from collections import Counter

import pytest
from hydra.utils import instantiate

from speech.data.plan import CorpusSpec, plan_devices
from speech.data.voices import CATALOGUE, Voice
from tests.conftest import compose_config


def _voice(name: str, engine: str = "flite") -> Voice:
    if engine == "kokoro":
        return Voice(name, "kokoro", name, "jm_kumo+jf_alpha", weights=(0.5, 0.5))
    return Voice(name, engine, name, "rms")


ROBOTIC = [_voice(f"r{i}") for i in range(6)]
KOKORO = [_voice(f"k{i}", "kokoro") for i in range(5)]


def _spec(**kw) -> CorpusSpec:
    return CorpusSpec(dev_families=["r0", "k1"], test_families=["r1", "k3", "k4"], **kw)


def test_without_reservations_every_speaker_gets_its_round_robin_share():
    devices = plan_devices(_spec(n_devices=22), ROBOTIC + KOKORO)
    assert sorted(Counter(d.speaker for d in devices).values()) == [2] * 11


def test_reserved_devices_come_last_cover_the_splits_and_change_no_other_device():
    spec = _spec(n_devices=15, engine_devices={"kokoro": 3})
    devices = plan_devices(spec, ROBOTIC + KOKORO)
    assert [d.speaker for d in devices[-3:]] == ["k3", "k1", "k0"]  # test, dev, train
    assert [d.split for d in devices[-3:]] == ["test", "dev", "train"]
    assert not any(d.speaker.startswith("k") for d in devices[:-3])
    # The other devices are those a corpus without Kokoro voices plans first.
    without = plan_devices(_spec(n_devices=15), ROBOTIC)
    assert devices[:-3] == without[:-3]
    assert plan_devices(spec, ROBOTIC + KOKORO) == devices  # deterministic


def test_reservations_for_absent_engines_return_to_the_others():
    devices = plan_devices(_spec(n_devices=6, engine_devices={"kokoro": 2}), ROBOTIC)
    assert [d.speaker for d in devices] == [
        d.speaker for d in plan_devices(_spec(n_devices=6), ROBOTIC)
    ]


def test_impossible_reservations_raise():
    with pytest.raises(ValueError, match="reserve more than"):
        _spec(n_devices=2, engine_devices={"kokoro": 3})
    with pytest.raises(ValueError, match="none of those voices"):
        plan_devices(_spec(n_devices=4, engine_devices={"kokoro": 1}), KOKORO)


def test_default_holds_out_a_kokoro_family_for_test():
    spec = instantiate(compose_config("synth", ["data=default"]).data, _convert_="all")
    families = {v.family for v in CATALOGUE}
    assert set(spec.dev_families + spec.test_families) <= families
    assert any(f.startswith("kokoro-") for f in spec.test_families)
    assert any(f.startswith("kokoro-") and f not in spec.test_families for f in families)
    assert 2 <= spec.engine_devices["kokoro"] < spec.n_devices // 10  # a test and a train device
