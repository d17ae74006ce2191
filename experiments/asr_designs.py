"""Recognizer designs side by side: robotic and natural held-out voices, real speech, CPU cost.

For each checkpoint (``--model NAME=PATH``) and the peers (pocketsphinx, Whisper tiny.en):

- WER and CER on the corpus's held-out test requests, grouped by voice kind: *robotic*
  (espeak-ng, flite, festival) and *natural* (Kokoro blends), clean audio;
- **silver** WER on real human recordings: the readings that ship in ``moonshine-voice``
  (``assets/*.wav``), against Whisper base's transcripts of them, turned into spoken form.
  Silver references are another model's output, not ground truth: they rank systems, and a
  WER against them is not an absolute figure. Whisper tiny.en is scored against them too;
- CPU real-time factor on one thread (process time over audio time, every clip above);
- parameters: trained, and frozen (a pretrained encoder's).

    python -m experiments.asr_designs --corpus corpora/default-<hash> \\
        --model conformer=models/asr-tiny/model.pt \\
        --model whisper-head=outputs/asr-whisper-head/best.pt \\
        --out experiments/results/asr_designs.json

Writes the JSON report and a plot beside it, and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from experiments.natural_voices import voice_kinds
from speech import SAMPLE_RATE
from speech.data.align import word_errors

# Whisper tiny.en's encoder: conv stem, 1,500 positions and 4 layers of width 384
# (counted from the published architecture; the CTranslate2 file stores it in int8).
FROZEN_PARAMETERS = {"whisper-tiny.en": 8_208_384, "whisper-base": 19_821_568}
REAL_SKIP = {"error.wav", "success.wav"}  # the package's sound effects, not speech


def real_recordings() -> list[tuple[str, np.ndarray]]:
    """(name, 16 kHz mono float32) of the human readings in ``moonshine-voice``."""
    import importlib.util

    import librosa
    import soundfile as sf

    # located, not imported: the package's own code wants an audio device and a download
    spec = importlib.util.find_spec("moonshine_voice")
    if spec is None or not spec.submodule_search_locations:
        return []
    out = []
    assets = Path(next(iter(spec.submodule_search_locations))) / "assets"
    for p in sorted(assets.glob("*.wav")):
        if p.name in REAL_SKIP:
            continue
        wave, sr = sf.read(p, dtype="float32", always_2d=True)
        wave = wave.mean(1)
        if sr != SAMPLE_RATE:
            wave = librosa.resample(wave, orig_sr=sr, target_sr=SAMPLE_RATE)
        out.append((p.stem, np.ascontiguousarray(wave, dtype=np.float32)))
    return out


def silver_references(recordings, cache: Path) -> dict[str, str]:
    """Whisper base's transcripts of ``recordings`` in spoken form (cached by name)."""
    from redaction.transcribe import Whisper
    from speech.data.spoken import from_written

    refs = json.loads(cache.read_text()) if cache.is_file() else {}
    missing = [(n, w) for n, w in recordings if n not in refs]
    if missing:
        base = Whisper("base", threads=1)
        for name, wave in missing:
            refs[name] = from_written(base(wave).text)
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(refs, indent=1, sort_keys=True))
    return refs


class _System:
    def __init__(self, name: str, fn, trained: int | None, frozen: int):
        self.name, self.fn, self.trained, self.frozen = name, fn, trained, frozen
        self.cpu_s = 0.0
        self.audio_s = 0.0
        self.counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])

    def __call__(self, wave: np.ndarray, ref: str, group: str) -> str:
        t = time.process_time()
        hyp = self.fn(wave)
        self.cpu_s += time.process_time() - t
        self.audio_s += wave.size / SAMPLE_RATE
        c = self.counts[group]
        c[0] += word_errors(ref.split(), hyp.split())
        c[1] += len(ref.split())
        c[2] += word_errors(list(ref), list(hyp))
        c[3] += len(ref)
        c[4] += 1
        return hyp

    def report(self) -> dict:
        groups = {
            g: {
                "clips": c[4],
                "words": c[1],
                "wer": round(c[0] / max(1, c[1]), 4),
                "cer": round(c[2] / max(1, c[3]), 4),
            }
            for g, c in sorted(self.counts.items())
        }
        return {
            "groups": groups,
            "rtf_one_thread": round(self.cpu_s / max(self.audio_s, 1e-9), 4),
            "parameters_trained": self.trained,
            "parameters_frozen": self.frozen,
        }


