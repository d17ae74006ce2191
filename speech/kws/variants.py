"""Wake-phrase variants: many renderings of the wake phrase, its confusables and plain speech.

A TTS voice says "hey nova" the same way every time. The corpus's wake clips of one voice
differ only in speed (three settings), padding, room and noise, so a wake-word model trained on
them sees about thirty distinct utterances and learns those voices rather than the phrase. This
add-on renders the phrase, the confusables that share its sounds and ordinary sentences with a
fresh prosody per clip (duration stretch, pitch, tempo, espeak-ng speed and pitch, punctuation
that changes the intonation), and with more voices: catalogue voices that calibration left out
of the corpus (too similar to a kept one, or too unclear for long requests) and extra espeak-ng
variants.

Held-out speakers stay held out: a voice whose speaker is in a test family is never rendered,
and a voice of a dev speaker (``kal`` for both flite-kal16 and festival's kal_diphone) is
labelled ``dev``, so ``task.train_splits=[train]`` keeps dev unseen.

    python -m speech.kws variants corpora/default-98a9c78c [--per-voice 100] [--no-accents]

writes ``<corpus>/kws-variants-n100-s0-<digest>/manifest.jsonl`` and its audio; the digest names
the voice list and prosody ranges. Training builds or reuses it itself with ``task.variants=100``.
A finished build is reused; an interrupted one resumes voice by voice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections import Counter
from dataclasses import asdict
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from speech import SAMPLE_RATE
from speech.audio import save_wav
from speech.data import augment
from speech.data.build import word_times
from speech.data.manifest import Utterance, read_manifest, write_manifest
from speech.data.text import TextGenerator, make_household
from speech.data.voices import CATALOGUE, Prosody, Voice, synthesize

log = logging.getLogger(__name__)

# espeak-ng variants beyond the catalogue: different formant sets of the same synthesizer.
EXTRA_ESPEAK = ("m1", "m2", "m4", "m5", "m6", "f1", "f3", "f5", "klatt2", "klatt3", "benjamin")
# espeak-ng's other accents of English, two formant sets each (``accents``): every other voice
# says the phrase the American way. On "hey nova" they lowered both the mean and the spread of
# held-out FRR over seeds (docs/DESIGN.md).
ESPEAK_ACCENTS = (
    "en-gb",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-029",
)
# Voices calibration scored below this word accuracy on requests are too unclear to keep.
MIN_ACCURACY = 0.3
PUNCTUATION = ("{}", "{}.", "{}!", "{}?", "{},")


def speaker_key(voice: Voice) -> str:
    """The person behind a voice: flite's kal16 and festival's kal_diphone are both ``kal``."""
    if voice.engine == "espeak":
        return "espeak"
    return re.sub(r"(16|_diphone|_arctic_hts|cmu_us_)", "", voice.model)


def variant_voices(corpus: Path, accents: bool = True) -> list[tuple[Voice, str]]:
    """(voice, split) for every voice to render: never a test speaker's.

    ``accents`` adds the :data:`ESPEAK_ACCENTS` voices (full catalogue only).
    """
    spec = json.loads((corpus / "spec.json").read_text())
    calib_file = corpus / "voices.json"
    calib = (
        {v["name"]: v for v in json.loads(calib_file.read_text())} if calib_file.exists() else {}
    )
    by_family = {v.family: v for v in CATALOGUE}
    test = {speaker_key(by_family[f]) for f in spec["test_families"]}
    dev = {speaker_key(by_family[f]) for f in spec["dev_families"]}
    if spec.get("voices"):  # the corpus chose its voices: render those only
        voices = [v for v in CATALOGUE if v.name in set(spec["voices"])]
    else:  # the whole catalogue, the unclear ones excepted, and more espeak-ng variants
        voices = [
            v for v in CATALOGUE if calib.get(v.name, {}).get("word_accuracy", 1.0) >= MIN_ACCURACY
        ]
        voices += [
            Voice(name=f"espeak-{m}", engine="espeak", family=f"espeak-{m}", model=f"en-us+{m}")
            for m in EXTRA_ESPEAK
        ]
        if accents:
            formants = [EXTRA_ESPEAK[i % len(EXTRA_ESPEAK)] for i in range(2 * len(ESPEAK_ACCENTS))]
            voices += [
                Voice(
                    name=f"espeak-{a}-{m}",
                    engine="espeak",
                    family=f"espeak-{a}-{m}",
                    model=f"{a}+{m}",
                )
                for i, a in enumerate(ESPEAK_ACCENTS)
                for m in formants[2 * i : 2 * i + 2]
            ]
    out = []
    for v in voices:
        key = speaker_key(v)
        if key in test:
            continue
        out.append((v, "dev" if key in dev else "train"))
    return out


# The ranges each clip's prosody is drawn from (uniform; of the integer ones only pitch_cents
# includes its upper bound). They are part of a build's name.
PROSODY = {
    "stretch": (0.8, 1.3),
    "pitch_cents": (-250, 250),
    "tempo": (0.9, 1.1),
    "espeak_speed": (120, 220),
    "espeak_pitch": (20, 80),
}


def _prosody(voice: Voice, rng: np.random.Generator, ranges: dict[str, tuple]) -> Prosody:
    espeak = voice.engine == "espeak"
    cents = ranges["pitch_cents"]
    return Prosody(
        stretch=float(rng.uniform(*ranges["stretch"])) if not espeak else 1.0,
        pitch_cents=int(rng.integers(int(cents[0]), int(cents[1]) + 1)),
        tempo=float(rng.uniform(*ranges["tempo"])),
        espeak_speed=int(rng.integers(*map(int, ranges["espeak_speed"]))) if espeak else None,
        espeak_pitch=int(rng.integers(*map(int, ranges["espeak_pitch"]))) if espeak else None,
    )


@lru_cache(maxsize=2)
def _noise_sources(corpus: Path) -> tuple[augment.RoomBank, list[np.ndarray]]:
    """The corpus's rooms and babble, loaded once per worker process."""
    return augment.RoomBank.load(corpus / "rooms.npz"), augment.load_babble(corpus)


