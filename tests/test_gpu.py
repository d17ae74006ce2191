"""CUDA paths of both models (run with `-m gpu` on a machine with a GPU)."""

from __future__ import annotations

import pytest
import torch

from speech.kws.task import KWSTask
from speech.train import TrainerConfig, fit

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def test_fit_on_cuda_with_mixed_precision(tiny_corpus, tmp_path):
    out, _ = tiny_corpus
    task = KWSTask(out / "manifest.jsonl", model={"channels": 32}, batch_seconds=20.0)
    cfg = TrainerConfig(device="cuda", amp=True, max_epochs=1, progress=False)
    best = fit(task, cfg, tmp_path)
    assert 0.0 <= best["frr"] <= 1.0 and (tmp_path / "best.pt").exists()


def test_asr_fits_on_cuda_with_mixed_precision(tiny_corpus, tmp_path):
    from speech.asr.recognizer import Recognizer
    from speech.asr.task import ASRTask

    out, _ = tiny_corpus
    task = ASRTask(
        out / "manifest.jsonl",
        model={"n_layers": 2},
        batch_seconds=30.0,
        lm_sentences=200,
        lm_order=3,
    )
    cfg = TrainerConfig(device="cuda", amp=True, max_epochs=1, progress=False)
    best = fit(task, cfg, tmp_path)
    assert 0.0 <= best["wer"] <= 1.5
    rec = Recognizer.load(tmp_path / "best.pt")
    assert rec.transcribe(torch.zeros(16000).numpy()).text == ""
