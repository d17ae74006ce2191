"""Synthesis throughput: seconds of audio made per wall-clock second, single process.

For one voice per engine (and one altered copy), three stages are timed on the same
sentences in the same run:

* ``engine``: the bare TTS binary writing WAV files (the baseline);
* ``clip``: sottovoce's :func:`synthesize` (engine + sox post-processing to 16 kHz);
* ``clip+times``: the above plus word times (forced alignment, or festival's own).

    python -m experiments.bench.synth_throughput [--sentences 40] [--out experiments/bench/results]

Figures are printed as a table and saved as JSON; ratios are against the bare engine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

from speech.data import align
from speech.data.text import TextGenerator, make_household
from speech.data.voices import catalogue, synthesize

VOICES = ["espeak-klatt4", "flite-rms", "flite-rms-up3", "fest-kal", "fest-slt"]


def _bare_engine(voice, texts: list[str], tmp: Path) -> None:
    if voice.engine == "festival":
        lines = [f"(voice_{voice.model})"] + [
            f'(utt.save.wave (utt.synth (Utterance Text "{t}")) "{tmp}/b{i}.wav" \'riff)'
            for i, t in enumerate(texts)
        ]
        (tmp / "b.scm").write_text("\n".join(lines))
        subprocess.run(["festival", "-b", str(tmp / "b.scm")], check=True, capture_output=True)
        return
    for i, t in enumerate(texts):
        cmd = (
            ["flite", "-voice", voice.model, "-t", t, "-o", f"{tmp}/b{i}.wav"]
            if voice.engine == "flite"
            else ["espeak-ng", "-v", voice.model, "-w", f"{tmp}/b{i}.wav", t]
        )
        subprocess.run(cmd, check=True, capture_output=True)


def run(sentences: int) -> list[dict]:
    gen = TextGenerator(make_household("bench", 0), wake_phrase="hey nova", confusables=[], seed=0)
    texts = [gen.request().text for _ in range(sentences)]
    rows = []
    for voice in catalogue(VOICES):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            _bare_engine(voice, texts, Path(tmp))
            t_engine = time.perf_counter() - t0
        t0 = time.perf_counter()
        clips = synthesize(voice, texts)
        t_clip = time.perf_counter() - t0
        t0 = time.perf_counter()
        for clip, text in zip(clips, texts, strict=True):
            if clip is not None and clip.words is None:
                align.align(clip.wave, text)
        t_times = time.perf_counter() - t0 + t_clip
        audio = sum(len(c.wave) for c in clips if c is not None) / 16000
        rows.append(
            {
                "voice": voice.name,
                "engine": voice.engine,
                "audio_seconds": round(audio, 1),
                "engine_x_realtime": round(audio / t_engine, 1),
                "clip_x_realtime": round(audio / t_clip, 1),
                "clip_times_x_realtime": round(audio / t_times, 1),
                "clip_vs_engine": round(t_engine / t_clip, 2),
                "clip_times_vs_engine": round(t_engine / t_times, 2),
            }
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sentences", type=int, default=40)
    ap.add_argument("--out", default="experiments/bench/results")
    args = ap.parse_args()
    align.align(
        __import__("numpy").zeros(16000, "float32"), "warm up"
    )  # load pocketsphinx outside timings
    rows = run(args.sentences)
    print(
        f"{'voice':16s} {'audio s':>8s} {'engine xRT':>11s} {'clip xRT':>9s} {'+times xRT':>11s} "
        f"{'clip/engine':>12s} {'+times/engine':>14s}"
    )
    for r in rows:
        print(
            f"{r['voice']:16s} {r['audio_seconds']:8.1f} {r['engine_x_realtime']:11.1f} "
            f"{r['clip_x_realtime']:9.1f} {r['clip_times_x_realtime']:11.1f} "
            f"{r['clip_vs_engine']:12.2f} {r['clip_times_vs_engine']:14.2f}"
        )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "synth_throughput.json").write_text(json.dumps(rows, indent=1))
    print(f"saved {out / 'synth_throughput.json'}")


if __name__ == "__main__":
    main()