def render_voice(
    corpus: Path,
    voice: Voice,
    split: str,
    *,
    out: Path,
    wake_phrase: str,
    confusables: list[str],
    per_voice: int,
    seed: int,
    augment_prob: float = 0.8,
) -> list[Utterance]:
    """``per_voice`` wake clips, confusables and ordinary sentences of one voice, written
    under the build directory ``out``."""
    rng = np.random.default_rng([seed, sum(map(ord, voice.name))])
    # Ordinary speech keeps the share of plain negatives: with only positives and confusables
    # added, a model learns that any new-sounding voice is the wake phrase.
    gen = TextGenerator(
        make_household(f"variants-{voice.name}", seed),
        wake_phrase=wake_phrase,
        confusables=confusables,
        seed=int(rng.integers(2**31)),
    )
    texts = (
        [wake_phrase] * per_voice
        + [confusables[i % len(confusables)] for i in range(per_voice)]
        + [gen.ordinary() for _ in range(per_voice)]
    )
    spoken = [str(rng.choice(PUNCTUATION)).format(t) for t in texts]
    prosody = [_prosody(voice, rng, PROSODY) for _ in texts]
    bank, babble = _noise_sources(corpus)
    out_dir = out / "audio" / voice.name
    utts = []
    for i, (text, synth, p) in enumerate(
        zip(texts, synthesize(voice, spoken, prosody=prosody), prosody, strict=True)
    ):
        if synth is None:
            continue
        words, _ = word_times(synth, text, Counter())
        wave, words = augment.pad(synth.wave, words, rng.uniform(0.05, 0.5), rng.uniform(0.05, 0.5))
        settings = None
        if rng.random() < augment_prob:
            position = int(rng.integers(len(bank.rirs)))
            wave = augment.reverberate(wave, bank.rirs[position])
            kind = str(rng.choice(augment.NOISE_KINDS))
            snr = float(rng.uniform(0.0, 25.0))
            wave = augment.mix_at_snr(wave, augment.noise(len(wave), kind, rng, babble), snr)
            settings = {"rir": position, "noise": kind, "snr_db": round(snr, 1)}
        wave = augment.level(wave, rng)
        uid = f"var-{voice.name}-{i:04d}"
        save_wav(out_dir / f"{uid}.wav", wave.astype(np.float32))
        utts.append(
            Utterance(
                id=uid,
                audio=f"audio/{voice.name}/{uid}.wav",
                duration=round(len(wave) / SAMPLE_RATE, 3),
                text=text,
                speaker=voice.name,
                device=f"variants-{voice.name}",
                split=split,
                kind="wake" if text == wake_phrase else "negative",
                words=words,
                synth={**voice.as_dict(), "engine": voice.engine, "prosody": asdict(p)},
                augment=settings,
            )
        )
    return utts


