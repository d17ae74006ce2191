"""Wake-word evaluation on held-out speakers.

* false-reject rate on the test split's wake clips, clean and with noise at given SNRs; each
  clip is heard until 0.5 s after the phrase end (:func:`speech.kws.data.listen_on`), as a
  device keeps listening, so a model that waits for the phrase to be over is judged fairly;
* false accepts per hour on the test split's long negative streams;
* the DET curve (FRR against false accepts per hour) as a PNG;
* the operating point: the lowest threshold with at most ``target_fa_per_hour``;
* a per-speaker breakdown at that point.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from speech import SAMPLE_RATE
from speech.audio import load_wav
from speech.data import augment
from speech.data.features import FeatureConfig
from speech.data.manifest import audio_path, read_manifest
from speech.kws.data import LISTEN_ON, load_positive
from speech.kws.stream import clip_scores

# Coarse below 0.9, 0.0005 apart from 0.9 to 0.999 (well-trained models' clip scores saturate
# there, and a coarse step would skip the operating point), then log-spaced towards 1.
THRESHOLDS = np.unique(
    np.concatenate(
        [
            np.linspace(0.01, 0.9, 90),
            np.linspace(0.9, 0.999, 199),
            1 - np.logspace(-3, -5, 21),
        ]
    ).round(6)
)


def count_detections(scores: np.ndarray, threshold: float, refractory_frames: int) -> int:
    """Detections (first crossings, then ``refractory_frames`` of silence) above ``threshold``."""
    idx = np.flatnonzero(scores >= threshold)
    n, i = 0, 0
    while i < len(idx):
        n += 1
        i = int(np.searchsorted(idx, idx[i] + refractory_frames))
    return n


def false_accepts(scores: np.ndarray, refractory_frames: int) -> np.ndarray:
    """Detections in one recording at every threshold of :data:`THRESHOLDS`. -> (len(THRESHOLDS),)."""
    return np.array(
        [count_detections(scores, t, refractory_frames) for t in THRESHOLDS], dtype=float
    )


def first_within(fa_per_hour: np.ndarray, target: float) -> int | None:
    """Index of the lowest threshold whose false accepts per hour are within ``target``.

    The comparison allows for rounding: one false accept in a 2 h stream is 0.5 per hour even
    when the hours add up to 1.9999999999999991.
    """
    ok = np.flatnonzero(fa_per_hour <= target * (1 + 1e-9))
    return int(ok[0]) if ok.size else None


# False-accept rates at which reports tabulate the false-reject rate besides the target.
FA_TARGETS = (0.5, 1.0, 5.0, 10.0)


def frr_at(fa_per_hour, frr, target: float) -> float:
    """The false-reject rate of a DET curve (``fa_per_hour`` and ``frr`` per :data:`THRESHOLDS`)
    at the lowest threshold within ``target`` false accepts per hour; 1.0 if none is."""
    op = first_within(np.asarray(fa_per_hour), target)
    return 1.0 if op is None else float(frr[op])


def _threshold_within(
    fa_counts: np.ndarray, hours: float, target: float
) -> tuple[int | None, float]:
    """:func:`first_within` on counts over ``hours``, with its threshold (the highest if none)."""
    op = first_within(fa_counts / hours, target)
    return op, float(THRESHOLDS[op if op is not None else -1])


def _detector(meta: dict[str, Any]):
    """The checkpoint's front end, smoothing (frames) and refractory period (frames)."""
    frontend = FeatureConfig.from_dict(meta["features"]).build()
    refractory = int(meta["extra"]["refractory"] * SAMPLE_RATE / frontend.hop_length)
    return frontend, meta["extra"]["smoothing"], refractory


def _score_negatives(model, detector, paths, *, desc: str, progress: bool):
    """Per recording: smoothed scores, detections at every threshold, and hours.

    ``detector``: what :func:`_detector` returns.
    """
    frontend, smoothing, refractory = detector
    scores, fa, hours = [], [], []
    for path in tqdm(paths, desc=desc, disable=not progress):
        wave = load_wav(path)
        hours.append(len(wave) / SAMPLE_RATE / 3600)
        scores.append(clip_scores(model, frontend, wave, smoothing).numpy())
        fa.append(false_accepts(scores[-1], refractory))
    return scores, fa, hours


