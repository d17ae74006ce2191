"""Every option of every config group composes and instantiates (shrunk where it would build)."""

from __future__ import annotations

import itertools
import math
import re

import pytest
import torch
from hydra.utils import instantiate

from speech.train import build_task, train_epoch
from tests.conftest import CONF, compose_config

PRIMARY = {
    "data": "synth",
    "task": "train",
    "model": "train",
    "trainer": "train",
    "optimizer": "train",
    "scheduler": "train",
    "experiment": "train",
    "federated": "simulate",
    "privacy": "simulate",
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
        obj = build_task(cfg.task, cfg.model, "unused.jsonl")
        assert obj.name == cfg.task.name
        obj.build_model()
        return
    if group == "optimizer":
        opt = instantiate(cfg.optimizer)(torch.nn.Linear(2, 2).parameters())
        assert isinstance(opt, torch.optim.Optimizer)
        return
    if group == "scheduler":
        opt = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.1)
        sched = instantiate(cfg.scheduler)(opt, total_steps=10)
        assert isinstance(sched, torch.optim.lr_scheduler.LRScheduler)
        return
    obj = instantiate(cfg[group], _convert_="all")
    assert type(obj).__module__.startswith(("speech.", "federated."))
    if group == "data":
        assert obj.name == option


@pytest.mark.parametrize("option", ["kws_small", "kws_large", "asr_tiny", "asr_small"])
def test_a_presets_stated_size_is_its_size(option):
    """Each preset file is the one source of its shape; its first line states the parameter
    count that the task builds (to the rounding written there)."""
    task_name = option.split("_")[0]
    cfg = compose_config("train", [f"task={task_name}", f"model={option}"])
    built = build_task(cfg.task, cfg.model, "unused.jsonl").build_model()
    count = sum(p.numel() for p in built.parameters())
    first = (CONF / "model" / f"{option}.yaml").read_text().splitlines()[0]
    number, unit = re.search(r"([\d.]+)([kM]) parameters", first).groups()
    stated = float(number) * {"k": 1e3, "M": 1e6}[unit]
    assert abs(count - stated) <= 0.01 * stated, (count, first)


EXPERIMENTS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_trains_one_step_on_cpu(name, tiny_corpus):
    """The experiment's task, model, trainer, optimizer and schedule as composed, on the tiny
    corpus instead of its own (and without the wake-word variant build, minutes long)."""
    cfg = compose_config("train", [f"+experiment={name}"])
    shrink = {"variants": 0} if cfg.task.name == "kws" else {"lm_sentences": 0}
    task = build_task(cfg.task, cfg.model, tiny_corpus[0] / "manifest.jsonl", **shrink)
    trainer = instantiate(cfg.trainer)
    model = task.build_model()
    opt = instantiate(cfg.optimizer)(model.parameters())
    sched = instantiate(cfg.scheduler)(opt, total_steps=10)
    train, _ = task.loaders(ddp=False, num_workers=0)
    before = [p.detach().clone() for p in model.parameters()]
    done = train_epoch(
        model, task, opt, itertools.islice(train, 1), scheduler=sched, grad_clip=trainer.grad_clip
    )
    assert done.steps == 1 and math.isfinite(done.loss)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


# Stand-alone configs of the redaction stage, read by their own tools (not a Hydra group).
STANDALONE = ("redaction", "pipeline")  # pipeline presets: tests/test_pipeline.py composes each


def test_every_group_is_covered():
    groups = {p.name for p in CONF.iterdir() if p.is_dir()}
    assert groups == set(PRIMARY) | set(STANDALONE)


@pytest.mark.parametrize("path", sorted((CONF / "redaction").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_redaction_config_instantiates(path, monkeypatch):
    from omegaconf import OmegaConf

    monkeypatch.setenv("SOTTOVOCE_ESCALATE_KEY", "a-test-key-of-enough-length")
    cfg = OmegaConf.load(path)
    if path.stem == "pii":
        from redaction.pii import from_config

        words = [
            "call",
            "john",
            "smith",
            "at",
            "five",
            "five",
            "five",
            "one",
            "two",
            "three",
            "four",
        ]
        assert {s.label for s in from_config(cfg).analyze(words)} >= {"PERSON", "PHONE_NUMBER"}
        return
    obj = instantiate(cfg, _convert_="all")
    assert type(obj).__module__.startswith("redaction.")


def test_typo_in_data_config_fails():
    cfg = compose_config("synth", ["data=tiny", "+data.n_devicez=3"])
    with pytest.raises(Exception, match="n_devicez"):
        instantiate(cfg.data, _convert_="all")
