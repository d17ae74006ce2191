"""Every option of every config group composes and instantiates (shrunk where it would build)."""

from __future__ import annotations

import pytest
from hydra.utils import instantiate

from speech.train import model_arguments
from tests.conftest import CONF, compose_config

PRIMARY = {
    "data": "synth",
    "task": "train",
    "model": "train",
    "trainer": "train",
    "experiment": "train",
}


def _options():
    for group, primary in PRIMARY.items():
        for path in sorted((CONF / group).glob("*.yaml")):
            yield group, primary, path.stem


@pytest.mark.parametrize(("group", "primary", "option"), list(_options()))
def test_option_instantiates(group, primary, option):
    if group == "experiment":
        cfg = compose_config(primary, [f"+experiment={option}"])
        spec = instantiate(cfg.data, _convert_="all")
        assert spec.wake_phrase == cfg.task.wake_phrase  # the task follows the experiment's data
        return
    cfg = compose_config(primary, [f"{group}={option}"])
    if group == "task":
        obj = instantiate(
            cfg.task, manifest="unused.jsonl", model=model_arguments(cfg.model), _convert_="all"
        )
        assert obj.name == cfg.task.name
        obj.build_model()
        return
    obj = instantiate(cfg[group], _convert_="all")
    assert type(obj).__module__.startswith("speech.")
    if group == "data":
        assert obj.name == option


def test_every_group_is_covered():
    groups = {p.name for p in CONF.iterdir() if p.is_dir()}
    assert groups == set(PRIMARY)


def test_typo_in_data_config_fails():
    cfg = compose_config("synth", ["data=tiny", "+data.n_devicez=3"])
    with pytest.raises(Exception, match="n_devicez"):
        instantiate(cfg.data, _convert_="all")
