"""Import real corpora on disk (Speech Commands v2, LibriSpeech) as sottovoce manifests.

The audio stays where it is: manifest ``audio`` paths point back into the corpus,
relative to the manifest's folder. Only files at a rate other than 16 kHz are copied,
resampled, under ``OUT/resampled/``. Unreadable or empty files are skipped and counted,
never fatal, because public corpora ship with a few broken clips.

Usage::

    python -m speech.data.real speech-commands corpora/speech_commands_v0.02 corpora/sc \\
        --wake-word marvin --keywords yes,no,up,down
    python -m speech.data.real librispeech corpora/librispeech corpora/ls --subsets dev-clean
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import soundfile as sf

from speech import SAMPLE_RATE
from speech.audio import AudioError, load_wav, save_wav
from speech.data.manifest import SPLITS, Utterance, write_manifest

log = logging.getLogger(__name__)

_SC_CLIP = re.compile(r"^(?P<speaker>[^_/]+)_nohash_(?P<n>\d+)\.wav$")
_SC_NOISE_DIR = "_background_noise_"
_WRONG_RATE_MODES = ("resample", "error")


@dataclass
class ImportStats:
    """What an import kept and what it left out.

    Attributes:
        utterances: manifest lines written.
        hours: total audio duration of those lines, in hours.
        skipped_corrupt: files libsndfile could not open.
        skipped_empty: files holding no samples.
        skipped_background: Speech Commands ``_background_noise_`` files (not utterances).
        resampled: files copied to 16 kHz under ``OUT/resampled/``.
        missing_audio: transcript or split-list lines whose audio file is absent.
        by_split: manifest lines per split.
    """

    utterances: int = 0
    hours: float = 0.0
    skipped_corrupt: int = 0
    skipped_empty: int = 0
    skipped_background: int = 0
    resampled: int = 0
    missing_audio: int = 0
    by_split: dict[str, int] = field(default_factory=dict)

    def add(self, utt: Utterance) -> None:
        self.utterances += 1
        self.hours += utt.duration / 3600.0
        self.by_split[utt.split] = self.by_split.get(utt.split, 0) + 1


def _normalise_word(word: str) -> str:
    return word.strip().lower().replace("_", " ")


def _check_mode(on_wrong_rate: str) -> None:
    if on_wrong_rate not in _WRONG_RATE_MODES:
        raise ValueError(f"on_wrong_rate must be one of {_WRONG_RATE_MODES}, not {on_wrong_rate!r}")


def _probe(
    src: Path, rel: Path, out_dir: Path, on_wrong_rate: str, stats: ImportStats
) -> tuple[str, float] | None:
    """Check one audio file; return (audio path relative to ``out_dir``, seconds), or None.

    ``rel`` is the file's path inside the corpus, reused for its resampled copy so two
    clips with the same name in different folders never collide.
    """
    # soundfile.info reads only the header, so probing a 100-hour corpus stays cheap.
    try:
        empty = src.stat().st_size == 0
        info = None if empty else sf.info(str(src))
    except (OSError, RuntimeError, TypeError) as exc:  # LibsndfileError is a RuntimeError
        log.warning("skipping %s: not a readable audio file (%s)", src, exc)
        stats.skipped_corrupt += 1
        return None
    if info is None or info.frames == 0:
        log.warning("skipping %s: the file holds no samples", src)
        stats.skipped_empty += 1
        return None
    if info.samplerate == SAMPLE_RATE:
        rel_audio = Path(os.path.relpath(src.resolve(), out_dir.resolve())).as_posix()
        return rel_audio, info.frames / SAMPLE_RATE
    if on_wrong_rate == "error":
        raise AudioError(
            f"{src}: sample rate is {info.samplerate} Hz, expected {SAMPLE_RATE} Hz; convert the "
            f"corpus to {SAMPLE_RATE} Hz or import with on_wrong_rate='resample'"
        )
    try:
        wave = load_wav(src, on_wrong_rate="resample")
    except AudioError as exc:  # header was fine but the samples are not
        log.warning("skipping %s: %s", src, exc)
        stats.skipped_corrupt += 1
        return None
    dst = out_dir / "resampled" / rel.with_suffix(".wav")
    save_wav(dst, wave)
    stats.resampled += 1
    return dst.relative_to(out_dir).as_posix(), len(wave) / SAMPLE_RATE


def _finish(out_dir: Path, utts: list[Utterance], stats: ImportStats) -> tuple[Path, ImportStats]:
    manifest = out_dir / "manifest.jsonl"
    if not utts:
        log.warning("no usable utterances found; %s will be empty", manifest)
    if stats.missing_audio:
        log.warning("%d listed utterances have no audio file", stats.missing_audio)
    write_manifest(manifest, utts)
    return manifest, stats


def _read_list(path: Path) -> set[str]:
    if not path.is_file():
        log.warning("%s not found; its clips will be treated as train", path)
        return set()
    lines = path.read_text(encoding="utf-8").splitlines()
    return {line.strip().replace("\\", "/") for line in lines if line.strip()}


def import_speech_commands(
    root: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    wake_words: Iterable[str] = (),
    keywords: Iterable[str] | None = None,
    on_wrong_rate: str = "resample",
) -> tuple[Path, ImportStats]:
    """Import Google Speech Commands v2 (``ROOT/<word>/<speaker>_nohash_<n>.wav``).

    Splits come from ``validation_list.txt`` (dev) and ``testing_list.txt`` (test); every
    other clip is train. One speaker hash is one device, as the corpus has no homes.

    Args:
        root: the extracted corpus folder.
        out_dir: where ``manifest.jsonl`` (and any resampled copies) are written.
        wake_words: words whose clips get kind ``"wake"``; the rest are ``"command"``.
        keywords: words to import (``None`` imports all). Wake words are always imported.
        on_wrong_rate: ``"resample"`` copies non-16 kHz clips to 16 kHz; ``"error"`` refuses.

    Returns:
        (manifest path, stats).

    Raises:
        FileNotFoundError: ``root`` is missing, has no Speech Commands layout, or lacks a
            requested keyword.
        AudioError: a clip is not 16 kHz and ``on_wrong_rate="error"``.
    """
    _check_mode(on_wrong_rate)
    root, out_dir = Path(root), Path(out_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder; pass the extracted Speech Commands root")
    word_dirs = {
        d.name: d
        for d in sorted(root.iterdir())
        if d.is_dir()
        and d.name != _SC_NOISE_DIR
        and any(_SC_CLIP.match(f.name) for f in d.iterdir())
    }
    if not word_dirs:
        raise FileNotFoundError(
            f"no Speech Commands folders (<word>/<x>_nohash_<n>.wav) under {root}"
        )
    wake = {_normalise_word(w) for w in wake_words}
    wanted: set[str] | None = None
    if keywords is not None:
        wanted = {_normalise_word(k) for k in keywords} | wake
        absent = wanted - {_normalise_word(name) for name in word_dirs}
        if absent:
            raise FileNotFoundError(
                f"no folder for word(s) {sorted(absent)} under {root}; "
                f"words present: {', '.join(sorted(word_dirs))}"
            )
        word_dirs = {n: d for n, d in word_dirs.items() if _normalise_word(n) in wanted}

    noise_dir = root / _SC_NOISE_DIR
    stats = ImportStats()
    if noise_dir.is_dir():
        stats.skipped_background = sum(1 for _ in noise_dir.glob("*.wav"))
    dev_list = _read_list(root / "validation_list.txt")
    test_list = _read_list(root / "testing_list.txt")

    utts: list[Utterance] = []
    seen: set[str] = set()
    for name, word_dir in word_dirs.items():
        text = _normalise_word(name)
        for clip in sorted(word_dir.iterdir()):
            m = _SC_CLIP.match(clip.name)
            if not m:
                continue
            key = f"{name}/{clip.name}"
            seen.add(key)
            probed = _probe(clip, Path(name, clip.name), out_dir, on_wrong_rate, stats)
            if probed is None:
                continue
            audio, duration = probed
            split = "dev" if key in dev_list else "test" if key in test_list else "train"
            speaker = f"sc-{m['speaker']}"
            utt = Utterance(
                id=f"sc-{name}-{m['speaker']}-{m['n']}",
                audio=audio,
                duration=round(duration, 4),
                text=text,
                speaker=speaker,
                device=speaker,
                split=split,
                kind="wake" if text in wake else "command",
            )
            utts.append(utt)
            stats.add(utt)
    # Split-list lines for selected words whose clip is gone (a partial download).
    stats.missing_audio = sum(
        1
        for key in dev_list | test_list
        if key not in seen and (wanted is None or _normalise_word(key.split("/")[0]) in wanted)
    )
    return _finish(out_dir, utts, stats)


def _librispeech_subsets(root: Path) -> dict[str, Path]:
    """Subset folders by name; ``root`` may hold ``LibriSpeech/``, the subsets, or be one."""
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder; pass the extracted LibriSpeech root")
    base = root / "LibriSpeech" if (root / "LibriSpeech").is_dir() else root
    subsets = {d.name: d for d in sorted(base.iterdir()) if d.is_dir() and _ls_split(d.name)}
    # Only when nothing below matches is root itself taken as a subset: a parent folder
    # that merely starts with "train" or "test" must not hide the real subsets.
    if not subsets and _ls_split(base.name):
        subsets = {base.name: base}
    if not subsets:
        raise FileNotFoundError(
            f"no LibriSpeech subsets (train-*/dev-*/test-* holding "
            f"<speaker>/<chapter>/*.trans.txt) under {root}"
        )
    return subsets


def _ls_split(name: str) -> str | None:
    return next((split for split in SPLITS if name.startswith(split)), None)


def import_librispeech(
    root: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    subsets: Iterable[str] | None = None,
    on_wrong_rate: str = "resample",
) -> tuple[Path, ImportStats]:
    """Import LibriSpeech (``<subset>/<speaker>/<chapter>/<speaker>-<chapter>-<utt>.flac``).

    Every utterance is kind ``"request"``; the split follows the subset name's prefix
    (train-*, dev-*, test-*). One reader is one device.

    Args:
        root: the folder holding ``LibriSpeech/``, or the subset folders, or one subset.
        out_dir: where ``manifest.jsonl`` (and any resampled copies) are written.
        subsets: subset names to import, e.g. ``["dev-clean"]`` (``None`` imports all).
        on_wrong_rate: ``"resample"`` copies non-16 kHz clips to 16 kHz; ``"error"`` refuses.

    Returns:
        (manifest path, stats).

    Raises:
        FileNotFoundError: ``root`` is missing, holds no subsets, or lacks a requested one.
        AudioError: a clip is not 16 kHz and ``on_wrong_rate="error"``.
    """
    _check_mode(on_wrong_rate)
    root, out_dir = Path(root), Path(out_dir)
    found = _librispeech_subsets(root)
    if subsets is not None:
        wanted = list(subsets)
        absent = sorted(set(wanted) - found.keys())
        if absent:
            raise FileNotFoundError(
                f"LibriSpeech subset(s) {absent} not under {root}; "
                f"found: {', '.join(sorted(found))}"
            )
        found = {name: found[name] for name in wanted}

    stats = ImportStats()
    utts: list[Utterance] = []
    for name, subset in found.items():
        split = _ls_split(name)
        for trans in sorted(subset.glob("*/*/*.trans.txt")):
            for line in trans.read_text(encoding="utf-8").splitlines():
                utt_id, _, text = line.strip().partition(" ")
                if not utt_id or not text.strip():
                    if utt_id:
                        log.warning("%s: line %r has no transcript; skipped", trans, utt_id)
                    continue
                src = trans.parent / f"{utt_id}.flac"
                if not src.is_file():
                    log.debug("%s: no audio for %s", trans, utt_id)
                    stats.missing_audio += 1
                    continue
                probed = _probe(src, src.relative_to(subset.parent), out_dir, on_wrong_rate, stats)
                if probed is None:
                    continue
                audio, duration = probed
                speaker = f"ls-{utt_id.split('-')[0]}"
                utt = Utterance(
                    id=f"ls-{utt_id}",
                    audio=audio,
                    duration=round(duration, 4),
                    text=" ".join(text.lower().split()),
                    speaker=speaker,
                    device=speaker,
                    split=split,
                    kind="request",
                )
                utts.append(utt)
                stats.add(utt)
    return _finish(out_dir, utts, stats)


def _csv(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def main(argv: Sequence[str] | None = None) -> None:
    """CLI: import a corpus, print its stats as JSON; exit 2 with one line on bad input."""
    parser = argparse.ArgumentParser(
        prog="python -m speech.data.real", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="corpus", required=True)
    sc = sub.add_parser("speech-commands", help="Google Speech Commands v2")
    sc.add_argument("--wake-word", action="append", default=[], help="repeatable")
    sc.add_argument("--keywords", type=_csv, default=None, help="comma-separated words")
    ls = sub.add_parser("librispeech", help="LibriSpeech")
    ls.add_argument("--subsets", type=_csv, default=None, help="e.g. dev-clean,test-clean")
    for p in (sc, ls):
        p.add_argument("root", type=Path)
        p.add_argument("out", type=Path)
        p.add_argument("--on-wrong-rate", choices=_WRONG_RATE_MODES, default="resample")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")

    try:
        if args.corpus == "speech-commands":
            manifest, stats = import_speech_commands(
                args.root,
                args.out,
                wake_words=args.wake_word,
                keywords=args.keywords,
                on_wrong_rate=args.on_wrong_rate,
            )
        else:
            manifest, stats = import_librispeech(
                args.root, args.out, subsets=args.subsets, on_wrong_rate=args.on_wrong_rate
            )
    except (AudioError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    report = asdict(stats) | {"hours": round(stats.hours, 6), "manifest": str(manifest)}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
