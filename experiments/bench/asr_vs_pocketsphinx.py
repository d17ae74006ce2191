"""Our recognizer against pocketsphinx 5.1.1 (its bundled English model), side by side.

Both transcribe the same held-out test-split requests (voices of families never trained on),
clean, on one CPU thread. Reported for each: WER, CER and real-time factor (CPU seconds per
second of audio); for ours with beam search (character LM) and greedy decoding.

Note the selection bias, which favours the peer: the corpus keeps only voices pocketsphinx
itself transcribes well (its word accuracy is the intelligibility gate in calibration).

    python -m speech.train +experiment=asr_tiny           # or use the shipped model
    python -m experiments.bench.asr_vs_pocketsphinx [--model PATH] [--clips N]

Writes ``experiments/bench/results/asr_vs_pocketsphinx.{json,png}``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from speech import SAMPLE_RATE
from speech.asr.evaluate import select_clips
from speech.asr.recognizer import Recognizer
from speech.audio import load_wav
from speech.data import align
from speech.data.align import word_errors
from speech.data.manifest import audio_path, read_manifest

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MODEL = ROOT / "models" / "asr-tiny" / "model.pt"


def _corpus() -> Path:
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate

    from speech.data.build import build_corpus

    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose(config_name="train", overrides=["+experiment=asr_tiny"])
    corpus, _ = build_corpus(instantiate(cfg.data, _convert_="all"), ROOT / cfg.out_root, workers=2)
    return corpus


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    ap.add_argument("--clips", type=int, default=200, help="test requests, spread over speakers")
    ap.add_argument("--out", type=Path, default=ROOT / "experiments" / "bench" / "results")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)

    corpus = _corpus()
    manifest = corpus / "manifest.jsonl"
    utts = [u for u in read_manifest(manifest) if u.split == "test" and u.kind == "request"]
    utts = select_clips(utts, args.clips, seed=0)
    systems = {
        "ours_beam": Recognizer.load(args.model, decoder="beam"),
        "ours_greedy": Recognizer.load(args.model, decoder="greedy"),
    }
    transcribe = {name: (lambda w, r=rec: r.transcribe(w).text) for name, rec in systems.items()}
    transcribe["pocketsphinx"] = align.recognize
    align.recognize(np.zeros(SAMPLE_RATE, np.float32))  # load its model outside the timing

    stats = {
        k: {"word_errors": 0, "words": 0, "char_errors": 0, "chars": 0, "cpu_s": 0.0}
        for k in transcribe
    }
    audio_s = 0.0
    for i, u in enumerate(utts):
        wave = load_wav(audio_path(manifest, u))
        audio_s += len(wave) / SAMPLE_RATE
        for name, fn in transcribe.items():
            t = time.process_time()
            hyp = fn(wave)
            s = stats[name]
            s["cpu_s"] += time.process_time() - t
            s["word_errors"] += word_errors(u.text.split(), hyp.split())
            s["words"] += len(u.text.split())
            s["char_errors"] += word_errors(list(u.text), list(hyp))
            s["chars"] += len(u.text)
        if (i + 1) % 25 == 0:
            print(f"{i + 1}/{len(utts)} clips", flush=True)
    results = {
        name: {
            "wer": round(s["word_errors"] / s["words"], 4),
            "cer": round(s["char_errors"] / s["chars"], 4),
            "rtf_single_thread": round(s["cpu_s"] / audio_s, 4),
        }
        for name, s in stats.items()
    }
    peer = results["pocketsphinx"]
    report = {
        "clips": len(utts),
        "audio_seconds": round(audio_s, 1),
        "speakers": sorted({u.speaker for u in utts}),
        "model": str(args.model),
        "results": results,
        "ratios_vs_pocketsphinx": {
            name: {
                "wer": round(r["wer"] / peer["wer"], 3) if peer["wer"] else None,
                "rtf": round(r["rtf_single_thread"] / peer["rtf_single_thread"], 3),
            }
            for name, r in results.items()
            if name != "pocketsphinx"
        },
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "asr_vs_pocketsphinx.json").write_text(json.dumps(report, indent=1))
    _plot(report, args.out / "asr_vs_pocketsphinx.png")
    print(json.dumps(report, indent=1))


def _plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(report["results"])
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for ax, key, label in (
        (axes[0], "wer", "WER (held-out voices, clean)"),
        (axes[1], "rtf_single_thread", "real-time factor, 1 thread"),
    ):
        vals = [report["results"][n][key] for n in names]
        ax.bar(names, vals, color=["tab:blue", "tab:cyan", "tab:gray"][: len(names)])
        ax.set_title(label)
        for i, v in enumerate(vals):
            ax.text(i, v, f"{v:.3f}", ha="center", va="bottom")
    fig.suptitle(f"{report['clips']} test requests, {report['audio_seconds']:.0f} s of audio")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
