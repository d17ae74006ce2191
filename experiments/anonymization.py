"""How much of a voice survives anonymization, VoicePrivacy-style, and what it costs the words.

Speakers are the corpus's voice catalogue (robotic and Kokoro natural voices), split by voice
family into attack-training speakers and evaluation speakers, each saying its own requests.
For every method (none, McAdams 0.8, McAdams with a random coefficient per clip, the keyed
WORLD pseudo-speaker drawn per clip, and the same pseudo-speaker per speaker), the equal error
rate of speaker verification by three attackers, VoicePrivacy's:

* ignorant: enrols on original speech, tests on anonymized;
* lazy-informed: anonymizes its enrolment the same way, tests on anonymized;
* semi-informed: as lazy, with a model trained on anonymized speech of other speakers
  (SpeakerNet retrained; an LDA back-end for Resemblyzer).

Attackers: Resemblyzer 0.1.4 and the project's SpeakerNet. Utility: Whisper tiny.en's and our
recognizer's WER on anonymized against original speech. Writes JSON, markdown and a plot::

    python -m experiments.anonymization --out experiments/results/anonymization
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date
from pathlib import Path

import numpy as np

EVAL_FAMILIES = (
    "flite-awb",
    "fest-ked",
    "kokoro-kumo-gongitsune",
    "kokoro-kumo-tebukuro",
    "espeak-m3",
    "flite-kal16",
    "espeak-f4",
)
METHODS = {
    "none": None,
    "mcadams": {"method": "mcadams", "alpha": 0.8},
    "mcadams-random": {"method": "mcadams", "alpha": None},
    "pseudo": {"method": "pseudo"},
    "pseudo-per-speaker": {"method": "pseudo", "per_speaker": True},
}


def build_clips(per_voice: int, cache: Path, seed: int = 0) -> dict:
    """Clean requests of every catalogue voice (cached as npz, one file per ``per_voice``)."""
    if cache.is_file():
        d = np.load(cache, allow_pickle=True)
        return {k: d[k].tolist() for k in d.files}
    from tqdm import tqdm

    from speech.data.text import TextGenerator, make_household
    from speech.data.voices import catalogue, synthesize

    waves, speakers, families, texts, ids = [], [], [], [], []
    for vi, voice in enumerate(tqdm(catalogue(), desc="voices")):
        gen = TextGenerator(
            make_household(f"anon{vi}", seed + vi),
            wake_phrase="hey nova",
            confusables=[],
            seed=seed + vi,
        )
        lines = [gen.request().text for _ in range(per_voice)]
        for i, (line, s) in enumerate(zip(lines, synthesize(voice, lines), strict=True)):
            if s is None or len(s.wave) < 8000:
                continue
            w = s.wave / (np.max(np.abs(s.wave)) + 1e-9) * 0.5
            waves.append(w.astype(np.float32))
            speakers.append(voice.name)
            families.append(voice.family)
            texts.append(line)
            ids.append(f"{voice.name}-{i}")
    cache.parent.mkdir(parents=True, exist_ok=True)
    obj = np.empty(len(waves), dtype=object)
    obj[:] = waves
    np.savez(cache, waves=obj, speakers=speakers, families=families, texts=texts, ids=ids)
    return {"waves": waves, "speakers": speakers, "families": families, "texts": texts, "ids": ids}


def anonymize_all(clips: dict, spec: dict | None, secret: str = "evaluation") -> list[np.ndarray]:
    from redaction.anonymize import Anonymizer

    if spec is None:
        return list(clips["waves"])
    spec = dict(spec)
    per_speaker = spec.pop("per_speaker", False)
    anon = Anonymizer(secret=secret, **spec)
    keys = clips["speakers"] if per_speaker else clips["ids"]
    return [anon(w, key=k) for w, k in zip(clips["waves"], keys, strict=True)]


def wer(refs: list[str], hyps: list[str]) -> float:
    from speech.data.align import word_errors
    from speech.data.spoken import from_written

    errors = words = 0
    for r, h in zip(refs, hyps, strict=True):
        errors += word_errors(r.split(), from_written(h).split())
        words += len(r.split())
    return errors / max(1, words)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--per-voice", type=int, default=16, help="requests per voice")
    p.add_argument("--enrol", type=int, default=3, help="enrolment clips per speaker")
    p.add_argument("--methods", default=",".join(METHODS))
    p.add_argument("--epochs", type=int, default=30, help="SpeakerNet training epochs")
    p.add_argument("--wer-clips", type=int, default=60, help="evaluation clips for the WERs")
    p.add_argument("--out", default="experiments/results/anonymization")
    args = p.parse_args(argv)

    from redaction.speakers import Resemblyzer, eer, embed, lda, train_speaker_net, trials
    from redaction.transcribe import Ours, Whisper

    started = time.time()
    out = Path(args.out)
    clips = build_clips(args.per_voice, Path(f"outputs/anonymization/clips-{args.per_voice}.npz"))
    fam = np.array(clips["families"])
    spk = np.array(clips["speakers"])
    is_eval = np.isin(fam, EVAL_FAMILIES)
    ev, tr = np.flatnonzero(is_eval), np.flatnonzero(~is_eval)
    # the first ``enrol`` clips of each evaluation speaker enrol it, the rest are trials
    seen: dict[str, int] = {}
    enrol_mask = np.zeros(len(spk), bool)
    for i in ev:
        seen[spk[i]] = seen.get(spk[i], 0) + 1
        enrol_mask[i] = seen[spk[i]] <= args.enrol
    en, te = np.flatnonzero(is_eval & enrol_mask), np.flatnonzero(is_eval & ~enrol_mask)
    print(f"{len(set(spk[ev]))} evaluation speakers, {len(set(spk[tr]))} attack-training speakers")

    res = Resemblyzer()
    orig = clips["waves"]
    r_orig = res(orig)
    net_orig = train_speaker_net([orig[i] for i in tr], spk[tr], epochs=args.epochs)
    n_orig = embed(net_orig, orig)
    whisper, ours = Whisper("tiny.en"), Ours()
    wer_idx = te[:: max(1, len(te) // args.wer_clips)][: args.wer_clips]
    refs = [clips["texts"][i] for i in wer_idx]
    rows = []
    for name in args.methods.split(","):
        t0 = time.time()
        anon = anonymize_all(clips, METHODS[name])
        seconds = time.time() - t0
        r_anon = res(anon) if name != "none" else r_orig
        n_anon = embed(net_orig, anon) if name != "none" else n_orig
        row = {"method": name, "anonymize_rtf": seconds / sum(len(w) / 16000 for w in orig)}
        for attacker, e_orig, e_anon in (
            ("resemblyzer", r_orig, r_anon),
            ("speakernet", n_orig, n_anon),
        ):
            row[f"{attacker}_ignorant"] = eer(*trials(e_orig[en], spk[en], e_anon[te], spk[te]))
            row[f"{attacker}_lazy"] = eer(*trials(e_anon[en], spk[en], e_anon[te], spk[te]))
        # semi-informed: trained on anonymized speech of the other speakers
        w = lda(r_anon[tr], spk[tr])
        row["resemblyzer_semi"] = eer(*trials(r_anon[en] @ w, spk[en], r_anon[te] @ w, spk[te]))
        net_anon = (
            net_orig
            if name == "none"
            else train_speaker_net([anon[i] for i in tr], spk[tr], epochs=args.epochs)
        )
        s_anon = embed(net_anon, anon)
        row["speakernet_semi"] = eer(*trials(s_anon[en], spk[en], s_anon[te], spk[te]))
        row["whisper_wer"] = wer(refs, [whisper(anon[i]).text for i in wer_idx])
        row["ours_wer"] = wer(refs, [ours(anon[i]).text for i in wer_idx])
        rows.append(row)
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}))

    result = {
        "date": date.today().isoformat(),
        "command": "python -m experiments.anonymization " + " ".join(argv or []),
        "evaluation_speakers": sorted(set(spk[ev])),
        "training_speakers": sorted(set(spk[tr])),
        "clips": len(spk),
        "trials_per_method": len(te) * len(set(spk[ev])),
        "wer_clips": len(wer_idx),
        "rows": rows,
        "seconds": round(time.time() - started, 1),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=1))
    plot(result, out.with_suffix(".png"))
    print(f"wrote {out.with_suffix('.json')} and {out.with_suffix('.png')}")


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["rows"]
    cols = [
        "resemblyzer_ignorant",
        "resemblyzer_lazy",
        "resemblyzer_semi",
        "speakernet_ignorant",
        "speakernet_lazy",
        "speakernet_semi",
    ]
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [3, 1]})
    x = np.arange(len(cols))
    width = 0.8 / len(rows)
    for i, r in enumerate(rows):
        a.bar(x + i * width, [100 * r[c] for c in cols], width, label=r["method"])
    a.set_xticks(x + 0.4 - width / 2, [c.replace("_", "\n") for c in cols], fontsize=8)
    a.set_ylabel("speaker-verification EER (%)")
    a.axhline(50, color="grey", lw=0.5)
    a.legend(fontsize=8)
    b.bar([r["method"] for r in rows], [100 * r["whisper_wer"] for r in rows])
    b.set_ylabel("Whisper tiny.en WER (%)")
    b.tick_params(axis="x", rotation=60, labelsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
