"""Build a corpus: calibrate voices, plan, synthesize shards in parallel, merge, summarize.

Output folder ``<out_root>/<name>-<spec hash>/``::

    manifest.jsonl   one utterance a line (the contract in DESIGN.md)
    summary.json     hours by kind/speaker/device/split, voice and alignment figures
    voices.json      calibration report of every candidate voice
    rooms.npz        the room bank; noise/babble.npz the babble sources
    audio/<split>/<device>/<id>.wav, streams/<id>.wav
    shards/<job>.jsonl   finished work; a rebuild skips it (resume after a crash)

A finished corpus is reused as is: rebuilding the same spec is instant.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing as mp
import os
import random
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import numpy as np
from tqdm import tqdm

from speech import SAMPLE_RATE
from speech.audio import save_wav
from speech.data import align, augment
from speech.data.calibrate import VoiceReport, calibrate, select
from speech.data.manifest import Utterance, Word, write_manifest
from speech.data.plan import CorpusSpec, Device, Job, plan_devices, plan_jobs, split_of
from speech.data.summary import plot_summary, summarize
from speech.data.text import ORDINARY, TextGenerator, make_household
from speech.data.voices import Synth, Voice, catalogue, engine_settings, require_tools, synthesize

log = logging.getLogger(__name__)
_CTX: dict = {}


def corpus_dir(spec: CorpusSpec, out_root: str | os.PathLike) -> Path:
    return Path(out_root) / f"{spec.name}-{spec.digest()}"


def build_corpus(
    spec: CorpusSpec, out_root: str | os.PathLike, *, workers: int = 2, progress: bool = True
) -> tuple[Path, dict]:
    """Build (or reuse) the corpus for ``spec``; returns its folder and summary."""
    out = corpus_dir(spec, out_root)
    if (out / "summary.json").exists() and (out / "manifest.jsonl").exists():
        summary = json.loads((out / "summary.json").read_text())
        summary["cached"] = True
        return out, summary
    started = time.time()
    candidates = catalogue(spec.voices)
    require_tools({v.engine for v in candidates})
    out.mkdir(parents=True, exist_ok=True)
    (out / "spec.json").write_text(json.dumps(asdict(spec), indent=1))

    reports = _choose_voices(spec, candidates, out, workers)
    speakers = [v for v in candidates if any(r.kept and r.name == v.name for r in reports)]
    splits = Counter(split_of(v, spec) for v in speakers)
    if any(splits[s] == 0 for s in ("train", "test")):
        raise ValueError(
            f"speakers per split {dict(splits)}: train and test need at least one voice each; "
            "check dev_families/test_families against the kept voices in voices.json"
        )
    devices = plan_devices(spec, speakers)
    voice_of = {v.name: v for v in speakers}
    jobs = plan_jobs(spec, devices)

    if not (out / "rooms.npz").exists():
        augment.make_room_bank(spec.rooms, spec.room_positions, spec.seed).save(out / "rooms.npz")
    if not (out / "noise" / "babble.npz").exists():
        _make_babble(spec, [v for v in speakers if split_of(v, spec) == "train"], out)

    shards = out / "shards"
    shards.mkdir(exist_ok=True)
    pending = [j for j in jobs if not (shards / f"{j.key}.jsonl").exists()]
    # The longest jobs first balance the workers: a slow engine's (engine_devices), then streams.
    slow = {d.id for d in devices if voice_of[d.speaker].engine in spec.engine_devices}
    pending.sort(key=lambda j: (j.device not in slow, j.kind != "stream"))
    ctx = {
        "spec": spec,
        "out": str(out),
        "devices": {d.id: d for d in devices},
        "voices": {v.name: v for v in speakers},
    }
    if pending:
        _run_pending(
            pending, ctx, shards, workers, progress, done=len(jobs) - len(pending), total=len(jobs)
        )

    lines, stats = [], Counter()
    for job in jobs:
        text = (shards / f"{job.key}.jsonl").read_text().splitlines()
        meta = json.loads(text[0])
        stats.update(meta["stats"])
        lines += [Utterance.from_dict(json.loads(t)) for t in text[1:]]
    write_manifest(out / "manifest.jsonl", lines)
    summary = summarize(
        spec, lines, reports, devices, stats, seconds=time.time() - started, out=out
    )
    plot_summary(summary, out / "summary.png")
    # summary.json marks a finished corpus, so it is written last and atomically.
    (out / "summary.json.tmp").write_text(json.dumps(summary, indent=1))
    os.replace(out / "summary.json.tmp", out / "summary.json")
    summary["cached"] = False
    return out, summary


def _choose_voices(
    spec: CorpusSpec, candidates: list[Voice], out: Path, workers: int
) -> list[VoiceReport]:
    if spec.calibrate:
        key = hashlib.sha1(json.dumps([v.as_dict() for v in candidates]).encode()).hexdigest()[:12]
        cache = out.parent / ".voice-calibration" / f"{key}.json"
        reports = calibrate(candidates, workers=workers, cache=cache)
        select(
            reports,
            min_accuracy_base=spec.min_accuracy_base,
            min_accuracy_altered=spec.min_accuracy_altered,
            max_similarity=spec.max_similarity,
        )
    else:
        reports = [
            VoiceReport(
                v.name, v.family, v.altered, -1.0, 0.0, [], kept=True, reason="not calibrated"
            )
            for v in candidates
        ]
    (out / "voices.json").write_text(json.dumps([asdict(r) for r in reports], indent=1))
    return reports


def _make_babble(spec: CorpusSpec, voices: list[Voice], out: Path) -> None:
    rng = random.Random(spec.seed)
    sources = []
    for voice in voices[:6]:
        clips = synthesize(voice, rng.sample(ORDINARY, 6))
        sources += [c.wave for c in clips if c is not None]
    (out / "noise").mkdir(exist_ok=True)
    np.savez_compressed(out / "noise" / "babble.npz", *sources)


def _run_pending(
    pending: list[Job], ctx: dict, shards: Path, workers: int, progress: bool, done: int, total: int
) -> None:
    bar = tqdm(total=total, initial=done, unit="shard", desc="synthesizing", disable=not progress)
    hours = 0.0
    with mp.get_context("fork").Pool(max(1, workers), initializer=_init, initargs=(ctx,)) as pool:
        for key, payload, seconds in pool.imap_unordered(_run_job, pending):
            tmp = shards / f"{key}.jsonl.tmp"
            tmp.write_text("\n".join(payload) + "\n")
            os.replace(tmp, shards / f"{key}.jsonl")
            hours += seconds / 3600
            bar.set_postfix(hours=f"{hours:.2f}")
            bar.update()
    bar.close()


def _init(ctx: dict) -> None:
    _CTX.update(ctx)
    out = Path(ctx["out"])
    _CTX["bank"] = augment.RoomBank.load(out / "rooms.npz")
    z = np.load(out / "noise" / "babble.npz")
    _CTX["babble"] = [z[k] for k in z.files]


def _run_job(job: Job) -> tuple[str, list[str], float]:
    stats: Counter = Counter()
    utts = _stream(job, stats) if job.kind == "stream" else _clips(job, stats)
    seconds = sum(u.duration for u in utts)
    meta = json.dumps({"stats": dict(stats)})
    return job.key, [meta] + [u.to_json() for u in utts], seconds


def word_times(
    synth: Synth, text: str, stats: Counter, *, measure: bool = False
) -> tuple[list[Word], str]:
    """Festival's own times, else forced alignment, else an estimate (counted in ``stats``).

    With ``measure``, festival clips are aligned too and the aligner's error recorded.
    """
    if synth.words is not None and not measure:
        stats["times_festival"] += 1
        return synth.words, "festival"
    aligned = align.align(synth.wave, text)
    if synth.words is not None:
        if aligned is not None:  # measure the aligner against festival's own boundaries
            for ref, hyp in zip(synth.words, aligned, strict=True):
                stats["align_err_ms_sum"] += 500 * (
                    abs(ref.start - hyp.start) + abs(ref.end - hyp.end)
                )
                stats["align_err_n"] += 1
                stats[f"align_err_le{_bucket(ref, hyp)}"] += 1
        stats["times_festival"] += 1
        return synth.words, "festival"
    if aligned is not None:
        stats["times_aligned"] += 1
        return aligned, "aligned"
    stats["times_estimated"] += 1
    return _estimate(synth.wave, text), "estimated"


def _bucket(ref: Word, hyp: Word) -> int:
    err = 500 * (abs(ref.start - hyp.start) + abs(ref.end - hyp.end))
    return next(b for b in (10, 20, 40, 80, 10**9) if err <= b)


def _estimate(wave: np.ndarray, text: str) -> list[Word]:
    """Last resort: spread words over the voiced region in proportion to their letters."""
    frames = np.abs(wave[: len(wave) // 160 * 160]).reshape(-1, 160).max(1)
    active = np.flatnonzero(frames > frames.max() * 0.05)
    t0, t1 = (
        (active[0] * 0.01, (active[-1] + 1) * 0.01)
        if active.size
        else (0.0, len(wave) / SAMPLE_RATE)
    )
    words = text.split()
    weights = np.cumsum([0] + [len(w) + 1 for w in words], dtype=float)
    edges = t0 + (t1 - t0) * weights / weights[-1]
    return [Word(w, round(edges[i], 3), round(edges[i + 1], 3)) for i, w in enumerate(words)]


def _augment(
    wave, words, dev: Device, rng: np.random.Generator
) -> tuple[np.ndarray, list[Word], dict]:
    spec: CorpusSpec = _CTX["spec"]
    bank: augment.RoomBank = _CTX["bank"]
    speed = float(rng.choice(spec.speeds))
    wave, words = augment.speed_perturb(wave, words, speed)
    position = int(rng.choice(bank.positions(dev.room)))
    wave = augment.reverberate(wave, bank.rirs[position])
    kind = dev.noise if rng.random() < 0.7 else str(rng.choice(augment.NOISE_KINDS))
    snr = float(np.clip(rng.normal(dev.snr_center, 4.0), *spec.snr_db))
    wave = augment.mix_at_snr(wave, augment.noise(len(wave), kind, rng, _CTX["babble"]), snr)
    settings = {
        "speed": speed,
        "room": dev.room,
        "rir": position,
        "rt60": round(float(bank.rt60[dev.room]), 3),
        "noise": kind,
        "snr_db": round(snr, 1),
    }
    return wave, words, settings


def _clips(job: Job, stats: Counter) -> list[Utterance]:
    spec: CorpusSpec = _CTX["spec"]
    dev: Device = _CTX["devices"][job.device]
    voice: Voice = _CTX["voices"][dev.speaker]
    gen = TextGenerator(
        make_household(dev.id, dev.seed),
        wake_phrase=spec.wake_phrase,
        confusables=spec.confusables,
        seed=job.seed,
    )
    make = {"wake": gen.wake, "negative": gen.negative, "request": gen.request}[job.kind]
    prompts = [make() for _ in range(job.n)]
    rng = np.random.default_rng(job.seed)
    utts = []
    for i, (prompt, synth) in enumerate(
        zip(prompts, synthesize(voice, [p.text for p in prompts]), strict=True)
    ):
        if synth is None:
            stats["synthesis_failed"] += 1
            continue
        # The aligner is measured on every fourth festival clip: enough for a stable figure.
        words, source = word_times(synth, prompt.text, stats, measure=i % 4 == 0)
        wave = synth.wave
        if job.kind != "request":
            wave, words = augment.pad(wave, words, rng.uniform(0.05, 0.5), rng.uniform(0.05, 0.5))
        settings = None
        if (dev.split != "test" or spec.augment_test) and rng.random() < spec.augment_prob:
            wave, words, settings = _augment(wave, words, dev, rng)
        wave = augment.level(wave, rng)
        uid = f"{job.key}-{i:03d}"
        rel = f"audio/{dev.split}/{dev.id}/{uid}.wav"
        save_wav(Path(_CTX["out"]) / rel, wave)
        utts.append(
            Utterance(
                id=uid,
                audio=rel,
                duration=round(len(wave) / SAMPLE_RATE, 3),
                text=prompt.text,
                speaker=voice.name,
                device=dev.id,
                split=dev.split,
                kind=job.kind,
                words=words,
                pii=prompt.pii,
                synth={
                    **voice.as_dict(),
                    **engine_settings(voice),
                    "engine": voice.engine,
                    "times": source,
                    "intent": prompt.intent,
                    "seed": job.seed,
                    "index": i,
                },
                augment=settings,
            )
        )
    return utts


def _stream(job: Job, stats: Counter) -> list[Utterance]:
    """A long negative recording: several held-out voices talking, pauses, a noise bed; no wake phrase."""
    spec: CorpusSpec = _CTX["spec"]
    dev: Device = _CTX["devices"][job.device]
    bank: augment.RoomBank = _CTX["bank"]
    rng = np.random.default_rng(job.seed)
    # A speaker talks in proportion to the devices (homes) it has: a slow engine's voices with
    # few devices (engine_devices) then cost the streams no more than their share of them.
    talkers = sorted(d.speaker for d in _CTX["devices"].values() if d.split == dev.split)
    voices = sorted(set(talkers))
    gen = TextGenerator(
        make_household(dev.id, dev.seed),
        wake_phrase=spec.wake_phrase,
        confusables=spec.confusables,
        seed=job.seed,
    )
    # About 2.5 words a second of speech and 40% pauses: draw a little more than needed.
    plan: list[tuple[str, str]] = []
    budget = job.seconds * 1.6
    while budget > 0:
        # Mostly everyday talk and requests; a few confusable phrases (8%) keep it honest
        # without turning an hour of household audio into a list of near-misses.
        r = rng.random()
        if r < 0.08 and gen.confusables:
            text = gen.confusables[int(rng.integers(len(gen.confusables)))]
        elif r < 0.3:
            text = gen.request().text
        else:
            text = gen.ordinary()
        plan.append((str(rng.choice(talkers)), text))
        budget -= 0.4 * len(text.split()) + 0.3
    # Festival starts slowly, so each festival voice says all its texts in one batch. The other
    # engines speak one text at a time, so only what fits in the stream is synthesized: the plan
    # holds about three times that, and Kokoro costs ~0.6 CPU-s a second of audio.
    clips: dict[int, Synth | None] = {}
    for name in sorted({v for v, _ in plan if _CTX["voices"][v].engine == "festival"}):
        idx = [i for i, (v, _) in enumerate(plan) if v == name]
        for i, s in zip(
            idx, synthesize(_CTX["voices"][name], [plan[i][1] for i in idx]), strict=True
        ):
            clips[i] = s
    n = int(job.seconds * SAMPLE_RATE)
    track = np.zeros(n, np.float32)
    words: list[Word] = []
    t = 0.0
    for i, (name, text) in enumerate(plan):
        t += float(rng.choice([rng.uniform(0.3, 2.0), rng.uniform(2.0, 12.0)], p=[0.8, 0.2]))
        synth = clips[i] if i in clips else synthesize(_CTX["voices"][name], [text])[0]
        if synth is None:
            stats["synthesis_failed"] += 1
            continue
        start = int(t * SAMPLE_RATE)
        if start + len(synth.wave) > n:
            break
        ws, _ = word_times(synth, text, stats)
        wet = augment.reverberate(synth.wave, bank.rirs[int(rng.choice(bank.positions(dev.room)))])
        track[start : start + len(wet)] += wet * rng.uniform(0.5, 1.0)
        words += [Word(w.w, round(w.start + t, 3), round(w.end + t, 3)) for w in ws]
        t += len(synth.wave) / SAMPLE_RATE
    snr = float(rng.uniform(5, 20))
    track = augment.level(
        augment.mix_at_snr(track, augment.noise(n, dev.noise, rng, _CTX["babble"]), snr), rng
    )
    rel = f"streams/{job.key}.wav"
    save_wav(Path(_CTX["out"]) / rel, track)
    return [
        Utterance(
            id=job.key,
            audio=rel,
            duration=round(n / SAMPLE_RATE, 3),
            text=" ".join(w.w for w in words),
            speaker="+".join(voices),
            device=dev.id,
            split=dev.split,
            kind="stream",
            words=words,
            synth={"voices": voices, "seed": job.seed, "times": "mixed"},
            augment={"room": dev.room, "noise": dev.noise, "snr_db": round(snr, 1)},
        )
    ]
