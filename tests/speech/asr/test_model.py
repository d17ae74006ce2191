"""The Conformer-CTC: shapes, padding independence, Opacus DP-SGD, vocabulary and LM."""

from __future__ import annotations

import math

import pytest
import torch

from speech.asr.lm import CharNgram
from speech.asr.model import ConformerCTC
from speech.asr.vocab import CharVocab


def _small() -> ConformerCTC:
    return ConformerCTC(d_model=32, n_layers=2, n_heads=2, subsample_channels=8, n_mels=40).eval()


def test_defaults_are_the_cpu_preset():
    """The constructor's defaults build conf/model/asr_tiny.yaml's shape (sizes of every
    preset file are checked in tests/test_config.py)."""
    assert 1e6 <= sum(x.numel() for x in ConformerCTC().parameters()) <= 3e6
    with pytest.raises(TypeError):
        ConformerCTC(preset="tiny")  # retired: presets live in conf/model only


def test_output_shapes_and_lengths():
    model = _small()
    lp, n = model(torch.randn(3, 101, 40), torch.tensor([101, 60, 7]))
    assert lp.shape == (3, 24, 29)
    assert n.tolist() == [24, 14, 1]
    assert torch.allclose(lp.exp().sum(-1), torch.ones(3, 24), atol=1e-4)


def test_padding_does_not_change_valid_frames():
    model = _small()
    x = torch.randn(1, 60, 40)
    alone, n = model(x, torch.tensor([60]))
    padded = torch.cat([x, torch.randn(1, 40, 40) * 5], 1)
    both, m = model(padded, torch.tensor([60]))
    assert n.item() == m.item() == 14
    assert torch.allclose(alone[0, :14], both[0, :14], atol=1e-4)


def test_opacus_accepts_the_model():
    opacus = pytest.importorskip("opacus")
    from opacus.validators import ModuleValidator

    model = _small().train()
    assert ModuleValidator.validate(model, strict=True) == []
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    data = torch.utils.data.TensorDataset(torch.randn(8, 80, 40), torch.randint(1, 29, (8, 5)))
    loader = torch.utils.data.DataLoader(data, batch_size=4)
    engine = opacus.PrivacyEngine()
    model, opt, loader = engine.make_private(
        module=model, optimizer=opt, data_loader=loader, noise_multiplier=1.0, max_grad_norm=1.0
    )
    for x, y in loader:
        lp, n = model(x, torch.full((len(x),), 80))
        loss = torch.nn.functional.ctc_loss(
            lp.transpose(0, 1), y, n, torch.full((len(x),), 5), zero_infinity=True
        )
        opt.zero_grad()
        loss.backward()
        assert all(p.grad_sample is not None for p in model.parameters() if p.requires_grad)
        opt.step()
        break
    assert engine.get_epsilon(delta=1e-5) > 0


def test_vocab_round_trip():
    v = CharVocab()
    ids = v.encode("call o'brien  now")
    assert v.decode(ids) == "call o'brien now"
    assert v.separator in ids and 0 not in ids
    assert v.encode("Hi 42!") == v.encode("hi")  # digits and punctuation are not spoken forms
    with pytest.raises(ValueError):
        CharVocab(["a", "|"])


def test_char_ngram_prefers_seen_text():
    v = CharVocab()
    lm = CharNgram.train(["call mom", "call dad", "play music"] * 5, v, order=4)
    assert lm.perplexity(["call mom"], v) < lm.perplexity(["lalc omm"], v)
    ctx = tuple(v.encode("cal"))
    total = sum(lm.prob(ctx, t) for t in range(1, len(v))) + lm.prob(ctx, -1)
    assert math.isclose(total, 1.0, rel_tol=0.05)
    again = CharNgram.from_dict(lm.as_dict())
    assert again.perplexity(["call dad"], v) == pytest.approx(lm.perplexity(["call dad"], v))


def test_half_precision_copy_loads_into_float32(tmp_path):
    from speech.checkpoint import half_precision_copy, load_model, save_checkpoint

    model = _small()
    args = {"d_model": 32, "n_layers": 2, "n_heads": 2, "subsample_channels": 8, "n_mels": 40}
    src = save_checkpoint(tmp_path / "a.pt", model, task="asr", model_args=args, features={})
    dst = half_precision_copy(src, tmp_path / "b.pt")
    assert dst.stat().st_size < 0.7 * src.stat().st_size
    again, _ = load_model(dst, task="asr")
    assert next(again.parameters()).dtype == torch.float32
    x = torch.randn(1, 50, 40)
    assert torch.allclose(model(x)[0], again(x)[0], atol=0.05)