def ours(name: str, path: Path) -> _System:
    from speech.asr.recognizer import Recognizer

    rec = Recognizer.load(path)
    trained = sum(p.numel() for p in rec.model.parameters())
    frozen = FROZEN_PARAMETERS.get(getattr(rec.frontend, "name", ""), 0)
    return _System(name, lambda w: rec.transcribe(w).text, trained, frozen)


def forward_cost(name: str, preset: str, manifest: Path, waves: list[np.ndarray]) -> dict:
    """One thread's CPU seconds per audio second of the front end and model of ``preset``
    (Hydra overrides of ``train.yaml``, space-separated: ``model=asr_small`` or
    ``+experiment=asr_whisper_head``; freshly initialised) over ``waves``, and its parameters:
    the cost of a design that was not trained here (a GPU preset on a machine without one),
    and the like-for-like model cost of those that were."""
    import torch
    from hydra import compose, initialize_config_dir

    from speech.train import build_task

    conf = Path(__file__).resolve().parents[1] / "conf"
    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
        cfg = compose(config_name="train", overrides=["task=asr", *preset.split()])
    task = build_task(cfg.task, cfg.model, manifest)
    model, front = task.build_model().eval(), task.frontend
    cpu = audio = 0.0
    with torch.no_grad():
        for w in waves:
            x = torch.from_numpy(w)[None]
            t = time.process_time()
            model(front(x), front.lengths_to_frames(torch.tensor([w.size])))
            cpu += time.process_time() - t
            audio += w.size / SAMPLE_RATE
    return {
        "design": name,
        "preset": preset,
        "model_rtf_one_thread": round(cpu / audio, 4),
        "parameters_trained": sum(p.numel() for p in model.parameters()),
        "note": "freshly initialised: the cost of its front end and model, no decoder",
    }


