"""The wake-word network: causal, streamable, small, Opacus-compatible, exportable."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from speech.data.features import FeatureConfig
from speech.kws.model import KWSModel
from speech.kws.stream import Detector, clip_scores, detect, smooth


@pytest.fixture
def model():
    torch.manual_seed(0)
    m = KWSModel()
    with torch.no_grad():  # make the head non-trivial so scores vary
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return m.eval()


def test_default_is_the_small_on_device_size():
    assert KWSModel().num_parameters() <= 100_000


def test_output_is_causal(model):
    x = torch.randn(1, 80, 40)
    y = model(x)
    x2 = x.clone()
    x2[:, 50:] = torch.randn(1, 30, 40)
    assert torch.allclose(model(x2)[:, :50], y[:, :50], atol=1e-6)
    assert not torch.allclose(model(x2)[:, 50:], y[:, 50:])


def test_step_equals_whole_clip(model):
    x = torch.randn(2, 60, 40)
    state = model.initial_state(2)
    steps = []
    for t in range(60):
        logit, state = model.step(x[:, t], state)
        steps.append(logit)
    assert torch.allclose(torch.stack(steps, 1), model(x), atol=1e-5)


@pytest.mark.parametrize("chunk", [160, 1000, 4096])
def test_streaming_detector_matches_clip_scores(model, chunk):
    frontend = FeatureConfig().build()
    wave = np.random.default_rng(0).standard_normal(16000 * 2).astype(np.float32) * 0.1
    whole = clip_scores(model, frontend, wave, smoothing=5).numpy()
    det = Detector(model, frontend, threshold=2.0, smoothing=5)
    streamed = []
    for i in range(0, len(wave), chunk):
        scores, _ = det.push(wave[i : i + chunk])
        streamed += scores
    assert len(streamed) == len(whole)
    assert np.allclose(streamed, whole, atol=1e-5)


def test_smoothing_and_refractory():
    post = torch.tensor([0.0, 1.0, 1.0, 0.0, 0.0, 0.0])
    assert torch.allclose(smooth(post, 2), torch.tensor([0.0, 0.5, 1.0, 0.5, 0.0, 0.0]))
    scores = np.array([0.0, 0.9, 0.95, 0.2, 0.9, 0.0, 0.0, 0.9])
    found = detect(scores, threshold=0.8, refractory=0.025, hop=160, window=400)  # 2.5 frames
    assert [round(d.time, 3) for d in found] == [0.035, 0.065, 0.095]
    assert len(detect(scores, threshold=0.8, refractory=1.0, hop=160, window=400)) == 1


def test_opacus_accepts_the_model():
    opacus = pytest.importorskip("opacus")
    from opacus.validators import ModuleValidator

    model = KWSModel()
    assert ModuleValidator.validate(model, strict=True) == []
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    data = torch.utils.data.TensorDataset(
        torch.randn(8, 30, 40), torch.randint(0, 2, (8, 30)).float()
    )
    loader = torch.utils.data.DataLoader(data, batch_size=4)
    engine = opacus.PrivacyEngine()
    model, opt, loader = engine.make_private(
        module=model, optimizer=opt, data_loader=loader, noise_multiplier=1.0, max_grad_norm=1.0
    )
    for x, y in loader:
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x), y)
        opt.zero_grad()
        loss.backward()
        assert all(p.grad_sample is not None for p in model.parameters() if p.requires_grad)
        opt.step()
        break
    assert engine.get_epsilon(delta=1e-5) > 0


def test_onnx_agrees_with_torch(model, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    from speech.kws.export import export_onnx

    paths = export_onnx(model, {"features": {}, "extra": {}}, tmp_path)
    x = torch.randn(2, 73, 40)
    (onnx_logits,) = ort.InferenceSession(str(paths["clip"])).run(None, {"feats": x.numpy()})
    assert np.allclose(onnx_logits, model(x).detach().numpy(), atol=1e-4)
    step = ort.InferenceSession(str(paths["step"]))
    state = [s.numpy() for s in model.initial_state(1)]
    outs = []
    for t in range(20):
        feeds = {"frame": x[:1, t].numpy(), **{f"state{i}": s for i, s in enumerate(state)}}
        logit, *state = step.run(None, feeds)
        outs.append(logit[0])
    assert np.allclose(outs, model(x[:1, :20])[0].detach().numpy(), atol=1e-4)


def test_running_mean_norm_streams_like_the_whole_clip():
    torch.manual_seed(0)
    m = KWSModel(channels=16, dilations=[1, 2], norm_frames=25).eval()
    with torch.no_grad():
        for p in m.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    x = torch.randn(2, 90, 40) * 3 + 1
    y = m(x)
    state, steps = m.initial_state(2), []
    for t in range(90):
        logit, state = m.step(x[:, t], state)
        steps.append(logit)
    assert torch.allclose(torch.stack(steps, 1), y, atol=1e-5)
    # a constant offset (a voice's or a room's spectral tilt) is removed once the window is full
    assert torch.allclose(m(x + 2.0)[:, 25:], y[:, 25:], atol=1e-4)
    plain = KWSModel(channels=16, dilations=[1, 2]).eval()
    assert not torch.allclose(plain(x + 2.0)[:, 25:], plain(x)[:, 25:], atol=1e-4)
    x2 = x.clone()
    x2[:, 60:] = 0.0
    assert torch.allclose(m(x2)[:, :60], y[:, :60], atol=1e-6)  # still causal
    with pytest.raises(ValueError, match="norm_frames"):
        KWSModel(norm_frames=1)


def test_onnx_front_end_and_step_graph_run_from_audio(model, tmp_path):
    """What a device runs: the exported front end on its last n_fft samples every hop, then
    the step graph; and the one-graph audio model. Both agree with the torch Detector."""
    ort = pytest.importorskip("onnxruntime")
    from speech.kws.export import export_onnx

    features = FeatureConfig()
    paths = export_onnx(model, {"features": features.asdict(), "extra": {}}, tmp_path)
    card = json.loads(paths["card"].read_text())
    n_fft, hop = card["frontend"]["n_fft"], card["frontend"]["hop"]
    frontend = features.build()
    rng = np.random.default_rng(2)
    wave = (np.sin(np.arange(16000) * 0.07) * 0.3 + rng.normal(0, 0.05, 16000)).astype(np.float32)
    torch_scores = clip_scores(model, frontend, wave, smoothing=1).detach().numpy()

    front = ort.InferenceSession(str(paths["frontend"]))
    (feats,) = front.run(None, {"waves": wave[None]})
    assert np.allclose(feats, frontend(torch.from_numpy(wave)[None]).numpy(), atol=2e-3)
    (logits,) = ort.InferenceSession(str(paths["audio"])).run(None, {"waves": wave[None]})
    assert np.allclose(1 / (1 + np.exp(-logits[0])), torch_scores, atol=1e-3)

    step = ort.InferenceSession(str(paths["step"]))
    state = [np.zeros(shape, np.float32) for shape in card["state_shapes"]]
    streamed = []
    for start in range(0, len(wave) - n_fft + 1, hop):  # a ring buffer of n_fft samples
        (frame,) = front.run(None, {"waves": wave[None, start : start + n_fft]})
        feeds = {"frame": frame[:, 0], **{f"state{i}": s for i, s in enumerate(state)}}
        logit, *state = step.run(None, feeds)
        streamed.append(1 / (1 + np.exp(-logit[0])))
    assert np.allclose(streamed, torch_scores, atol=1e-3)