@torch.no_grad()
def evaluate_kws(
    model,
    meta: dict[str, Any],
    corpus: Path,
    out_dir: Path,
    *,
    snrs=(10.0, 5.0, 0.0),
    target_fa_per_hour: float = 0.5,
    split: str = "test",
    seed: int = 0,
    progress: bool = True,
) -> dict[str, Any]:
    """Score the test split; writes ``report.json`` and ``det.png`` to ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = corpus / "manifest.jsonl"
    utts = [u for u in read_manifest(manifest) if u.split == split]
    wake_phrase = meta["extra"]["wake_phrase"]
    positives = [u for u in utts if u.kind == "wake" and u.text == wake_phrase]
    streams = [u for u in utts if u.kind == "stream"]
    if not positives or not streams:
        raise ValueError(
            f"{manifest}: split {split!r} needs wake clips of {wake_phrase!r} and streams "
            f"(found {len(positives)} and {len(streams)}); was the corpus built for this phrase?"
        )
    detector = _detector(meta)
    frontend, smoothing, refractory = detector
    babble = augment.load_babble(corpus)
    rng = np.random.default_rng(seed)

    conditions = ["clean", *[f"{s:g}dB" for s in snrs]]
    pos_scores: dict[str, list[float]] = {c: [] for c in conditions}
    for u in tqdm(positives, desc="positives", disable=not progress):
        wave = load_positive(manifest, u)
        pos_scores["clean"].append(float(clip_scores(model, frontend, wave, smoothing).max()))
        for snr in snrs:
            noisy = augment.evaluation_noise(wave, snr, rng, babble)
            pos_scores[f"{snr:g}dB"].append(
                float(clip_scores(model, frontend, noisy, smoothing).max())
            )
    stream_scores, stream_fa, stream_hours = _score_negatives(
        model,
        detector,
        [audio_path(manifest, u) for u in streams],
        desc="streams",
        progress=progress,
    )
    hours = sum(stream_hours)
    fa_counts = np.sum(stream_fa, axis=0)
    fa_per_hour = fa_counts / hours
    op, op_threshold = _threshold_within(fa_counts, hours, target_fa_per_hour)

    def at(threshold: float, chunks: list[int]) -> dict[str, Any]:
        """False accepts in ``chunks`` of the stream and FRR per condition at ``threshold``."""
        n = sum(count_detections(stream_scores[i], threshold, refractory) for i in chunks)
        h = sum(stream_hours[i] for i in chunks)
        return {
            "threshold": round(threshold, 5),
            "stream_hours": round(h, 3),
            "false_accepts": n,
            "fa_per_hour": round(n / h, 3),
            "frr": {
                c: round(float(np.mean(np.array(v) < threshold)), 4) for c, v in pos_scores.items()
            },
        }

    frr = {
        c: {
            "at_operating_point": float(np.mean(np.array(v) < op_threshold)),
            "curve": [float(np.mean(np.array(v) < t)) for t in THRESHOLDS],
        }
        for c, v in pos_scores.items()
    }
    stored = meta["extra"].get("threshold")
    per_speaker: dict[str, dict[str, float]] = {}
    for u, score in zip(positives, pos_scores["clean"], strict=True):
        sp = per_speaker.setdefault(u.speaker, {"clips": 0, "false_rejects": 0})
        sp["clips"] += 1
        sp["false_rejects"] += int(score < op_threshold)
        if stored is not None:  # also at the threshold stored in the checkpoint
            sp["false_rejects_stored"] = sp.get("false_rejects_stored", 0) + int(score < stored)
    for sp in per_speaker.values():
        sp["frr"] = round(sp["false_rejects"] / sp["clips"], 4)
        if stored is not None:
            sp["frr_stored"] = round(sp["false_rejects_stored"] / sp["clips"], 4)
    report = {
        "wake_phrase": wake_phrase,
        "split": split,
        "positives": len(positives),
        "listen_on_seconds": LISTEN_ON,
        "stream_hours": round(hours, 3),
        "operating_point": {
            "target_fa_per_hour": target_fa_per_hour,
            "threshold": round(op_threshold, 5),
            "fa_per_hour": round(float(fa_per_hour[op]) if op is not None else float("nan"), 3),
            "false_accepts": int(fa_counts[op]) if op is not None else None,
            "frr": {c: round(v["at_operating_point"], 4) for c, v in frr.items()},
        },
        "per_speaker": per_speaker,
        **_checks(at, stream_fa, stream_hours, meta["extra"].get("threshold"), target_fa_per_hour),
        "det": {
            "thresholds": THRESHOLDS.round(6).tolist(),
            "fa_per_hour": fa_per_hour.round(4).tolist(),
            **{f"frr_{c}": v["curve"] for c, v in frr.items()},
        },
    }
    (out_dir / "report.json").write_text(json.dumps(report, indent=1))
    plot_det(report, out_dir / "det.png")
    return report


def calibrate_threshold(
    model,
    meta: dict[str, Any],
    recordings: list[Path],
    *,
    target_fa_per_hour: float = 0.5,
    progress: bool = True,
    fa_at: float | None = None,
) -> dict[str, Any]:
    """The lowest threshold with at most ``target_fa_per_hour`` on negative ``recordings``.

    For a deployment's own audio (no wake phrase in it) or a corpus's long streams. Returns the
    threshold with the hours, the false accepts it lets through and a warning when the audio is
    too short to allow even one false accept at the target; with ``fa_at``, also the false
    accepts per hour at that threshold (``fa_per_hour_at``, on the nearest grid threshold at or
    below it). Raises ValueError when no threshold of :data:`THRESHOLDS` is within the target.
    """
    if not recordings:
        raise ValueError("no negative recordings to calibrate on")
    _, fa, per_recording = _score_negatives(
        model, _detector(meta), recordings, desc="negatives", progress=progress
    )
    hours, counts = sum(per_recording), np.sum(fa, axis=0)
    op, threshold = _threshold_within(counts, hours, target_fa_per_hour)
    at = {}
    if fa_at is not None:
        i = max(0, int(np.searchsorted(THRESHOLDS, fa_at, side="right")) - 1)
        at = {"fa_at": float(THRESHOLDS[i]), "fa_per_hour_at": float(counts[i] / hours)}
    if op is None:
        raise ValueError(
            f"no threshold up to {THRESHOLDS[-1]} gives <= {target_fa_per_hour} false accepts "
            f"per hour on these {hours:.2f} h ({int(counts[-1])} still at the highest)"
        )
    out = {
        "threshold": round(threshold, 5),
        "target_fa_per_hour": target_fa_per_hour,
        "hours": round(hours, 3),
        "recordings": len(recordings),
        "false_accepts": int(counts[op]),
        **at,
    }
    if target_fa_per_hour * hours < 1:
        out["warning"] = (
            f"{hours:.2f} h allow no false accept at {target_fa_per_hour}/h: the threshold is "
            "the single highest negative; give more hours"
        )
    return out


def _checks(at, stream_fa, stream_hours, stored, target) -> dict[str, Any]:
    """The operating point as a device would meet it, not read off the stream it is judged on.

    * ``at_model_threshold``: the threshold stored in the checkpoint (chosen on other audio);
    * ``held_out_threshold``: the threshold chosen on the even stream chunks, then false
      accepts counted on the odd ones (with at least two chunks).
    """
    out: dict[str, Any] = {}
    n = len(stream_hours)
    if stored is not None:
        out["at_model_threshold"] = at(float(stored), list(range(n)))
    if n >= 2:
        even, odd = list(range(0, n, 2)), list(range(1, n, 2))
        hours = sum(stream_hours[i] for i in even)
        _, threshold = _threshold_within(
            np.sum([stream_fa[i] for i in even], axis=0), hours, target
        )
        out["held_out_threshold"] = {"chosen_on_hours": round(hours, 3), **at(threshold, odd)}
    return out


def plot_det(report: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    det = report["det"]
    fa = np.maximum(np.array(det["fa_per_hour"]), 1e-2)
    fig, ax = plt.subplots(figsize=(6.5, 5))
    for key in [k for k in det if k.startswith("frr_")]:
        ax.plot(fa, np.maximum(np.array(det[key]), 1e-3), label=key.removeprefix("frr_"))
    op = report["operating_point"]
    ax.axvline(
        op["target_fa_per_hour"],
        color="grey",
        linestyle=":",
        label=f"{op['target_fa_per_hour']} FA/h",
    )
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="false accepts per hour (stream; 0 drawn at 0.01)",
        ylabel="false-reject rate (0 drawn at 0.001)",
        title=f"'{report['wake_phrase']}' on held-out speakers ({report['stream_hours']:.1f} h stream)",
    )
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def format_report(r: dict[str, Any]) -> str:
    op = r["operating_point"]
    lines = [
        f"wake phrase '{r['wake_phrase']}', split {r['split']}: {r['positives']} positives, "
        f"{r['stream_hours']:.2f} h negative stream",
        f"operating point: threshold {op['threshold']} -> {op['fa_per_hour']} false accepts/hour "
        f"(target <= {op['target_fa_per_hour']})",
        "false-reject rate: " + ", ".join(f"{c} {v:.2%}" for c, v in op["frr"].items()),
    ]
    if op.get("false_accepts") == 0 and op["target_fa_per_hour"] * r["stream_hours"] < 1:
        lines.append(
            f"  (a {r['stream_hours']:.2f} h stream allows no false accept at all at this target:"
            " the threshold is its single highest negative; a longer stream, data.stream_hours,"
            " estimates the rate)"
        )
    for key, label in [
        ("at_model_threshold", "at the model's stored threshold"),
        ("held_out_threshold", "threshold chosen on half the stream, counted on the other half"),
    ]:
        if key in r:
            c = r[key]
            lines.append(
                f"{label}: threshold {c['threshold']} -> {c['false_accepts']} false accepts in "
                f"{c['stream_hours']:.2f} h ({c['fa_per_hour']}/h), false-reject rate clean "
                f"{c['frr']['clean']:.2%}"
            )
    lines += [
        "per speaker (clean): "
        + ", ".join(f"{s} {v['frr']:.1%}" for s, v in sorted(r["per_speaker"].items())),
    ]
    return "\n".join(lines)
