"""Recognizer evaluation on held-out speakers: WER/CER clean and noisy, PII slots, word times.

Word-time error compares the model's forced alignment of the *reference* text with the
corpus's word times, and, separately, the *hypothesis* words that match reference words.
The corpus's own times come from festival (exact, for festival voices) or from the
pocketsphinx aligner (about 17 ms off festival's); both are reported.
"""

from __future__ import annotations

import difflib
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from speech.asr.decode import align_words
from speech.asr.recognizer import Recognizer
from speech.audio import load_wav
from speech.data import augment
from speech.data.align import word_errors
from speech.data.manifest import Utterance, audio_path, read_manifest


def select_clips(utts: list[Utterance], max_clips: int | None, seed: int) -> list[Utterance]:
    """At most ``max_clips`` requests, the same share from every speaker (deterministic)."""
    if max_clips is None or len(utts) <= max_clips:
        return utts
    by_speaker: dict[str, list[Utterance]] = defaultdict(list)
    for u in utts:
        by_speaker[u.speaker].append(u)
    rng = np.random.default_rng(seed)
    keep = max(1, max_clips // len(by_speaker))
    out = []
    for spk in sorted(by_speaker):
        group = by_speaker[spk]
        idx = rng.permutation(len(group))[:keep]
        out += [group[i] for i in sorted(idx)]
    return out


def pii_exact(ref: Utterance, hyp: str) -> list[tuple[str, bool]]:
    """For each PII slot of ``ref``: (label, whether its spoken words appear verbatim in ``hyp``)."""
    words = ref.text.split()
    padded = f" {hyp} "
    return [
        (s.label, f" {' '.join(words[s.start_word : s.end_word + 1])} " in padded) for s in ref.pii
    ]


def matched_word_errors(ref: Utterance, hyp_words) -> list[tuple[float, float]]:
    """(start error, end error) in seconds for hypothesis words equal to reference words."""
    if not ref.words:
        return []
    a = [w.w for w in ref.words]
    b = [w.w for w in hyp_words]
    out = []
    for block in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_matching_blocks():
        for k in range(block.size):
            r, h = ref.words[block.a + k], hyp_words[block.b + k]
            out.append((h.start - r.start, h.end - r.end))
    return out


def evaluate_asr(
    rec: Recognizer,
    corpus: Path,
    out_dir: Path,
    *,
    snrs=(10.0, 5.0, 0.0),
    split: str = "test",
    max_clips: int | None = 400,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, Any]:
    """Score held-out requests; writes ``report.json`` (and per-clip ``hypotheses.jsonl``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = corpus / "manifest.jsonl"
    utts = [u for u in read_manifest(manifest) if u.split == split and u.kind == "request"]
    if not utts:
        raise ValueError(f"{manifest}: no request clips in split {split!r}")
    utts = select_clips(utts, max_clips, seed)
    babble = augment.load_babble(corpus)
    rng = np.random.default_rng(seed)
    conditions = ["clean", *[f"{s:g}dB" for s in snrs]]
    errs = {c: [0, 0, 0, 0] for c in conditions}  # word errors, words, char errors, chars
    per_speaker: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    pii: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    confidences: list[tuple[float, float]] = []  # (utterance confidence, utterance WER)
    ref_bounds: dict[str, list[float]] = defaultdict(list)
    hyp_bounds: dict[str, list[float]] = defaultdict(list)
    lines = []
    for u in tqdm(utts, desc="asr eval", disable=not progress):
        wave = load_wav(audio_path(manifest, u))
        for cond in conditions:
            x = (
                wave
                if cond == "clean"
                else augment.evaluation_noise(wave, float(cond[:-2]), rng, babble)
            )
            result = rec.transcribe(x)
            ref, hyp = u.text.split(), result.text.split()
            e = word_errors(ref, hyp)
            c = word_errors(list(u.text), list(result.text))
            errs[cond][0] += e
            errs[cond][1] += len(ref)
            errs[cond][2] += c
            errs[cond][3] += len(u.text)
            if cond != "clean":
                continue
            per_speaker[u.speaker][0] += e
            per_speaker[u.speaker][1] += len(ref)
            confidences.append((result.confidence, e / max(1, len(ref))))
            for label, ok in pii_exact(u, result.text):
                pii[label][0] += ok
                pii[label][1] += 1
            source = "festival" if u.synth.get("times") == "festival" else "aligned"
            for ds, de in matched_word_errors(u, result.words):
                hyp_bounds[source] += [abs(ds), abs(de)]
            lp = rec.log_probs(wave)
            placed = align_words(
                lp, u.text, rec.vocab, frame_seconds=rec.model.frame_seconds, offsets=rec.offsets
            )
            if len(placed) == len(u.words):
                for p, t in zip(placed, u.words, strict=True):
                    ref_bounds[source] += [abs(p.start - t.start), abs(p.end - t.end)]
            lines.append({"id": u.id, "speaker": u.speaker, "ref": u.text, **result.as_dict()})
    with open(out_dir / "hypotheses.jsonl", "w") as f:
        f.writelines(json.dumps(x) + "\n" for x in lines)

    def ms(d: dict[str, list[float]]) -> dict[str, Any]:
        allv = [v for vs in d.values() for v in vs]
        out = {"all": round(1000 * float(np.mean(allv)), 1) if allv else None}
        out.update({k: round(1000 * float(np.mean(v)), 1) for k, v in d.items() if v})
        out["within_40ms"] = round(float(np.mean(np.array(allv) <= 0.04)), 3) if allv else None
        return out

    conf = np.array(confidences)
    report = {
        "split": split,
        "clips": len(utts),
        "speakers": sorted(per_speaker),
        "decoder": rec.decoder,
        "wer": {c: round(v[0] / max(1, v[1]), 4) for c, v in errs.items()},
        "cer": {c: round(v[2] / max(1, v[3]), 4) for c, v in errs.items()},
        "wer_per_speaker": {
            s: round(v[0] / max(1, v[1]), 4) for s, v in sorted(per_speaker.items())
        },
        "pii_exact": {
            k: {"rate": round(v[0] / v[1], 3), "slots": v[1]} for k, v in sorted(pii.items())
        },
        "boundary_error_ms": {
            "reference_aligned": ms(ref_bounds),
            "hypothesis_matched": ms(hyp_bounds),
        },
        "confidence_vs_wer_correlation": (
            round(float(np.corrcoef(conf[:, 0], conf[:, 1])[0, 1]), 3)
            if len(conf) > 2 and conf[:, 0].std() > 0 and conf[:, 1].std() > 0
            else None
        ),
    }
    (out_dir / "report.json").write_text(json.dumps(report, indent=1))
    return report


def format_report(r: dict[str, Any]) -> str:
    lines = [
        f"ASR on {r['clips']} held-out {r['split']} requests ({', '.join(r['speakers'])}), "
        f"{r['decoder']} decoding",
        "  WER  " + "  ".join(f"{k} {v:.1%}" for k, v in r["wer"].items()),
        "  CER  " + "  ".join(f"{k} {v:.1%}" for k, v in r["cer"].items()),
        "  WER per speaker  " + "  ".join(f"{k} {v:.1%}" for k, v in r["wer_per_speaker"].items()),
        "  PII slots transcribed exactly  "
        + "  ".join(f"{k} {v['rate']:.0%} ({v['slots']})" for k, v in r["pii_exact"].items()),
    ]
    for kind, v in r["boundary_error_ms"].items():
        lines.append(
            f"  word-boundary error ({kind.replace('_', ' ')}): mean {v['all']} ms, "
            f"festival truth {v.get('festival')} ms, aligner truth {v.get('aligned')} ms, "
            f"within 40 ms {v['within_40ms']}"
        )
    lines.append(f"  confidence vs utterance WER correlation: {r['confidence_vs_wer_correlation']}")
    return "\n".join(lines)
