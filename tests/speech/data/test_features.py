"""LogMel and SpecAugment: shapes, frame counts, spectral sanity, masking rules."""

from __future__ import annotations

import math

import pytest
import torch

from speech.data.features import FeatureConfig, LogMel, SpecAugment


@pytest.fixture(scope="module")
def logmel() -> LogMel:
    return LogMel()


def test_defaults_are_25ms_windows_every_10ms(logmel: LogMel) -> None:
    assert (logmel.win_length, logmel.hop_length, logmel.n_fft) == (400, 160, 512)


@pytest.mark.parametrize("n", [0, 1, 399, 511, 512, 513, 671, 672, 673, 1600, 16000])
def test_frames_matches_output(logmel: LogMel, n: int) -> None:
    out = logmel(torch.randn(3, n))
    assert out.shape == (3, logmel.frames(n), 40)
    assert out.dtype == torch.float32
    assert logmel.lengths_to_frames(torch.tensor([n])).item() == logmel.frames(n)


def test_unbatched_input(logmel: LogMel) -> None:
    assert logmel(torch.randn(1600)).shape == (logmel.frames(1600), 40)


def test_valid_frames_ignore_padding(logmel: LogMel) -> None:
    """Frames counted valid by lengths_to_frames do not change when padding is appended."""
    wave = torch.randn(2000)
    padded = torch.cat([wave, torch.full((3000,), 0.7)])
    n = int(logmel.lengths_to_frames(torch.tensor([2000])).item())
    torch.testing.assert_close(logmel(padded[None])[0, :n], logmel(wave[None])[0])


def _hz_to_mel(f: float) -> float:
    return 2595.0 * math.log10(1.0 + f / 700.0)


def _mel_to_hz(m: float) -> float:
    return 700.0 * (10 ** (m / 2595.0) - 1.0)


@pytest.mark.parametrize("band", [8, 20, 35])
def test_pure_tone_peaks_at_its_mel_band(logmel: LogMel, band: int) -> None:
    """A tone at the centre of mel band k (HTK mel scale, 40 bands over 20-7600 Hz) peaks there."""
    lo, hi = _hz_to_mel(20.0), _hz_to_mel(7600.0)
    freq = _mel_to_hz(lo + (hi - lo) * (band + 1) / 41)
    t = torch.arange(16000) / 16000
    feats = logmel(0.5 * torch.sin(2 * math.pi * freq * t)[None])[0]
    assert feats.mean(0).argmax().item() == band


def test_silence_is_floored_by_eps(logmel: LogMel) -> None:
    out = logmel(torch.zeros(1, 1600))
    torch.testing.assert_close(out, torch.full_like(out, math.log(1e-6)))


def test_autocast_computes_in_float32(logmel: LogMel) -> None:
    wave = torch.randn(2, 1600)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = logmel(wave)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, logmel(wave))


def test_half_module_keeps_float32_front_end() -> None:
    m = LogMel().to(torch.bfloat16)
    assert m.mel.mel_scale.fb.dtype == torch.float32
    assert m(torch.randn(1, 1600)).dtype == torch.float32


def test_feature_config_round_trip() -> None:
    cfg = FeatureConfig(n_mels=64, hop_ms=20.0)
    m = cfg.build()
    assert (m.n_mels, m.hop_length, m.n_fft) == (64, 320, 512)
    assert FeatureConfig.from_dict(cfg.asdict()) == cfg
    assert m.config == cfg
    with pytest.raises(ValueError, match="unknown feature settings"):
        FeatureConfig.from_dict({**cfg.asdict(), "preemph": 0.97})
    with pytest.raises(ValueError, match="f_max"):
        FeatureConfig(f_max=9000.0)


def test_specaugment_is_identity_in_eval() -> None:
    aug = SpecAugment().eval()
    x = torch.randn(4, 50, 40)
    assert aug(x, torch.tensor([50, 30, 10, 1])) is x


def test_specaugment_masks_only_valid_frames() -> None:
    torch.manual_seed(0)
    aug = SpecAugment(freq_masks=2, freq_width=8, time_masks=2, time_width=10).train()
    x = torch.randn(64, 60, 40)
    lengths = torch.randint(0, 61, (64,))
    y = aug(x, lengths)
    changed = (y != x).any(dim=2)  # (B, T)
    frame = torch.arange(60)[None, :]
    assert not changed[frame >= lengths[:, None]].any()
    assert changed.any()
    assert not changed[lengths == 0].any()


def test_specaugment_time_masks_respect_p_and_width() -> None:
    torch.manual_seed(1)
    aug = SpecAugment(freq_masks=0, time_masks=1, time_width=10, p=0.2).train()
    x = torch.randn(200, 30, 8) + 5.0
    lengths = torch.randint(1, 31, (200,))
    masked_frames = (aug(x, lengths) != x).all(dim=2).sum(dim=1)
    limit = torch.minimum(torch.full_like(lengths, 10), (lengths * 0.2).floor().long())
    assert (masked_frames <= limit).all()
    assert (masked_frames > 0).any()


def test_specaugment_fills_with_example_mean_and_is_seeded() -> None:
    aug = SpecAugment(freq_masks=1, freq_width=40, time_masks=0).train()
    x = torch.randn(8, 20, 40) * 3 - 10
    torch.manual_seed(7)
    a = aug(x)
    torch.manual_seed(7)
    b = aug(x)
    torch.testing.assert_close(a, b)
    hit = a != x
    means = x.mean(dim=(1, 2))
    for i in range(8):
        if hit[i].any():
            torch.testing.assert_close(a[i][hit[i]], means[i].expand(int(hit[i].sum())))
