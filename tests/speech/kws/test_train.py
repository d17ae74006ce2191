"""The wake-word task: frame targets, crops, augmentation and its loss (the trainer: tests/speech/test_train.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from speech.data.manifest import Utterance, Word
from speech.kws.data import KWSClips, frame_targets, listen_on
from speech.kws.task import KWSTask


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


def test_overdrive_clips_the_chosen_share_of_clips_only():
    task = KWSTask("unused.jsonl", model={}, clip_prob=1.0)
    rng = np.random.default_rng(0)
    waves = torch.from_numpy(rng.normal(0, 0.05, (4, 16000)).astype(np.float32))
    driven = task._overdrive(waves)
    assert driven.abs().max() <= 1.0
    assert all(float((driven[i].abs() >= 1.0).float().mean()) > 0.01 for i in range(4))
    assert torch.equal(KWSTask("unused.jsonl", model={}, clip_prob=0.0)._overdrive(waves), waves)
    with pytest.raises(ValueError, match="clip_prob"):
        KWSTask("unused.jsonl", model={}, clip_prob=1.5)


def test_per_sample_loss_keeps_each_clips_gradient_to_itself(tiny_corpus):
    out, _ = tiny_corpus
    task = _task(out)
    task.mel_warp, task.spec_augment.freq_masks, task.spec_augment.time_masks = 0.0, 0, 0
    model = task.build_model().eval()  # no dropout: the same input gives the same loss
    train, _ = task.loaders(ddp=False, num_workers=0)
    batch = next(iter(train))
    alone = [
        task.loss(model, batch._replace(**_pick(batch, i)), per_sample=True)[0]
        for i in range(len(batch.ids))
    ]
    together, _ = task.loss(model, batch, per_sample=True)
    assert torch.allclose(together, torch.stack(alone).mean(), atol=1e-5)
    pooled, _ = task.loss(model, batch)  # the shipped recipe pools frames over the batch
    assert torch.isfinite(pooled)


def _pick(batch, i: int) -> dict:
    n = int(batch.wave_lengths[i])
    return {
        "waves": batch.waves[i : i + 1, :n],
        "wave_lengths": batch.wave_lengths[i : i + 1],
        "labels": batch.labels[i : i + 1],
        "targets": batch.targets[i : i + 1],
        "target_lengths": batch.target_lengths[i : i + 1],
        "ids": batch.ids[i : i + 1],
    }


def test_a_recognizer_preset_is_refused_by_the_wake_word_task():
    task = KWSTask("unused.jsonl", model={"_target_": "speech.asr.model.ConformerCTC"})
    with pytest.raises(ValueError, match="task=kws trains"):
        task.build_model()