def peers() -> list[_System]:
    from redaction.transcribe import Whisper
    from speech.data import align
    from speech.data.spoken import from_written

    out = []
    align.recognize(np.zeros(SAMPLE_RATE, np.float32))  # load its model outside the timing
    out.append(_System("pocketsphinx", align.recognize, None, 0))
    tiny = Whisper("tiny.en", threads=1)
    tiny(np.zeros(SAMPLE_RATE, np.float32))
    out.append(_System("whisper-tiny.en", lambda w: from_written(tiny(w).text), 39_000_000, 0))
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--model", action="append", default=[], help="NAME=CHECKPOINT (repeat)")
    ap.add_argument("--robotic-clips", type=int, default=200, help="robotic test requests")
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument(
        "--cost-only",
        action="append",
        default=[],
        help="NAME=OVERRIDES ('model=asr_small'): an untrained design's forward cost (repeat)",
    )
    ap.add_argument("--out", type=Path, default=Path("experiments/results/asr_designs.json"))
    args = ap.parse_args(argv)
    import torch

    from speech.asr.evaluate import select_clips
    from speech.audio import load_wav
    from speech.data.manifest import audio_path, read_manifest

    torch.set_num_threads(1)
    manifest = args.corpus / "manifest.jsonl"
    if not manifest.is_file():
        sys.exit(
            f"error: {args.corpus}: no manifest.jsonl (build it with python -m speech.data.synth)"
        )
    systems = []
    for item in args.model:
        name, _, path = item.partition("=")
        if not path or not Path(path).is_file():
            sys.exit(f"error: --model {item!r}: expected NAME=CHECKPOINT of an existing file")
        systems.append(ours(name, Path(path)))
    if not args.no_peers:
        systems += peers()

    utts = read_manifest(manifest)
    kinds = voice_kinds(utts)
    test = [u for u in utts if u.split == "test" and u.kind == "request"]
    natural = [u for u in test if kinds[u.speaker] == "natural"]
    robotic = select_clips(
        [u for u in test if kinds[u.speaker] == "robotic"], args.robotic_clips, 0
    )
    clips = [(u, kinds[u.speaker]) for u in robotic + natural]
    real = real_recordings()
    refs = silver_references(real, args.out.with_name("asr_silver_references.json")) if real else {}
    total = len(clips) + len(real)
    for i, (u, group) in enumerate(clips, 1):
        wave = load_wav(audio_path(manifest, u))
        for s in systems:
            s(wave, u.text, group)
        if i % 25 == 0 or i == len(clips):
            print(f"{i}/{total} clips", flush=True)
    for name, wave in real:
        for s in systems:
            hyp = s(wave, refs[name], "real_silver")
            print(f"{s.name} on {name}: {hyp[:100]}", flush=True)
    untrained = []
    if args.cost_only:
        sample = [load_wav(audio_path(manifest, u)) for u, _ in clips[:60]]
        for item in args.cost_only:
            name, _, preset = item.partition("=")
            untrained.append(forward_cost(name, preset, manifest, sample))
    report = {
        "date": time.strftime("%Y-%m-%d"),
        "corpus": str(args.corpus),
        "command": "python -m experiments.asr_designs " + " ".join(argv or sys.argv[1:]),
        "real_recordings": {n: round(w.size / SAMPLE_RATE, 1) for n, w in real},
        "silver_references": "Whisper base transcripts, spoken form (not ground truth)",
        "systems": {s.name: s.report() for s in systems},
        "untrained": untrained,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    _plot(report, args.out.with_suffix(".png"))
    print(table(report))


def table(report: dict) -> str:
    rows = [
        "| system | robotic WER / CER | natural WER / CER | real speech, silver WER | RTF (1 thread) | parameters (trained + frozen) |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in report["systems"].items():
        g = r["groups"]

        def cell(k, g=g):
            return f"{g[k]['wer']:.1%} / {g[k]['cer']:.1%}" if k in g else "-"

        silver = f"{g['real_silver']['wer']:.1%}" if "real_silver" in g else "-"
        params = (
            "-"
            if r["parameters_trained"] is None
            else f"{r['parameters_trained'] / 1e6:.2f}M"
            + (f" + {r['parameters_frozen'] / 1e6:.1f}M" if r["parameters_frozen"] else "")
        )
        rows.append(
            f"| {name} | {cell('robotic')} | {cell('natural')} | {silver} | "
            f"{r['rtf_one_thread']:.3f} | {params} |"
        )
    for u in report.get("untrained", []):
        rows.append(
            f"| {u['design']} (`{u['preset']}`, freshly initialised: cost only) | - | - | - | "
            f"{u['model_rtf_one_thread']:.3f} (front end + model) | "
            f"{u['parameters_trained'] / 1e6:.2f}M |"
        )
    return "\n".join(rows)


def _plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(report["systems"])
    groups = ["robotic", "natural", "real_silver"]
    fig, ax = plt.subplots(figsize=(8, 3.8))
    w = 0.8 / len(groups)
    for j, g in enumerate(groups):
        vals = [report["systems"][n]["groups"].get(g, {}).get("wer", np.nan) for n in names]
        ax.bar(np.arange(len(names)) + (j - 1) * w, vals, w, label=g.replace("_", " "))
    ax.set_xticks(np.arange(len(names)), names, rotation=15)
    ax.set_ylabel("WER")
    ax.set_ylim(0, 1.05)
    ax.legend()
    ax.set_title("Recognizer designs: held-out robotic and natural voices, real speech (silver)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
