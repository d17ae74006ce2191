"""The offline TTS voices and how to make them speak.

Four engines: three robotic ones (espeak-ng, flite, festival) and natural Kokoro-82M
blends (:mod:`speech.data.kokoro`), plus altered copies (pitch shift, tempo, HTS
all-pass warp, another Kokoro blend weight) that count as extra speakers once
:mod:`speech.data.calibrate` has shown them intelligible and distinct. A voice
*family* is a base voice together with its altered copies (for Kokoro: one pair of
style packs): splits hold out whole families, so a test speaker is never a
pitch-shifted copy or a re-weighted blend of a training one.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from speech import SAMPLE_RATE
from speech.audio import AudioError, load_wav
from speech.data import kokoro
from speech.data.manifest import Word

log = logging.getLogger(__name__)

DEBIAN_PACKAGES = {
    "espeak-ng": "espeak-ng",
    "flite": "flite",
    "festival": "festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts festlex-cmu",
    "sox": "sox",
}
# Kokoro's text goes through espeak-ng's phonemizer.
_ENGINE_BINARY = {
    "espeak": "espeak-ng",
    "flite": "flite",
    "festival": "festival",
    "kokoro": "espeak-ng",
}
HTS_VOICE = Path(
    "/usr/share/festival/voices/us/cmu_us_slt_arctic_hts/hts/cmu_us_slt_arctic_hts.htsvoice"
)


class EngineMissing(RuntimeError):
    """A TTS engine or tool is not installed; the message names the Debian or pip package."""


class SynthesisError(RuntimeError):
    """An engine ran but produced no usable audio for a voice."""


@dataclass(frozen=True)
class Voice:
    """One speaker identity.

    Attributes:
        name: unique speaker id, used in manifests.
        engine: ``espeak``, ``flite``, ``festival`` or ``kokoro``.
        family: the base voice this one derives from (split unit).
        model: the engine's own voice name (``en-us+klatt4``, ``rms``, ``kal_diphone``); for
            Kokoro the blended style packs joined by ``+`` (``jm_kumo+jf_alpha``).
        pitch_cents: sox pitch shift applied after synthesis (0 = none).
        tempo: sox tempo factor (>1 = faster), pitch kept.
        alpha: festival HTS all-pass constant (a vocal-tract-length-like warp); None = voice default.
        espeak_pitch: espeak-ng ``-p`` (0-99); None = default.
        weights: Kokoro only: the convex weights of the packs in ``model`` (sum 1).
    """

    name: str
    engine: str
    family: str
    model: str
    pitch_cents: int = 0
    tempo: float = 1.0
    alpha: float | None = None
    espeak_pitch: int | None = None
    weights: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.engine == "kokoro":
            kokoro.check_blend(self.packs, self.weights or ())
        elif self.weights is not None:
            raise ValueError(f"{self.name}: blend weights are for the kokoro engine only")

    @property
    def altered(self) -> bool:
        return self.name != self.family

    @property
    def packs(self) -> tuple[str, ...]:
        """Kokoro's style packs blended in this voice."""
        return tuple(self.model.split("+"))

    def as_dict(self) -> dict:
        # Lists, not tuples: the calibration cache compares this with what JSON gives back.
        return {
            k: list(v) if isinstance(v, tuple) else v
            for k, v in asdict(self).items()
            if v not in (None, 0, 1.0) or k == "name"
        }


@dataclass(frozen=True)
class Prosody:
    """Per-clip variation on top of a voice, so that a voice need not say a phrase alike twice.

    Attributes:
        stretch: flite/festival duration stretch (>1 = slower), Kokoro's speed divided by it;
            espeak-ng ignores it.
        pitch_cents: sox pitch shift added to the voice's own.
        tempo: sox tempo factor multiplied into the voice's own.
        espeak_speed: espeak-ng ``-s`` (words per minute); None = default.
        espeak_pitch: espeak-ng ``-p``, overriding the voice's; None = the voice's.
    """

    stretch: float = 1.0
    pitch_cents: int = 0
    tempo: float = 1.0
    espeak_speed: int | None = None
    espeak_pitch: int | None = None


PLAIN = Prosody()


def _v(engine: str, model: str, family: str, name: str | None = None, **kw) -> Voice:
    return Voice(name=name or family, engine=engine, family=family, model=model, **kw)


def _k(female: str, kumo: float, name: str | None = None, **kw) -> Voice:
    """A Kokoro blend of ``jm_kumo`` (weight ``kumo``) with ``jf_<female>``; family = the pair."""
    family = f"kokoro-kumo-{female}"
    weights = (kumo, round(1 - kumo, 2))
    return _v("kokoro", f"jm_kumo+jf_{female}", family, name, weights=weights, **kw)