def variants_dir(
    corpus: str | os.PathLike,
    per_voice: int,
    seed: int,
    accents: bool = True,
) -> Path:
    """Where a build lives; its name changes with the voices rendered and the prosody ranges,
    so a build made with other settings is never reused."""
    return _build_dir(Path(corpus), variant_voices(Path(corpus), accents), per_voice, seed)


def _build_dir(
    corpus: Path,
    voices: list[tuple[Voice, str]],
    per_voice: int,
    seed: int,
) -> Path:
    names = ",".join(sorted(f"{v.name}:{split}" for v, split in voices))
    key = f"{names};{sorted(PROSODY.items())}"
    digest = hashlib.sha1(key.encode()).hexdigest()[:8]
    return corpus / f"kws-variants-n{per_voice}-s{seed}-{digest}"


def _job(args: tuple) -> tuple[str, list[str]]:
    corpus, voice, split, kw = args
    shard = kw["out"] / "shards" / f"{voice.name}.jsonl"
    if shard.exists():
        return voice.name, shard.read_text().splitlines()
    utts = render_voice(corpus, voice, split, **kw)
    write_manifest(shard, utts)
    return voice.name, [u.to_json() for u in utts]


def build_variants(
    corpus: str | os.PathLike,
    *,
    per_voice: int = 100,
    seed: int = 0,
    accents: bool = True,
    workers: int = 2,
    progress: bool = True,
) -> Path:
    """Render every variant voice (resuming from finished shards); returns the manifest path.

    ``accents`` adds espeak-ng voices with other accents of English (:data:`ESPEAK_ACCENTS`).
    """
    from tqdm import tqdm

    corpus = Path(corpus)
    spec = json.loads((corpus / "spec.json").read_text())
    if per_voice < 1:
        raise ValueError(f"per_voice must be >= 1, not {per_voice}")
    voices = variant_voices(corpus, accents)
    out = _build_dir(corpus, voices, per_voice, seed)
    manifest = out / "manifest.jsonl"
    if manifest.exists():
        return manifest
    (out / "shards").mkdir(parents=True, exist_ok=True)
    settings = {"per_voice": per_voice, "seed": seed}
    kw = {
        "out": out,
        "wake_phrase": spec["wake_phrase"],
        "confusables": list(spec["confusables"]),
        **settings,
    }
    jobs = [(corpus, v, split, kw) for v, split in voices]
    lines: list[str] = []
    with get_context("spawn").Pool(max(1, workers)) as pool:
        for _, got in tqdm(
            pool.imap_unordered(_job, jobs), total=len(jobs), disable=not progress, desc="voices"
        ):
            lines += got
    lines.sort()
    write_manifest(manifest, [Utterance.from_dict(json.loads(x)) for x in lines])
    return manifest


def summary(manifest: str | os.PathLike) -> dict:
    utts = read_manifest(manifest)
    per: dict[str, dict[str, int]] = {}
    for u in utts:
        d = per.setdefault(u.speaker, {"split": u.split, "wake": 0, "negative": 0})
        d[u.kind] += 1
    return {
        "clips": len(utts),
        "hours": round(sum(u.duration for u in utts) / 3600, 3),
        "voices": per,
    }
