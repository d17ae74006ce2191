"""The redact path measured end to end on spoken PII it was never tuned on.

Held-out transcripts (``redaction.data.pii_templates``, test split: templates and values the
detector never saw) are spoken by held-out robotic and natural (Kokoro) voices, with word
times from the engine or forced alignment. Each clip goes through the whole redact path
(Whisper tiny.en, our recognizer as a second opinion, PII detection, bleeping,
anonymization), and then:

* **audio coverage** (the forced-alignment check): the share of each gold PII word's time
  inside the redacted ranges; an entity is covered when every one of its words is at least
  90% inside;
* **leak rate**: the redacted, anonymized audio is transcribed again by two other listeners,
  Whisper base (stronger than the transcriber) and pocketsphinx, and a clip leaks when either
  recovers any of its PII values (:mod:`redaction.leak`). The same listeners on the original
  audio show how much there was to hide;
* **over-masking**: redacted words in PII-free requests full of numbers;
* **withheld**: clips the path refused to pass on, with their reasons;
* **speed**: the redact path's real-time factor on one core.

    python -m redaction.evaluate --clips 200 --out experiments/results/redaction_audio
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np

VOICES = (
    "flite-awb",
    "fest-ked",
    "kokoro-kumo-gongitsune",
    "flite-kal16",
    "kokoro-kumo-tebukuro",
    "flite-slt",
)


def _speakable(record: dict) -> tuple[list[str], list[dict]]:
    """The record's words without bare punctuation tokens, its spans re-indexed."""
    keep = [i for i, w in enumerate(record["words"]) if any(c.isalnum() for c in w)]
    new = {old: k for k, old in enumerate(keep)}
    spans = []
    for s in record["spans"]:
        idx = [new[i] for i in range(s["start"], s["end"]) if i in new]
        if idx:
            spans.append({"label": s["label"], "start": min(idx), "end": max(idx) + 1})
    return [record["words"][i] for i in keep], spans


