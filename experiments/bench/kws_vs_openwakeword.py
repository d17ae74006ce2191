"""Our wake-word model against openWakeWord 0.5.1's pretrained ``hey_jarvis``, side by side.

Both score the same held-out positives ("hey jarvis" spoken by the test-split voices) and the
same negative stream (test split, never the phrase). For each: false-reject rate at the
lowest threshold giving <= 0.5 false accepts per hour, and single-thread CPU time per second
of audio. For ours also: parameters, multiply-accumulates per second, latency per 10 ms frame
and training throughput on this machine.

    python -m speech.train +experiment=hey_jarvis            # trains outputs/kws-jarvis/best.pt
    python -m experiments.bench.kws_vs_openwakeword          # needs the `peers` extra + openwakeword

Writes ``experiments/bench/results/kws_vs_openwakeword.{json,png}``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from speech import SAMPLE_RATE
from speech.audio import load_wav
from speech.checkpoint import CheckpointError, load_model
from speech.data.features import FeatureConfig
from speech.data.manifest import audio_path, read_manifest
from speech.kws.data import load_positive
from speech.kws.evaluate import FA_TARGETS, THRESHOLDS, false_accepts, first_within, frr_at
from speech.kws.stream import Detector, clip_scores

ROOT = Path(__file__).resolve().parents[2]


def _corpus() -> Path:
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate

    from speech.data.build import build_corpus

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(config_name="train", overrides=["+experiment=hey_jarvis"])
    corpus, _ = build_corpus(instantiate(cfg.data, _convert_="all"), ROOT / cfg.out_root, workers=2)
    return corpus


def _operating_point(pos: np.ndarray, fa_counts: np.ndarray, hours: float, target: float) -> dict:
    """FRR at the lowest threshold with at most ``target`` false accepts per hour (1.0 if none
    is), the DET curve, and the FRR at each of :data:`~speech.kws.evaluate.FA_TARGETS` the same way."""
    fa = fa_counts / hours
    frr = [float(np.mean(pos < t)) for t in THRESHOLDS]
    op = first_within(fa, target)
    return {
        "frr_at_fa_per_hour": {str(t): frr_at(fa, frr, t) for t in FA_TARGETS},
        "threshold": float(THRESHOLDS[op]) if op is not None else float("nan"),
        "fa_per_hour": float(fa[op]) if op is not None else None,
        "frr": frr_at(fa, frr, target),
        "det": {"fa_per_hour": fa.round(4).tolist(), "frr": frr},
    }


def score_ours(ckpt: Path, positives: list[np.ndarray], streams: list[np.ndarray]) -> dict:
    model, meta = load_model(ckpt, task="kws")
    frontend = FeatureConfig.from_dict(meta["features"]).build()
    smoothing = meta["extra"]["smoothing"]
    refr = int(meta["extra"]["refractory"] * SAMPLE_RATE / frontend.hop_length)
    t0 = time.process_time()
    pos = np.array(
        [
            float(clip_scores(model, frontend, w, smoothing).max())
            for w in tqdm(positives, desc="ours: positives", leave=False)
        ]
    )
    fa = np.zeros(len(THRESHOLDS))
    for w in tqdm(streams, desc="ours: stream", leave=False):
        s = clip_scores(model, frontend, w, smoothing).numpy()
        fa += false_accepts(s, refr)
    cpu = time.process_time() - t0
    audio = sum(len(w) for w in positives + streams) / SAMPLE_RATE
    # Streaming latency: one 10 ms hop through the on-device detector.
    det = Detector(model, frontend, threshold=1.1, smoothing=smoothing)
    det.push(np.zeros(frontend.n_fft, np.float32))
    hop = np.random.default_rng(0).standard_normal(frontend.hop_length).astype(np.float32) * 0.1
    t1 = time.perf_counter()
    for _ in range(1000):
        det.push(hop)
    latency_ms = time.perf_counter() - t1  # 1000 frames -> seconds == ms per frame
    return {
        "onnx_step_ms_per_frame": onnx_step_latency(model, meta),
        "pos": pos,
        "fa": fa,
        "cpu_seconds_per_audio_second": cpu / audio,
        "model": model,
        "latency_ms_per_frame": latency_ms,
        "parameters": model.num_parameters(),
        "macs_per_second": model.macs_per_frame() * SAMPLE_RATE // frontend.hop_length,
    }


def onnx_step_latency(model, meta: dict, frames: int = 2000) -> float:
    """Milliseconds per 10 ms frame of the exported streaming step (``kws_step.onnx``) in
    onnxruntime on one thread: the network alone, as a device would run it."""
    import tempfile

    import onnxruntime as ort

    from speech.kws.export import export_onnx

    with tempfile.TemporaryDirectory() as tmp:
        step = export_onnx(model, meta, tmp)["step"]
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = 1
        sess = ort.InferenceSession(str(step), opts, providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    states = [s.numpy() for s in model.initial_state(1)]
    frame = np.random.default_rng(0).standard_normal((1, model.config.n_mels)).astype(np.float32)
    for _ in range(50):  # warm-up
        out = sess.run(None, dict(zip(names, [frame, *states], strict=True)))
    t0 = time.perf_counter()
    for _ in range(frames):
        out = sess.run(None, dict(zip(names, [frame, *states], strict=True)))
        states = out[1:]
    return (time.perf_counter() - t0) * 1000 / frames


def score_oww(positives: list[np.ndarray], streams: list[np.ndarray]) -> dict:
    try:
        from openwakeword.model import Model
    except ImportError:
        sys.exit(
            "openwakeword is not installed: pip install -e '.[peers]' && pip install --no-deps openwakeword==0.5.1"
        )
    oww = Model(wakeword_models=["hey_jarvis"], inference_framework="onnx")
    name = next(iter(oww.models))

    def frames(wave: np.ndarray) -> np.ndarray:
        oww.reset()
        pcm = (np.clip(wave, -1, 1) * 32767).astype(np.int16)
        return np.array([p[name] for p in oww.predict_clip(pcm, padding=1)])

    t0 = time.process_time()
    pos = np.array(
        [
            float(frames(w).max())
            for w in tqdm(positives, desc="openWakeWord: positives", leave=False)
        ]
    )
    fa = np.zeros(len(THRESHOLDS))
    refr = int(1.0 * SAMPLE_RATE / 1280)  # its frames are 80 ms
    for w in tqdm(streams, desc="openWakeWord: stream", leave=False):
        s = frames(w)
        fa += false_accepts(s, refr)
    cpu = time.process_time() - t0
    audio = sum(len(w) for w in positives + streams) / SAMPLE_RATE
    return {"pos": pos, "fa": fa, "cpu_seconds_per_audio_second": cpu / audio}


def training_throughput(ckpt_dir: Path) -> float | None:
    metrics = ckpt_dir / "metrics.json"
    if not metrics.exists():
        return None
    history = json.loads(metrics.read_text())["history"]
    return float(np.median([h["clips_per_second"] for h in history]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", type=Path, default=ROOT / "outputs" / "kws-jarvis" / "best.pt")
    ap.add_argument("--target-fa-per-hour", type=float, default=0.5)
    ap.add_argument("--out", type=Path, default=ROOT / "experiments" / "bench" / "results")
    args = ap.parse_args()
    torch.set_num_threads(1)
    corpus = _corpus()
    manifest = corpus / "manifest.jsonl"
    utts = [u for u in read_manifest(manifest) if u.split == "test"]
    positives = [  # heard until LISTEN_ON after the phrase end, as speech.evaluate does
        load_positive(manifest, u) for u in utts if u.kind == "wake" and u.text == "hey jarvis"
    ]
    streams = [load_wav(audio_path(manifest, u)) for u in utts if u.kind == "stream"]
    hours = sum(len(w) for w in streams) / SAMPLE_RATE / 3600
    try:
        ours = score_ours(args.checkpoint, positives, streams)
    except CheckpointError as exc:
        sys.exit(f"{exc}\n(train it with: python -m speech.train +experiment=hey_jarvis)")
    peer = score_oww(positives, streams)
    rows = {}
    for name, r in (("sottovoce", ours), ("openwakeword", peer)):
        op = _operating_point(r["pos"], r["fa"], hours, args.target_fa_per_hour)
        rows[name] = {
            "frr_at_target": op["frr"],
            "threshold": op["threshold"],
            "fa_per_hour": op["fa_per_hour"],
            "frr_at_fa_per_hour": op["frr_at_fa_per_hour"],
            "cpu_seconds_per_audio_second": round(r["cpu_seconds_per_audio_second"], 5),
            "det": op["det"],
        }
    rows["sottovoce"].update(
        parameters=ours["parameters"],
        macs_per_second=ours["macs_per_second"],
        latency_ms_per_frame=round(ours["latency_ms_per_frame"], 4),
        onnx_step_ms_per_frame=round(ours["onnx_step_ms_per_frame"], 4),
        training_clips_per_second_cpu=training_throughput(args.checkpoint.parent),
    )
    report = {
        "positives": len(positives),
        "stream_hours": round(hours, 3),
        "target_fa_per_hour": args.target_fa_per_hour,
        "results": rows,
        "cpu_ratio_ours_over_peer": round(
            rows["sottovoce"]["cpu_seconds_per_audio_second"]
            / rows["openwakeword"]["cpu_seconds_per_audio_second"],
            4,
        ),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "kws_vs_openwakeword.json").write_text(json.dumps(report, indent=1))
    _plot(report, args.out / "kws_vs_openwakeword.png")
    print(
        f"'hey jarvis': {len(positives)} held-out positives, {hours:.2f} h negative stream, single thread"
    )
    print(
        f"{'model':14s} {'FRR@' + str(args.target_fa_per_hour) + 'FA/h':>13s} {'CPU s/s audio':>14s}"
    )
    for name, r in rows.items():
        print(f"{name:14s} {r['frr_at_target']:13.2%} {r['cpu_seconds_per_audio_second']:14.5f}")
    for name, r in rows.items():
        at = ", ".join(f"{v:.1%} at {t} FA/h" for t, v in r["frr_at_fa_per_hour"].items())
        print(f"{name}: FRR {at}")
    s = rows["sottovoce"]
    print(
        f"ours/peer CPU time: {report['cpu_ratio_ours_over_peer']:.3f}; ours: {s['parameters']} parameters, "
        f"{s['macs_per_second'] / 1e6:.1f} M MAC/s, {s['latency_ms_per_frame']:.3f} ms per 10 ms frame "
        f"(Python detector; ONNX step alone {s['onnx_step_ms_per_frame']:.3f} ms), "
        f"training {s['training_clips_per_second_cpu']} clips/s on CPU"
    )


def _plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 5))
    for name, r in report["results"].items():
        ax.plot(
            np.maximum(r["det"]["fa_per_hour"], 1e-2), np.maximum(r["det"]["frr"], 1e-3), label=name
        )
    ax.axvline(report["target_fa_per_hour"], color="grey", linestyle=":")
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="false accepts per hour",
        ylabel="false-reject rate",
        title="'hey jarvis' on held-out voices",
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