# Every candidate; which ones become speakers is decided by calibration (intelligible, distinct).
CATALOGUE: tuple[Voice, ...] = (
    _v("flite", "rms", "flite-rms"),
    _v("flite", "rms", "flite-rms", "flite-rms-up3", pitch_cents=300),
    _v("flite", "rms", "flite-rms", "flite-rms-up6", pitch_cents=600, tempo=0.95),
    _v("flite", "awb", "flite-awb"),
    _v("flite", "awb", "flite-awb", "flite-awb-up4", pitch_cents=400),
    _v("flite", "slt", "flite-slt"),
    _v("flite", "slt", "flite-slt", "flite-slt-down2", pitch_cents=-200, tempo=1.05),
    _v("flite", "slt", "flite-slt", "flite-slt-up3", pitch_cents=300),
    _v("flite", "kal16", "flite-kal16"),
    _v("flite", "kal16", "flite-kal16", "flite-kal16-up4", pitch_cents=400, tempo=1.1),
    _v("festival", "cmu_us_slt_arctic_hts", "fest-slt"),
    _v("festival", "cmu_us_slt_arctic_hts", "fest-slt", "fest-slt-a52", alpha=0.52),
    _v("festival", "cmu_us_slt_arctic_hts", "fest-slt", "fest-slt-a56", alpha=0.56, tempo=0.9),
    _v(
        "festival",
        "cmu_us_slt_arctic_hts",
        "fest-slt",
        "fest-slt-a49-down2",
        alpha=0.49,
        pitch_cents=-200,
    ),
    _v("festival", "kal_diphone", "fest-kal"),
    _v("festival", "kal_diphone", "fest-kal", "fest-kal-up4", pitch_cents=400),
    _v("festival", "ked_diphone", "fest-ked"),
    _v("festival", "ked_diphone", "fest-ked", "fest-ked-up5", pitch_cents=500, tempo=1.05),
    _v("festival", "ked_diphone", "fest-ked", "fest-ked-up3", pitch_cents=300),
    _v("festival", "kal_diphone", "fest-kal", "fest-kal-down2", pitch_cents=-200, tempo=1.1),
    _v(
        "festival",
        "cmu_us_slt_arctic_hts",
        "fest-slt",
        "fest-slt-a58-up2",
        alpha=0.58,
        pitch_cents=200,
    ),
    _v("flite", "awb", "flite-awb", "flite-awb-up2", pitch_cents=200, tempo=1.1),
    _v("flite", "slt", "flite-slt", "flite-slt-up1", pitch_cents=150, tempo=0.9),
    _v("flite", "kal16", "flite-kal16", "flite-kal16-down2", pitch_cents=-200),
    _v("espeak", "en-us+klatt4", "espeak-klatt4"),
    _v("espeak", "en-us+klatt4", "espeak-klatt4", "espeak-klatt4-p75", espeak_pitch=75),
    _v("espeak", "en-us+klatt", "espeak-klatt"),
    _v("espeak", "en-us+f2", "espeak-f2"),
    _v("espeak", "en-us+m3", "espeak-m3"),
    _v("espeak", "en-us+f4", "espeak-f4"),
    _v("espeak", "en+m7", "espeak-m7"),
    # Kokoro-82M: its one male pack (jm_kumo) blended with a female one. Measured while choosing,
    # by speech.data.calibrate, and rejected: female pairs (word accuracy 0.21-0.74), kumo 0.25 with
    # alpha (0.65), +300 cents (alpha 0.42, nezumi 0.61); jf_nezumi blends, kumo 0.65-0.75 with
    # alpha, 0.35-0.65 with gongitsune, 0.35 with tebukuro and gongitsune at -200 or +300 cents
    # are clones (similarity > 0.8) of the voices below. A build's voices.json has the figures.
    _k("alpha", 0.5),
    _k("alpha", 0.35, "kokoro-kumo-alpha-k35"),
    _k("alpha", 0.5, "kokoro-kumo-alpha-down2", pitch_cents=-200),
    _k("gongitsune", 0.5),
    _k("gongitsune", 0.25, "kokoro-kumo-gongitsune-k25"),
    _k("tebukuro", 0.65),
    _k("tebukuro", 0.5, "kokoro-kumo-tebukuro-k50"),
)


def catalogue(names: list[str] | None = None) -> list[Voice]:
    """The candidate voices, optionally restricted to ``names`` (unknown names raise)."""
    if names is None:
        return list(CATALOGUE)
    by_name = {v.name: v for v in CATALOGUE}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise ValueError(f"unknown voices {unknown}; known: {sorted(by_name)}")
    return [by_name[n] for n in names]


