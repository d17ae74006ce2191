"""The shared loop trains the wake word on the tiny corpus, checkpoints, resumes and runs under DDP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from speech.asr.vocab import CharVocab
from speech.checkpoint import load_model
from speech.data.manifest import Utterance, Word
from speech.kws.data import KWSClips, frame_targets, listen_on
from speech.kws.model import KWSModel
from speech.kws.task import KWSTask
from speech.train import TrainerConfig, fit

ROOT = Path(__file__).resolve().parents[3]


def _task(corpus: Path) -> KWSTask:
    return KWSTask(
        corpus / "manifest.jsonl",
        model={"channels": 16, "dilations": [1, 2, 4]},
        batch_seconds=20.0,
    )


def test_frame_targets_follow_phrase_end():
    labels = torch.tensor([8000, -1])
    lengths = torch.tensor([16000, 12000])
    target, mask = frame_targets(labels, lengths, 100, hop=160, window=512, target=(-0.05, 0.3))
    ends = torch.arange(100) * 160 + 512
    pos = (ends >= 8000 - 800) & (ends <= 8000 + 4800)
    assert torch.equal(target[0].bool(), pos)
    assert not target[1].any()
    assert not mask[1, ends > 12000].any() and mask[1, ends <= 12000].all()
    assert not mask[
        0, (ends > 8000 - 9600) & (ends < 8000 - 800)
    ].any()  # inside the phrase: ignored


def test_delayed_target_window_waits_for_the_phrase_to_be_over():
    labels = torch.tensor([8000])
    lengths = torch.tensor([16000])
    target, mask = frame_targets(labels, lengths, 100, hop=160, window=512, target=(0.12, 0.45))
    ends = torch.arange(100) * 160 + 512
    assert torch.equal(target[0].bool(), (ends >= 8000 + 1920) & (ends <= 8000 + 7200))
    # from inside the phrase up to the window: neither positive nor negative
    assert not mask[0, (ends >= 8000 - 9600) & (ends < 8000 + 1920)].any()
    assert mask[0, ends < 8000 - 9600].all()
    with pytest.raises(ValueError, match="target window"):
        frame_targets(labels, lengths, 100, hop=160, window=512, target=(0.3, 0.1))


def _utt(start: float, end: float, duration: float) -> Utterance:
    return Utterance(
        id="u",
        audio="u.wav",
        duration=duration,
        text="hey nova",
        speaker="s",
        device="d",
        split="test",
        kind="wake",
        words=[Word("hey", start, start + 0.2), Word("nova", start + 0.2, end)],
    )


def test_listen_on_continues_a_clip_with_its_own_lead_in():
    rng = np.random.default_rng(0)
    lead = rng.normal(0, 0.01, 4000).astype(np.float32)  # 0.25 s of room before "hey"
    speech = rng.normal(0, 0.3, 10000).astype(np.float32)
    wave = np.concatenate([lead, speech, lead[:800]])  # the phrase ends 0.05 s before the clip
    utt = _utt(0.25, 0.875, len(wave) / 16000)
    out = listen_on(wave, utt, 0.5)
    assert len(out) == int((0.875 + 0.5) * 16000)
    assert np.array_equal(out[: len(wave)], wave)
    tail = out[len(wave) :]
    assert np.abs(tail).max() <= np.abs(lead).max()  # room noise, not speech
    assert listen_on(out, utt, 0.5) is out  # long enough already: unchanged
    bare = speech[:14000]  # no lead-in to repeat: silence
    assert not listen_on(bare, _utt(0.0, 0.8, 0.875), 0.5)[14000:].any()


def test_positives_keep_the_whole_target_window(tiny_corpus):
    out, _ = tiny_corpus
    ds = KWSClips(
        out / "manifest.jsonl",
        split="train",
        wake_phrase="hey nova",
        max_seconds=1.5,
        train=False,
        target=(0.12, 0.45),
    )
    positives = [i for i in range(len(ds)) if ds.is_positive(ds.utts[i])]
    assert positives
    for i in positives:
        ex = ds[i]
        assert ex.label + int(0.45 * 16000) <= len(ex.wave) <= int(1.5 * 16000)


def test_crops_keep_the_phrase_end(tiny_corpus):
    out, _ = tiny_corpus
    ds = KWSClips(out / "manifest.jsonl", split="train", wake_phrase="hey nova", max_seconds=1.2)
    for i in range(len(ds)):
        ex = ds[i]
        assert len(ex.wave) <= int(1.2 * 16000)
        if ds.is_positive(ds.utts[i]):
            assert 0 < ex.label <= len(ex.wave)
        else:
            assert ex.label == -1


def test_tokenized_crops_carry_only_whole_words(tiny_corpus):
    out, _ = tiny_corpus
    vocab = CharVocab()
    ds = KWSClips(
        out / "manifest.jsonl",
        split="train",
        wake_phrase="hey nova",
        max_seconds=1.5,
        tokenize=vocab.encode,
    )
    spelled = 0
    for i in range(len(ds)):
        ex, utt = ds[i], ds.utts[i]
        words = vocab.decode(ex.tokens.tolist()).split()
        assert len(ex.wave) <= int(1.5 * 16000)
        if utt.words and utt.duration <= 1.5:  # short clip: nothing cropped
            assert words == utt.text.split()
        assert " ".join(words) in utt.text  # a contiguous run of the clip's words
        spelled += bool(words)
    assert spelled > len(ds) // 2


def test_time_stretch_moves_features_and_targets_together(tiny_corpus):
    out, _ = tiny_corpus
    kw = {
        "model": {"channels": 16, "dilations": [1, 2, 4]},
        "batch_seconds": 20.0,
        "mel_warp": 0.0,
        "spec_augment": {"freq_masks": 0, "time_masks": 0},
    }
    plain = KWSTask(out / "manifest.jsonl", **kw)
    stretched = KWSTask(out / "manifest.jsonl", time_stretch=0.3, **kw)
    model = plain.build_model()
    train, _ = plain.loaders(ddp=False, num_workers=0)
    batch = next(b for b in train if bool((b.labels >= 0).any()))
    _, targets, mask, _ = plain._logits(model, batch, train=True)
    torch.manual_seed(3)
    logits, s_targets, s_mask, _ = stretched._logits(model, batch, train=True)
    rate = logits.shape[1] / targets.shape[1]
    assert rate != 1 and 0.7 <= rate <= 1.3
    assert s_targets.shape == s_mask.shape == logits.shape
    positives = int((batch.labels >= 0).sum())
    assert abs(s_targets.sum() - rate * targets.sum()) <= 2 * positives
    assert abs(s_mask.sum() - rate * mask.sum()) <= 2 * len(batch.labels)


def test_ctc_head_trains_but_stays_out_of_inference(tiny_corpus, tmp_path):
    out, _ = tiny_corpus
    task = KWSTask(
        out / "manifest.jsonl",
        model={"channels": 16, "dilations": [1, 2, 4]},
        batch_seconds=20.0,
        ctc_weight=0.5,
    )
    cfg = TrainerConfig(max_epochs=1, patience=5, warmup_steps=2, progress=False, num_workers=0)
    fit(task, cfg, tmp_path)
    model, _ = load_model(tmp_path / "best.pt", task="kws")
    assert model.ctc_head is not None and model.config.ctc_vocab == len(CharVocab())
    plain = KWSModel(n_mels=40, channels=16, dilations=[1, 2, 4])
    assert model.num_parameters() == plain.num_parameters()
    feats = torch.randn(2, 50, 40)
    wake, ctc = model(feats, with_ctc=True)
    assert torch.equal(wake, model(feats)) and ctc.shape == (2, 50, len(CharVocab()))
    with pytest.raises(ValueError, match="no CTC head"):
        plain(feats, with_ctc=True)


def test_fit_checkpoint_and_resume(tiny_corpus, tmp_path):
    out, _ = tiny_corpus
    cfg = TrainerConfig(max_epochs=2, patience=5, warmup_steps=2, progress=False, num_workers=0)
    best = fit(_task(out), cfg, tmp_path)
    assert 0.0 <= best["frr"] <= 1.0 and best["positives"] > 0
    model, meta = load_model(tmp_path / "best.pt", task="kws")
    assert meta["extra"]["wake_phrase"] == "hey nova" and meta["features"]["n_mels"] == 40
    assert model(torch.zeros(1, 30, 40)).shape == (1, 30)
    history = json.loads((tmp_path / "metrics.json").read_text())["history"]
    assert [h["epoch"] for h in history] == [0, 1]
    cfg.max_epochs, cfg.resume = 3, True
    fit(_task(out), cfg, tmp_path)
    history = json.loads((tmp_path / "metrics.json").read_text())["history"]
    assert [h["epoch"] for h in history] == [0, 1, 2]  # resumed, not restarted


def test_ema_weights_are_validated_saved_and_resumed(tiny_corpus, tmp_path):
    out, _ = tiny_corpus
    cfg = TrainerConfig(
        max_epochs=1, patience=5, warmup_steps=2, progress=False, num_workers=0, ema=0.9
    )
    fit(_task(out), cfg, tmp_path)
    last = torch.load(tmp_path / "last.pt", weights_only=False)
    averaged = {k[len("module.") :]: v for k, v in last["ema"].items() if k.startswith("module.")}
    assert averaged.keys() == last["model"].keys()
    assert any(not torch.equal(averaged[k], last["model"][k]) for k in averaged)  # an average
    best, _ = load_model(tmp_path / "best.pt", task="kws")
    for k, v in best.state_dict().items():  # best.pt holds the average, not the raw weights
        assert torch.equal(v, averaged[k])
    cfg.max_epochs, cfg.resume = 2, True
    fit(_task(out), cfg, tmp_path)
    assert int(torch.load(tmp_path / "last.pt", weights_only=False)["ema"]["n_averaged"]) > int(
        last["ema"]["n_averaged"]
    )  # the average went on from the saved one
    with pytest.raises(ValueError, match="ema"):
        fit(_task(out), TrainerConfig(max_epochs=1, ema=1.0, progress=False), tmp_path / "x")


def test_select_last_keeps_the_final_epoch(tiny_corpus, tmp_path):
    out, _ = tiny_corpus
    task = _task(out)
    validate, calls = task.validate, []

    def worse_every_epoch(model, loader, device):  # dev would keep epoch 0 and stop early
        calls.append(1)
        return {**validate(model, loader, device), "score": -float(len(calls))}

    task.validate = worse_every_epoch
    cfg = TrainerConfig(
        max_epochs=3, patience=1, warmup_steps=2, progress=False, num_workers=0, select="last"
    )
    fit(task, cfg, tmp_path)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert [h["epoch"] for h in metrics["history"]] == [0, 1, 2] and metrics["best"]["epoch"] == 2
    last = torch.load(tmp_path / "last.pt", weights_only=False)["model"]
    best, _ = load_model(tmp_path / "best.pt", task="kws")
    assert all(torch.equal(v, last[k]) for k, v in best.state_dict().items())
    with pytest.raises(ValueError, match="select"):
        fit(_task(out), TrainerConfig(max_epochs=1, select="final", progress=False), tmp_path)


def test_snapshots_keep_every_nth_epoch_as_an_inference_checkpoint(tiny_corpus, tmp_path):
    out, _ = tiny_corpus
    cfg = TrainerConfig(
        max_epochs=4,
        warmup_steps=2,
        progress=False,
        num_workers=0,
        select="last",
        snapshot_every=2,
    )
    fit(_task(out), cfg, tmp_path)
    assert sorted(p.name for p in tmp_path.glob("epoch-*.pt")) == ["epoch-001.pt", "epoch-003.pt"]
    last, _ = load_model(tmp_path / "epoch-003.pt", task="kws")
    best, _ = load_model(tmp_path / "best.pt", task="kws")  # select=last: the same weights
    assert all(torch.equal(v, best.state_dict()[k]) for k, v in last.state_dict().items())
    early, _ = load_model(tmp_path / "epoch-001.pt", task="kws")
    assert not all(torch.equal(v, best.state_dict()[k]) for k, v in early.state_dict().items())
    with pytest.raises(ValueError, match="snapshot_every"):
        TrainerConfig(snapshot_every=-1)


def test_torchrun_ddp_on_cpu(tiny_corpus, tmp_path):
    out, _ = tiny_corpus
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--master_port=29533",
        "-m",
        "speech.train",
        "data=tiny",
        f"out_root={out.parent}",
        "trainer=ddp",
        "trainer.max_epochs=1",
        "trainer.progress=false",
        "trainer.num_workers=0",
        "model.channels=16",
        f"out_dir={tmp_path}",
    ]
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    assert (tmp_path / "best.pt").exists()
