"""The trainer: the per-epoch core (also under Opacus), the driver's files, resume, DDP, errors."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest
import torch

from speech.checkpoint import load_model
from speech.data.dataset import make_loader
from speech.kws.task import KWSTask
from speech.train import (
    TrainerConfig,
    TrainingError,
    fit,
    train_epoch,
    warmup_cosine,
)

ROOT = Path(__file__).resolve().parents[2]
WARMUP = partial(warmup_cosine, warmup_steps=2)


def _task(corpus: Path, **kw) -> KWSTask:
    return KWSTask(
        corpus / "manifest.jsonl",
        model={"channels": 16, "dilations": [1, 2, 4]},
        batch_seconds=20.0,
        **kw,
    )


def _cfg(**kw) -> TrainerConfig:
    return TrainerConfig(**{"patience": 5, "progress": False, "num_workers": 0, **kw})


def test_train_epoch_is_a_core_that_builds_nothing(tiny_corpus):
    out, _ = tiny_corpus
    task = _task(out)
    model = task.build_model()
    train, _ = task.loaders(ddp=False, num_workers=0)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    before = [p.detach().clone() for p in model.parameters()]
    losses: list[float] = []
    done = train_epoch(model, task, opt, train, on_step=losses.append)
    assert done.steps == len(train) == len(losses) and done.clips == len(train.dataset)
    assert done.loss == pytest.approx(sum(losses) / len(losses))
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_a_model_learns_a_small_fixed_set(tiny_corpus):
    """Epochs over a few fixed clips (no augmentation, no dropout) drive the loss far down."""
    out, _ = tiny_corpus
    task = KWSTask(
        out / "manifest.jsonl",
        model={"channels": 32, "dilations": [1, 2, 4, 8], "dropout": 0.0},
        mel_warp=0.0,
        spec_augment={"freq_masks": 0, "time_masks": 0},
    )
    torch.manual_seed(0)
    model = task.build_model()
    train, _ = task.datasets()
    train.train = False  # fixed crops
    subset = torch.utils.data.Subset(train, range(0, len(train), max(1, len(train) // 16)))
    subset.durations = [train.durations[i] for i in subset.indices]
    loader = make_loader(subset, max_batch_seconds=40.0, shuffle=False, seed=0)
    task.init_model(model, loader, batches=4)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    losses = [train_epoch(model, task, opt, loader, epoch=e).loss for e in range(20)]
    assert losses[-1] < 0.2 * losses[0], losses


def test_the_core_trains_the_wake_word_under_opacus(tiny_corpus):
    """Opacus's make_private wraps model, optimizer and loader; the core takes them as they
    are (Poisson sampling: no set_epoch, empty draws skipped; per-sample clipping)."""
    from opacus import PrivacyEngine

    out, _ = tiny_corpus
    task = _task(out)
    torch.manual_seed(0)
    model = task.build_model()
    train, _ = task.loaders(ddp=False, num_workers=0)
    plain = torch.utils.data.DataLoader(
        train.dataset, batch_size=8, collate_fn=train.collate_fn, shuffle=True
    )
    engine = PrivacyEngine(accountant="rdp")
    dp_model, dp_opt, dp_loader = engine.make_private(
        module=model,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.05),
        data_loader=plain,
        noise_multiplier=1.0,
        max_grad_norm=1.0,
        poisson_sampling=True,
    )
    before = [p.detach().clone() for p in model.parameters()]
    done = train_epoch(dp_model, task, dp_opt, dp_loader, per_sample=True, grad_clip=0)
    assert done.steps + done.empty_batches == len(dp_loader) and done.steps >= 1
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert 0 < engine.get_epsilon(delta=1e-5) < float("inf")


def test_fit_checkpoint_and_resume(tiny_corpus, tmp_path):
    out, _ = tiny_corpus
    cfg = _cfg(max_epochs=2)
    best = fit(_task(out), cfg, tmp_path, scheduler=WARMUP)
    assert 0.0 <= best["frr"] <= 1.0 and best["positives"] > 0
    model, meta = load_model(tmp_path / "best.pt", task="kws")
    assert meta["extra"]["wake_phrase"] == "hey nova" and meta["features"]["n_mels"] == 40
    assert model(torch.zeros(1, 30, 40)).shape == (1, 30)
    history = json.loads((tmp_path / "metrics.json").read_text())["history"]
    assert [h["epoch"] for h in history] == [0, 1]
    cfg.max_epochs, cfg.resume = 3, True
    fit(_task(out), cfg, tmp_path, scheduler=WARMUP)
    history = json.loads((tmp_path / "metrics.json").read_text())["history"]
    assert [h["epoch"] for h in history] == [0, 1, 2]  # resumed, not restarted
    umask = os.umask(0o022)
    os.umask(umask)
    for name in ("best.pt", "last.pt", "metrics.json"):  # ordinary modes, not mkstemp's 0600
        assert stat.S_IMODE(os.stat(tmp_path / name).st_mode) == 0o666 & ~umask, name

    wider = KWSTask(
        out / "manifest.jsonl", model={"channels": 24, "dilations": [1, 2, 4]}, batch_seconds=20.0
    )
    cfg.max_epochs = 4
    with pytest.raises(TrainingError, match="different model"):
        fit(wider, cfg, tmp_path)
    with pytest.raises(TrainingError, match="does not exist"):
        fit(_task(out), _cfg(max_epochs=1, resume=True), tmp_path / "fresh")


def test_ema_weights_are_validated_saved_and_resumed(tiny_corpus, tmp_path):
    out, _ = tiny_corpus
    cfg = _cfg(max_epochs=1, ema=0.9)
    fit(_task(out), cfg, tmp_path, scheduler=WARMUP)
    last = torch.load(tmp_path / "last.pt", weights_only=False)
    averaged = {k[len("module.") :]: v for k, v in last["ema"].items() if k.startswith("module.")}
    assert averaged.keys() == last["model"].keys()
    assert any(not torch.equal(averaged[k], last["model"][k]) for k in averaged)  # an average
    best, _ = load_model(tmp_path / "best.pt", task="kws")
    for k, v in best.state_dict().items():  # best.pt holds the average, not the raw weights
        assert torch.equal(v, averaged[k])
    cfg.max_epochs, cfg.resume = 2, True
    fit(_task(out), cfg, tmp_path, scheduler=WARMUP)
    assert int(torch.load(tmp_path / "last.pt", weights_only=False)["ema"]["n_averaged"]) > int(
        last["ema"]["n_averaged"]
    )  # the average went on from the saved one
    with pytest.raises(ValueError, match="ema"):
        _cfg(max_epochs=1, ema=1.0)


def test_select_last_keeps_the_final_epoch(tiny_corpus, tmp_path):
    out, _ = tiny_corpus
    task = _task(out)
    validate, calls = task.validate, []

    def worse_every_epoch(model, loader, device):  # dev would keep epoch 0 and stop early
        calls.append(1)
        return {**validate(model, loader, device), "score": -float(len(calls))}

    task.validate = worse_every_epoch
    fit(task, _cfg(max_epochs=3, patience=1, select="last"), tmp_path, scheduler=WARMUP)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert [h["epoch"] for h in metrics["history"]] == [0, 1, 2] and metrics["best"]["epoch"] == 2
    last = torch.load(tmp_path / "last.pt", weights_only=False)["model"]
    best, _ = load_model(tmp_path / "best.pt", task="kws")
    assert all(torch.equal(v, last[k]) for k, v in best.state_dict().items())
    with pytest.raises(ValueError, match="select"):
        _cfg(max_epochs=1, select="final")


def test_snapshots_keep_every_nth_epoch_as_an_inference_checkpoint(tiny_corpus, tmp_path):
    out, _ = tiny_corpus
    fit(_task(out), _cfg(max_epochs=4, select="last", snapshot_every=2), tmp_path)
    assert sorted(p.name for p in tmp_path.glob("epoch-*.pt")) == ["epoch-001.pt", "epoch-003.pt"]
    last, _ = load_model(tmp_path / "epoch-003.pt", task="kws")
    best, _ = load_model(tmp_path / "best.pt", task="kws")  # select=last: the same weights
    assert all(torch.equal(v, best.state_dict()[k]) for k, v in last.state_dict().items())
    early, _ = load_model(tmp_path / "epoch-001.pt", task="kws")
    assert not all(torch.equal(v, best.state_dict()[k]) for k, v in early.state_dict().items())
    with pytest.raises(ValueError, match="snapshot_every"):
        TrainerConfig(snapshot_every=-1)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("max_epochs", "abc", "trainer.max_epochs='abc': expected int"),
        ("amp", "yes", "trainer.amp='yes': expected bool"),
        ("init_from", 3, "trainer.init_from=3: expected null or str"),
        ("device", "tpu", "trainer.device='tpu'"),
    ],
)
def test_trainer_config_names_a_bad_value(field, value, message):
    with pytest.raises(ValueError) as err:
        TrainerConfig(**{field: value})
    assert str(err.value).startswith(message)
    assert TrainerConfig(grad_clip=1).grad_clip == 1.0  # an int where a float is wanted is fine


def _train(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "speech.train", *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["trainer.max_epochs=abc"], "error: trainer.max_epochs='abc': expected int"),
        (["task=kws", "model=asr_tiny"], "error: task=kws trains"),
        (["task=asr", "model=kws_small"], "error: task=asr trains"),
        (["trainer.resume=true"], "error: trainer.resume=true but"),
        (["+task.no_such_option=1"], "unexpected keyword argument 'no_such_option'"),
        (["manifest=/no/such/manifest.jsonl"], "error: manifest=/no/such/manifest.jsonl: no such"),
    ],
)
def test_the_cli_gives_one_line_errors(tiny_corpus, tmp_path, overrides, message):
    out, _ = tiny_corpus
    res = _train("data=tiny", f"out_root={out.parent}", f"out_dir={tmp_path}", *overrides)
    assert res.returncode == 2
    assert message in res.stderr and "Traceback" not in res.stderr, res.stderr[-2000:]
    assert len(res.stderr.strip().splitlines()) == 1, res.stderr


def test_a_small_run_never_writes_into_an_experiments_folder():
    from tests.conftest import CONF, compose_config

    experiments = {
        compose_config("train", [f"+experiment={p.stem}"]).out_dir
        for p in (CONF / "experiment").glob("*.yaml")
    }
    for task in ("kws", "asr"):
        for data in ("tiny", "default", "large"):
            adhoc = compose_config("train", [f"task={task}", f"data={data}"]).out_dir
            assert adhoc.startswith("outputs/runs/") and adhoc not in experiments


def test_torchrun_ddp_on_cpu(tiny_corpus, tmp_path):
    """The README's command, `torchrun --nproc_per_node=2 -m speech.train trainer=ddp`."""
    out, _ = tiny_corpus
    torchrun = Path(sys.executable).with_name("torchrun")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        str(torchrun),
        "--nproc_per_node=2",
        "--master_port=29533",
        "-m",
        "speech.train",
        "trainer=ddp",
        "data=tiny",
        f"out_root={out.parent}",
        "trainer.max_epochs=1",
        "trainer.progress=false",
        "trainer.num_workers=0",
        "model.channels=16",
        f"out_dir={tmp_path}",
    ]
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert (tmp_path / "best.pt").exists()


def test_trains_on_a_corpus_on_disk_given_its_manifest(tiny_corpus, tmp_path):
    """`manifest=` (a corpus imported by speech.data.real) replaces building `data=`."""
    out, _ = tiny_corpus
    res = _train(
        f"manifest={out / 'manifest.jsonl'}",
        "out_root=/nonexistent",  # nothing is built or looked up there
        f"out_dir={tmp_path}",
        "trainer.max_epochs=1",
        "trainer.progress=false",
        "model.channels=16",
    )
    assert res.returncode == 0, res.stderr[-2000:]
    assert (tmp_path / "best.pt").is_file()