def require_tools(engines: set[str]) -> None:
    """Raise :class:`EngineMissing` naming the Debian (or pip) package for any absent tool."""
    if "kokoro" in engines and (problem := kokoro.missing()):
        raise EngineMissing(problem)
    for tool in sorted({_ENGINE_BINARY[e] for e in engines} | {"sox"}):
        if shutil.which(tool) is None:
            raise EngineMissing(
                f"`{tool}` is not installed; install it with: "
                f"sudo apt-get install -y {DEBIAN_PACKAGES[tool]}"
            )
    if "festival" in engines:
        missing = [
            p
            for p in ("kal_diphone", "ked_diphone")
            if not list(Path("/usr/share/festival/voices/english").glob(p))
        ]
        if missing or not HTS_VOICE.exists():
            raise EngineMissing(
                "festival voices are missing; install them with: sudo apt-get install -y "
                + DEBIAN_PACKAGES["festival"]
            )


@dataclass
class Synth:
    """A synthesized clip: (samples,) float32 at 16 kHz, and word times when the engine knows them."""

    wave: np.ndarray
    words: list[Word] | None


def _run(cmd: list[str], *, timeout: float = 600, **kw) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(
            cmd, check=True, capture_output=True, text=True, timeout=timeout, **kw
        )
    except subprocess.CalledProcessError as exc:
        raise SynthesisError(
            f"{cmd[0]} failed ({exc.returncode}): {exc.stderr.strip()[-300:]}"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise SynthesisError(f"{cmd[0]} timed out after {timeout:.0f} s") from exc


def _postprocess(voice: Voice, raw: Path, prosody: Prosody = PLAIN) -> np.ndarray:
    """Apply the voice's alterations and return 16 kHz mono float32, peak -3 dBFS.

    Unaltered voices are only resampled, in process; altered ones go through sox (a
    subprocess costs ~15 ms, a third of a short clip's synthesis).
    """
    effects: list[str] = []
    pitch, tempo = voice.pitch_cents + prosody.pitch_cents, voice.tempo * prosody.tempo
    if pitch:
        effects += ["pitch", str(pitch)]
    if tempo != 1.0:
        effects += ["tempo", "-s", f"{tempo:.4g}"]
    if effects:
        out = raw.with_suffix(".16k.wav")
        # -R: repeatable (fixed seeds); -D: no dither. The same settings then give the same samples.
        cmd = ["sox", "-V1", "-R", str(raw), "-D", "-c", "1", "-b", "16", str(out)]
        _run([*cmd, *effects, "rate", str(SAMPLE_RATE)])
        wave = load_wav(out)
    else:
        try:
            wave = load_wav(raw)
        except AudioError as exc:
            raise SynthesisError(str(exc)) from exc
    peak = float(np.abs(wave).max())
    if peak < 1e-4:
        raise SynthesisError(f"{voice.name}: the engine produced silence")
    return wave * (0.7 / peak)


def _scale(words: list[Word] | None, tempo: float) -> list[Word] | None:
    if words is None or tempo == 1.0:
        return words
    return [Word(w.w, round(w.start / tempo, 3), round(w.end / tempo, 3)) for w in words]


def engine_settings(voice: Voice) -> dict:
    """Engine settings a manifest records besides the voice's own (to regenerate a clip)."""
    return {"kokoro": kokoro.settings()} if voice.engine == "kokoro" else {}


def synthesize(
    voice: Voice,
    texts: list[str],
    workdir: str | Path | None = None,
    prosody: list[Prosody] | None = None,
) -> list[Synth | None]:
    """Speak each text with ``voice`` (and, optionally, a :class:`Prosody` per text).

    Returns one :class:`Synth` per text, or None for a text the engine failed on
    (logged; the caller counts it). Festival clips carry festival's own word times;
    other engines' clips carry ``words=None`` (forced alignment fills them in).
    """
    prosody = prosody or [PLAIN] * len(texts)
    if len(prosody) != len(texts):
        raise ValueError(f"{len(prosody)} prosody settings for {len(texts)} texts")
    with tempfile.TemporaryDirectory(dir=workdir, prefix="synth-") as tmp:
        tmp = Path(tmp)
        if voice.engine == "festival":
            raws = _festival(voice, texts, tmp, prosody)
        elif voice.engine == "kokoro":
            raws = [
                (_kokoro(voice, t, tmp / f"{i}.wav", p), None)
                for i, (t, p) in enumerate(zip(texts, prosody, strict=True))
            ]
        else:
            raws = [
                (_single(voice, t, tmp / f"{i}.wav", p), None)
                for i, (t, p) in enumerate(zip(texts, prosody, strict=True))
            ]
        out: list[Synth | None] = []
        for (raw, words), text, p in zip(raws, texts, prosody, strict=True):
            try:
                if raw is None:
                    raise SynthesisError("no audio")
                out.append(Synth(_postprocess(voice, raw, p), _scale(words, voice.tempo * p.tempo)))
            except SynthesisError as exc:
                log.warning("%s failed on %r: %s", voice.name, text, exc)
                out.append(None)
        return out


def _single(voice: Voice, text: str, path: Path, prosody: Prosody = PLAIN) -> Path | None:
    if voice.engine == "flite":
        cmd = ["flite", "-voice", voice.model, "-t", text, "-o", str(path)]
        if prosody.stretch != 1.0:
            cmd[1:1] = ["--setf", f"duration_stretch={prosody.stretch:.3f}"]
    elif voice.engine == "espeak":
        cmd = ["espeak-ng", "-v", voice.model, "-w", str(path)]
        pitch = prosody.espeak_pitch if prosody.espeak_pitch is not None else voice.espeak_pitch
        if pitch is not None:
            cmd += ["-p", str(pitch)]
        if prosody.espeak_speed is not None:
            cmd += ["-s", str(prosody.espeak_speed)]
        cmd.append(text)
    else:
        raise ValueError(f"unknown engine {voice.engine!r}")
    try:
        _run(cmd, timeout=60)
    except SynthesisError as exc:
        log.warning("%s failed on %r: %s", voice.name, text, exc)
        return None
    return path if path.exists() and path.stat().st_size > 44 else None


def _kokoro(voice: Voice, text: str, path: Path, prosody: Prosody = PLAIN) -> Path | None:
    # Written as 24 kHz float: _postprocess then shifts pitch and resamples like any engine's.
    try:
        wave = kokoro.speak(text, voice.packs, voice.weights, speed=kokoro.SPEED / prosody.stretch)
    except kokoro.KokoroError as exc:
        log.warning("%s failed on %r: %s", voice.name, text, exc)
        return None
    sf.write(str(path), wave, kokoro.RATE, subtype="FLOAT", format="WAV")
    return path


def _hts_voice_file(alpha: float, tmp: Path) -> Path:
    # Same-length replacement keeps the file's byte offsets valid.
    data = HTS_VOICE.read_bytes()
    old, new = b"ALPHA=0.45", f"ALPHA={alpha:.2f}".encode()
    if old not in data or len(old) != len(new):
        raise SynthesisError(f"cannot set HTS alpha {alpha} in {HTS_VOICE}")
    path = tmp / f"slt-alpha{alpha:.2f}.htsvoice"
    path.write_bytes(data.replace(old, new, 1))
    return path


_WORD_TIMES = (
    '(mapcar (lambda (w) (format t "W %s %f %f\\n" (item.name w) '
    '(item.feat w "R:SylStructure.daughter1.daughter1.R:Segment.p.end") '
    '(item.feat w "R:SylStructure.daughtern.daughtern.R:Segment.end"))) '
    "(utt.relation.items u 'Word))"
)


def _festival(
    voice: Voice, texts: list[str], tmp: Path, prosody: list[Prosody] | None = None
) -> list[tuple[Path | None, list[Word] | None]]:
    """One festival process for the whole batch (each start-up costs ~0.2 s)."""
    lines = [f"(voice_{voice.model})"]
    if voice.alpha is not None:
        hts = _hts_voice_file(voice.alpha, tmp)
        lines.append(
            f'(set! hts_engine_params (list (list "-m" "{hts}") \'("-g" 0.0) \'("-b" 0.0) \'("-u" 0.5)))'
        )
    stretched = prosody is not None and any(p.stretch != 1.0 for p in prosody)
    for i, text in enumerate(texts):
        clean = text.replace('"', "").replace("\\", "")
        if stretched:  # only then: plain batches stay byte-identical to earlier builds
            lines.append(f"(Parameter.set 'Duration_Stretch {prosody[i].stretch:.3f})")
        lines += [
            f'(format t "U {i}\\n")',
            f'(set! u (Utterance Text "{clean}"))',
            "(utt.synth u)",
            f'(utt.save.wave u "{tmp / f"{i}.wav"}" \'riff)',
            _WORD_TIMES,
        ]
    script = tmp / "batch.scm"
    script.write_text("\n".join(lines) + "\n")
    try:
        res = _run(["festival", "-b", str(script)], timeout=60 + 5 * len(texts))
        stdout = res.stdout
    except SynthesisError as exc:
        log.warning("festival batch for %s failed: %s", voice.name, exc)
        stdout = ""
    words: dict[int, list[Word]] = {}
    current = -1
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            current = int(parts[1])
            words[current] = []
        elif len(parts) == 4 and parts[0] == "W" and current >= 0:
            words[current].append(
                Word(parts[1].lower(), round(float(parts[2]), 3), round(float(parts[3]), 3))
            )
    out = []
    for i, text in enumerate(texts):
        path = tmp / f"{i}.wav"
        ws = words.get(i)
        # Festival's tokens must match ours one to one; otherwise let the aligner decide.
        if ws is not None and [w.w for w in ws] != text.split():
            ws = None
        out.append((path if path.exists() else None, ws))
    return out