def build(n: int, cache: Path, seed: int = 0) -> list[dict]:
    """Spoken test-split clips with gold spans and word times (cached)."""
    if (cache / "clips.jsonl").is_file():
        return [json.loads(x) for x in (cache / "clips.jsonl").read_text().splitlines()]
    from tqdm import tqdm

    from redaction.data.pii_templates import load
    from speech.audio import save_wav
    from speech.data.build import word_times
    from speech.data.voices import catalogue, synthesize

    voices = catalogue(list(VOICES))
    tmp = cache.with_name(cache.name + ".tmp")
    if tmp.exists():
        shutil.rmtree(tmp)  # a build that was stopped half-way
    (tmp / "audio").mkdir(parents=True, exist_ok=True)
    stats: Counter = Counter()
    rows = []
    for i, rec in enumerate(tqdm(load("test", n, seed), desc="speaking")):
        words, spans = _speakable(rec)
        text = " ".join(words)
        voice = voices[i % len(voices)]
        (synth,) = synthesize(voice, [text])
        if synth is None:
            stats["synthesis_failed"] += 1
            continue
        times, how = word_times(synth, text, stats)
        if len(times) != len(words):
            stats["times_mismatch"] += 1
            continue
        wave = synth.wave / (np.max(np.abs(synth.wave)) + 1e-9) * 0.5
        path = f"audio/{i:04d}.wav"
        save_wav(tmp / path, wave.astype(np.float32))
        rows.append(
            {
                "id": f"{i:04d}",
                "audio": path,
                "voice": voice.name,
                "words": [{"w": w.w, "start": w.start, "end": w.end} for w in times],
                "spans": spans,
                "pii_free": rec["pii_free"],
                "template": rec["template"],
                "times": how,
            }
        )
    (tmp / "clips.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    tmp.rename(cache)
    print(f"built {len(rows)} clips ({dict(stats)})")
    return rows


def coverage(words: list[dict], span: dict, ranges: list[tuple[float, float]]) -> float:
    """The smallest share of any of the span's words' time inside ``ranges``."""
    shares = []
    for w in words[span["start"] : span["end"]]:
        a, b = float(w["start"]), float(w["end"])
        inside = sum(max(0.0, min(b, r1) - max(a, r0)) for r0, r1 in ranges)
        shares.append(inside / max(b - a, 1e-6))
    return min(shares) if shares else 1.0


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--clips", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--listener", default="base", help="the re-transcribing Whisper")
    p.add_argument(
        "--original-every", type=int, default=4, help="listen to every n-th original clip"
    )
    p.add_argument("--out", default="experiments/results/redaction_audio")
    p.add_argument(
        "--cache",
        default="outputs/redaction-eval",
        help="where the spoken evaluation clips are built once (a folder per size and seed)",
    )
    p.add_argument(
        "--margin",
        type=float,
        default=None,
        help="seconds bleeped on each side of a span's words (default: RedactConfig's)",
    )
    args = p.parse_args(argv)
    if args.margin is not None and args.margin < 0:
        p.error(f"--margin {args.margin}: must be >= 0 seconds")

    import torch

    from redaction.leak import recovered, secret
    from redaction.redact import RedactConfig, Redactor
    from redaction.transcribe import Whisper
    from speech.audio import load_wav
    from speech.data.align import recognize

    torch.set_num_threads(1)
    started = time.time()
    cache = Path(args.cache) / f"test-n{args.clips}-s{args.seed}"
    clips = build(args.clips, cache, args.seed)
    extra = {} if args.margin is None else {"margin_s": args.margin}
    redactor = Redactor(RedactConfig(threads=1, **extra))
    listener = Whisper(args.listener, threads=1)
    per_label: Counter = Counter()
    covered: Counter = Counter()
    by_source: dict[str, Counter] = {}
    leaks = {"redacted": Counter(), "original": Counter()}
    withheld: Counter = Counter()
    over = {"clips": 0, "masked_clips": 0, "words": 0, "masked_words": 0}
    rtf, rows = [], []
    from tqdm import tqdm

    for c in tqdm(clips, desc="redact and listen"):
        wave = load_wav(cache / c["audio"])
        words = [w["w"] for w in c["words"]]
        result = redactor(wave, clip_id=c["id"])
        rtf.append(result.seconds / (len(wave) / 16000))
        row = {
            "id": c["id"],
            "voice": c["voice"],
            "withheld": result.withheld,
            "reference": " ".join(words),
            "gold": c["spans"],
            "transcript": result.transcript,
            "masked": result.masked_transcript,
        }
        secrets = [secret(words, s["start"], s["end"], s["label"]) for s in c["spans"]]
        if result.withheld:
            withheld[result.reason.split(":")[0]] += 1
            row["reason"] = result.reason
        else:
            ranges = result.ranges
            # each gold entity's smallest per-word share inside the redacted ranges
            shares = [coverage(c["words"], s, ranges) for s in c["spans"]]
            row["gold_coverage"] = [round(x, 3) for x in shares]
            for s, share in zip(c["spans"], shares, strict=True):
                per_label[s["label"]] += 1
                covered[s["label"]] += share >= 0.9
                for src, r in result.by_source.items():
                    by_source.setdefault(src, Counter())[s["label"]] += (
                        coverage(c["words"], s, r) >= 0.9
                    )
            if c["pii_free"]:
                over["clips"] += 1
                over["words"] += len(words)
                n_masked = sum(
                    coverage(c["words"], {"start": i, "end": i + 1}, ranges) >= 0.5
                    for i in range(len(words))
                )
                over["masked_words"] += n_masked
                over["masked_clips"] += n_masked > 0
        for which, audio in (
            ("original", wave),
            ("redacted", None if result.withheld else result.clip.audio),
        ):
            if audio is None or c["pii_free"]:
                continue
            if which == "original" and int(c["id"]) % args.original_every:
                continue  # the original only shows what there was to hide: a sample does
            heard = {
                "whisper": listener(audio).text.split(),
                "pocketsphinx": recognize(audio).split(),
            }
            hit = {
                k: any(recovered(s, v) for s in secrets if s.checkable) for k, v in heard.items()
            }
            leaks[which]["clips"] += 1
            leaks[which]["any"] += any(hit.values())
            for k, v in hit.items():
                leaks[which][k] += v
            if which == "redacted":
                row["heard"] = {k: " ".join(v) for k, v in heard.items()}
                row["leaked"] = any(hit.values())
        rows.append(row)
    pii_clips = sum(not c["pii_free"] for c in clips)
    result = {
        "date": date.today().isoformat(),
        "command": "python -m redaction.evaluate " + " ".join(argv or []),
        "clips": len(clips),
        "pii_clips": pii_clips,
        "voices": list(VOICES),
        "withheld": dict(withheld),
        "withheld_share": sum(withheld.values()) / max(1, len(clips)),
        "coverage": {k: covered[k] / per_label[k] for k in sorted(per_label)},
        "entities": dict(per_label),
        "coverage_by_transcriber": {
            src: {k: v[k] / per_label[k] for k in sorted(per_label)} for src, v in by_source.items()
        },
        "leak_rate_redacted": leaks["redacted"]["any"] / max(1, leaks["redacted"]["clips"]),
        "leak_rate_original": leaks["original"]["any"] / max(1, leaks["original"]["clips"]),
        "leaks": {k: dict(v) for k, v in leaks.items()},
        "over_masking": {
            **over,
            "clip_rate": over["masked_clips"] / max(1, over["clips"]),
            "word_rate": over["masked_words"] / max(1, over["words"]),
        },
        "rtf_mean": float(np.mean(rtf)),
        "rtf_p90": float(np.percentile(rtf, 90)),
        "seconds": round(time.time() - started, 1),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps({**result, "rows": rows}, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
