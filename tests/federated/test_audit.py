"""The privacy audit's attacks detect what they claim to detect."""

from __future__ import annotations

import json
import math

import numpy as np
import torch

from federated.audit import auc, canary_device, exposure, plant
from speech.asr.task import ASRTask
from speech.data.dataset import ManifestDataset, make_loader
from speech.data.manifest import read_manifest
from speech.train import train_epoch

SMALL = {"d_model": 32, "n_layers": 2, "n_heads": 2, "subsample_channels": 8, "dropout": 0.0}


def test_auc_is_the_mann_whitney_statistic():
    assert auc([3.0, 4.0], [1.0, 2.0]) == 1.0
    assert auc([1.0], [2.0]) == 0.0
    assert auc([1.0, 2.0], [1.0, 2.0]) == 0.5
    assert math.isnan(auc([], [1.0]))


def test_exposure_finds_a_memorised_canary_and_not_an_unplanted_control(tiny_corpus, tmp_path):
    """A model trained on the planted canaries ranks their secrets first although the audio
    (the digits backwards) does not hold them; the controls stay near chance."""
    out, _ = tiny_corpus
    manifest = out / "manifest.jsonl"
    devices = sorted({u.device for u in read_manifest(manifest) if u.device})
    device = canary_device(manifest, devices)
    path = plant(tmp_path, manifest, device, n=2, copies=2, controls=2, seed=3)
    meta = json.loads((tmp_path / "canaries.json").read_text())
    assert [c["planted"] for c in meta["canaries"]] == [True, True, False, False]
    rows = read_manifest(path)
    assert len(rows) == 4 and {r.device for r in rows} == {device}
    assert all(r.split == "train" and "control" not in r.id for r in rows)

    torch.manual_seed(0)
    task = ASRTask(
        manifest,
        model=SMALL,
        features={"n_mels": 40},
        mel_warp=0.0,
        spec_augment={"freq_masks": 0, "time_masks": 0},
        lm_sentences=0,
    )
    model = task.build_model()
    fresh = exposure(model, task, tmp_path, candidates=200, seed=0)
    assert len(fresh) == 4 and all(0 <= e["exposure"] <= math.log2(201) + 1e-9 for e in fresh)

    data = ManifestDataset(path, tokenize=task.vocab.encode)
    loader = make_loader(data, max_batch_seconds=60.0, shuffle=True, seed=0)
    task.init_model(model, loader, batches=1)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for e in range(60):
        train_epoch(model, task, opt, loader, epoch=e)
    after = exposure(model, task, tmp_path, candidates=200, seed=0)
    planted = [e["exposure"] for e in after if e["planted"]]
    control = [e["exposure"] for e in after if not e["planted"]]
    assert min(planted) > 6.0, after  # ranked first or nearly (7.65 bits is the most)
    assert np.mean(control) < 5.0, after
